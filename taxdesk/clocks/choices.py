"""States of a clock and the reasons it may be paused."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClockKind(models.TextChoices):
    WORKDAYS = "workdays", _("Working days")
    WORKTIME = "worktime", _("Working time")
    WALL = "wall", _("Clock time")


class ClockStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")


OPEN_STATUSES = (ClockStatus.RUNNING, ClockStatus.PAUSED)

# The allowed moves; any other is refused by the actions.
TRANSITIONS = {
    ClockStatus.RUNNING: {ClockStatus.PAUSED, ClockStatus.MET, ClockStatus.BREACHED},
    ClockStatus.PAUSED: {ClockStatus.RUNNING, ClockStatus.MET, ClockStatus.BREACHED},
    ClockStatus.MET: set(),
    ClockStatus.BREACHED: set(),
}


class PauseReason(models.TextChoices):
    USER_UNREACHABLE = "user_unreachable", _("The user cannot be reached")
    USER_EQUIPMENT = "user_equipment", _("The user's own computer or printer must be replaced")
