"""The clocks of the service specification (rules.md, "How the clocks count").

Each entry says what a rule's clock counts and where it may be paused. Working-day clocks fall
due at the end of the N-th working day after the event's date; working-time clocks run inside
the unit's working hours only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .choices import ClockKind, PauseReason


@dataclass(frozen=True)
class ClockRule:
    id: str
    title: str | Promise
    kind: str
    # Working-day clocks: how many working days (None: the unit's own setting).
    workdays: int | None = None
    # Working-time clocks: a duration, or whole working days of the unit's hours.
    work_time: timedelta | None = None
    work_days_of_time: int | None = None
    # Clock-time clocks: a duration.
    wall_time: timedelta | None = None
    pause_reasons: tuple[str, ...] = ()


RULES: dict[str, ClockRule] = {
    rule.id: rule
    for rule in (
        ClockRule(
            "INS-06",
            _("New user entered within 3 working days of the sale"),
            ClockKind.WORKDAYS,
            workdays=3,
        ),
        ClockRule(
            "REP-06", _("Repair entered within 5 working days"), ClockKind.WORKDAYS, workdays=5
        ),
        ClockRule("MNT-15", _("Service form entered in time"), ClockKind.WORKDAYS),
        ClockRule("REV-06", _("Revisit form entered in time"), ClockKind.WORKDAYS),
        ClockRule(
            "MNT-04",
            _("User contacted within 1 hour of dispatch"),
            ClockKind.WORKTIME,
            work_time=timedelta(hours=1),
            pause_reasons=(PauseReason.USER_UNREACHABLE,),
        ),
        ClockRule(
            "MNT-03",
            _("Fault removed on site within 1 working day"),
            ClockKind.WORKTIME,
            work_days_of_time=1,
            pause_reasons=(PauseReason.USER_UNREACHABLE, PauseReason.USER_EQUIPMENT),
        ),
        ClockRule(
            "MNT-07",
            _("Wait at least 15 minutes before a missed appointment"),
            ClockKind.WALL,
            wall_time=timedelta(minutes=15),
        ),
    )
}


def get_rule(rule_id: str) -> ClockRule:
    try:
        return RULES[rule_id]
    except KeyError:
        raise ValueError(f"no clock is defined for rule {rule_id!r}") from None


RULE_CHOICES = [(rule.id, format_lazy("{} {}", rule.id, rule.title)) for rule in RULES.values()]
