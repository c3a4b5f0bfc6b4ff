"""What an import job imports, and the states it passes through."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from taxdesk.core.choices import Role


class JobKind(models.TextChoices):
    TAXPAYERS = "taxpayers", _("Taxpayers")
    DEVICES = "devices", _("Devices")


class JobState(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    VALIDATING = "validating", _("Checking")
    VALIDATED = "validated", _("Checked")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


# The declared moves: a file is checked (nothing written), then imported once.
MOVES: dict[str, frozenset[str]] = {
    JobState.UPLOADED: frozenset({JobState.VALIDATING, JobState.FAILED}),
    JobState.VALIDATING: frozenset({JobState.VALIDATED, JobState.FAILED}),
    JobState.VALIDATED: frozenset({JobState.IMPORTING}),
    JobState.IMPORTING: frozenset({JobState.DONE, JobState.FAILED}),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset(),
}

# States in which a background run works on the job (the page polls for progress).
RUNNING_STATES = frozenset({JobState.UPLOADED, JobState.VALIDATING, JobState.IMPORTING})

# Who may upload and import, per kind: the unit's administrator and sales clerk for both, the
# dispatcher (who enters new users) for taxpayers. The unit's staff and supervision only read.
WRITERS: dict[str, frozenset[str]] = {
    JobKind.TAXPAYERS: frozenset({Role.UNIT_ADMIN, Role.SALES_CLERK, Role.DISPATCHER}),
    JobKind.DEVICES: frozenset({Role.UNIT_ADMIN, Role.SALES_CLERK}),
}
JOB_EDITORS = frozenset().union(*WRITERS.values())
