"""Administrator-entered calendar data, on top of the official data of ``chinesecalendar``.

The maths lives in :mod:`taxdesk.worktime.calendar` and :mod:`taxdesk.worktime.hours` and
never touches the ORM; :mod:`taxdesk.workdays.store` builds a calendar from these rows.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from taxdesk.core.audit import AuditedModel
from taxdesk.core.choices import Role
from taxdesk.core.scoping import Scope
from taxdesk.worktime.calendar import FIRST_YEAR, LAST_YEAR

# The national calendar is read by everyone; the supervision body keeps it.
CALENDAR_SCOPE = Scope(public=True, editors=frozenset({Role.SUPERVISION_OFFICER}))


class CalendarYear(AuditedModel):
    """A year's holidays and make-up working days as entered from the State Council notice.

    An entered year replaces the official data for that year entirely.
    """

    year = models.PositiveSmallIntegerField(
        _("year"),
        unique=True,
        validators=[MinValueValidator(FIRST_YEAR), MaxValueValidator(LAST_YEAR)],
    )
    # An empty list is a valid answer (a year without make-up working days, say).
    holidays = models.JSONField(
        _("holidays"), default=list, blank=True, help_text=_("Days off (ISO dates).")
    )
    workdays = models.JSONField(
        _("make-up working days"),
        default=list,
        blank=True,
        help_text=_("Weekend working days (ISO dates)."),
    )
    notice = models.CharField(
        _("notice"),
        max_length=200,
        blank=True,
        help_text=_("The State Council notice the dates come from."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    scope = CALENDAR_SCOPE

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self):
        return str(self.year)

    def get_absolute_url(self):
        return reverse("workdays:year", args=[self.year])


class CalendarDay(AuditedModel):
    """One day's correction: a working day or a rest day whatever the rest of the data says."""

    date = models.DateField(_("date"), unique=True)
    is_workday = models.BooleanField(_("working day"))
    reason = models.CharField(_("reason"), max_length=200)

    scope = CALENDAR_SCOPE

    class Meta:
        verbose_name = _("calendar day override")
        verbose_name_plural = _("calendar day overrides")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("workdays:year", args=[self.date.year])


class CalendarRevision(models.Model):
    """A counter bumped whenever calendar data changes, so every process rebuilds its copy."""

    revision = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("calendar revision")

    def __str__(self):
        return str(self.revision)
