"""Tests for working hours and working-time clocks (MNT-03 / MNT-04)."""

from __future__ import annotations

import pickle
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from taxdesk.worktime.calendar import (
    SHANGHAI,
    CalendarRangeError,
    WorkdayCalendar,
    YearData,
)
from taxdesk.worktime.hours import (
    DEFAULT_HOURS,
    WorkingHours,
    add_working_time,
    working_time_between,
)

OFFICIAL = WorkdayCalendar()
CUSTOM = WorkdayCalendar(
    [YearData(2027, holidays=frozenset({date(2027, 1, 1)}), workdays={date(2027, 1, 9)})],
    days={date(2025, 10, 8): True, date(2025, 9, 29): False, date(2060, 6, 5): True},
)
CALENDARS = [OFFICIAL, CUSTOM]
H = timedelta(hours=1)
CUSTOM_HOURS = WorkingHours.parse("08:30-17:30")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --------------------------------------------------------------------- the spec examples
@pytest.mark.rule("MNT-03")
@pytest.mark.rule("MNT-04")
def test_mnt_04_mnt_03_dispatch_before_national_day_plus_1_hour():
    due = add_working_time(sh(2025, 9, 30, 16), H, DEFAULT_HOURS, OFFICIAL)
    assert due == sh(2025, 9, 30, 17)
    assert due.tzinfo is SHANGHAI


@pytest.mark.rule("MNT-03")
@pytest.mark.rule("MNT-04")
def test_mnt_04_mnt_03_dispatch_before_national_day_plus_8_hours():
    start = sh(2025, 9, 30, 16)
    due = add_working_time(start, 8 * H, DEFAULT_HOURS, OFFICIAL)
    assert due == sh(2025, 10, 9, 16)  # 2 h on 09-30, 6 h on 10-09
    assert working_time_between(start, due, DEFAULT_HOURS, OFFICIAL) == 8 * H
    assert working_time_between(due, start, DEFAULT_HOURS, OFFICIAL) == -8 * H


@pytest.mark.rule("MNT-03")
def test_mnt_03_one_working_day_is_a_full_day_of_hours():
    assert DEFAULT_HOURS.day_length == 8 * H
    # +8 h from opening is the same day's close, not the next opening.
    assert add_working_time(sh(2025, 9, 29, 9), 8 * H, DEFAULT_HOURS, OFFICIAL) == sh(
        2025, 9, 29, 18
    )
    # Landing exactly on the lunch break gives 12:00, not 13:00.
    assert add_working_time(sh(2025, 9, 29, 9), 3 * H, DEFAULT_HOURS, OFFICIAL) == sh(
        2025, 9, 29, 12
    )
    assert add_working_time(sh(2025, 9, 29, 11), 2 * H, DEFAULT_HOURS, OFFICIAL) == sh(
        2025, 9, 29, 14
    )
    # Five working days of working time over the make-up Sunday 2025-09-28.
    assert add_working_time(sh(2025, 9, 25, 10), 5 * 8 * H, DEFAULT_HOURS, OFFICIAL) == sh(
        2025, 10, 9, 10
    )


# --------------------------------------------------------------------- outside hours
@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        # Evening: counting starts at the next opening.
        (sh(2025, 9, 29, 20), H, sh(2025, 9, 30, 10)),
        # Early morning.
        (sh(2025, 9, 29, 7), 30 * timedelta(minutes=1), sh(2025, 9, 29, 9, 30)),
        # Lunch break.
        (sh(2025, 9, 29, 12, 30), H, sh(2025, 9, 29, 14)),
        # Saturday 09-27 is a rest day; Sunday 09-28 is a make-up working day.
        (sh(2025, 9, 27, 10), H, sh(2025, 9, 28, 10)),
        # Holiday.
        (sh(2025, 10, 3, 10), H, sh(2025, 10, 9, 10)),
        # Evening before the holiday with a full day of working time.
        (sh(2025, 9, 30, 19), 8 * H, sh(2025, 10, 9, 18)),
        # Exactly at closing time.
        (sh(2025, 9, 30, 18), H, sh(2025, 10, 9, 10)),
    ],
)
@pytest.mark.rule("MNT-04")
def test_mnt_04_events_outside_hours_start_at_next_opening(start, duration, due):
    assert add_working_time(start, duration, DEFAULT_HOURS, OFFICIAL) == due
    assert working_time_between(start, due, DEFAULT_HOURS, OFFICIAL) == duration


@pytest.mark.rule("MNT-04")
def test_mnt_04_custom_single_interval_hours():
    assert CUSTOM_HOURS.day_length == 9 * H
    start = sh(2025, 9, 30, 16)
    # 1.5 h on 09-30, 7.5 h on 10-09 from 08:30.
    assert add_working_time(start, 9 * H, CUSTOM_HOURS, OFFICIAL) == sh(2025, 10, 9, 16)
    assert add_working_time(start, 8 * H, CUSTOM_HOURS, OFFICIAL) == sh(2025, 10, 9, 15)
    assert add_working_time(sh(2025, 9, 30, 12, 30), H, CUSTOM_HOURS, OFFICIAL) == sh(
        2025, 9, 30, 13, 30
    )


@pytest.mark.rule("MNT-04")
def test_mnt_04_working_time_between_examples():
    wtb = working_time_between
    # Both moments in the same non-working stretch: no working time.
    assert wtb(sh(2025, 10, 1, 10), sh(2025, 10, 8, 17), DEFAULT_HOURS, OFFICIAL) == timedelta(0)
    assert wtb(sh(2025, 9, 29, 12), sh(2025, 9, 29, 13), DEFAULT_HOURS, OFFICIAL) == timedelta(0)
    assert wtb(sh(2025, 9, 29, 11), sh(2025, 9, 29, 14), DEFAULT_HOURS, OFFICIAL) == 2 * H
    assert wtb(sh(2025, 9, 26, 17), sh(2025, 9, 29, 10), DEFAULT_HOURS, OFFICIAL) == 10 * H


@pytest.mark.rule("MNT-04")
def test_mnt_04_inputs_in_other_time_zones():
    start = datetime(2025, 9, 30, 8, tzinfo=UTC)  # 16:00 in Shanghai
    due = add_working_time(start, 8 * H, DEFAULT_HOURS, OFFICIAL)
    assert due == sh(2025, 10, 9, 16)
    assert due.utcoffset() == timedelta(hours=8)
    assert due.tzinfo is SHANGHAI
    assert working_time_between(start, sh(2025, 9, 30, 17), DEFAULT_HOURS, OFFICIAL) == H


@pytest.mark.rule("MNT-04")
def test_mnt_04_exact_to_the_microsecond():
    start = sh(2025, 9, 30, 17, 59, 59, 999_999)
    one = timedelta(microseconds=1)
    assert add_working_time(start, one, DEFAULT_HOURS, OFFICIAL) == sh(2025, 9, 30, 18)
    assert add_working_time(start, 2 * one, DEFAULT_HOURS, OFFICIAL) == sh(2025, 10, 9, 9, 0, 0, 1)
    odd = timedelta(hours=2, seconds=17, microseconds=3)
    assert add_working_time(sh(2025, 9, 29, 10, 0, 1), odd, DEFAULT_HOURS, OFFICIAL) == sh(
        2025, 9, 29, 13, 0, 18, 3
    )


@pytest.mark.rule("MNT-04")
def test_mnt_04_zero_duration_returns_moment_and_negative_is_rejected():
    evening = sh(2025, 9, 29, 20)
    assert add_working_time(evening, timedelta(0), DEFAULT_HOURS, OFFICIAL) == evening
    utc = datetime(2025, 9, 29, 12, tzinfo=UTC)
    assert add_working_time(utc, timedelta(0), DEFAULT_HOURS, OFFICIAL) == utc
    with pytest.raises(ValueError, match="negative"):
        add_working_time(evening, -H, DEFAULT_HOURS, OFFICIAL)


@pytest.mark.rule("MNT-04")
def test_mnt_04_naive_datetimes_are_rejected():
    with pytest.raises(ValueError, match="aware"):
        add_working_time(datetime(2025, 9, 30, 16), H, DEFAULT_HOURS, OFFICIAL)
    with pytest.raises(ValueError, match="aware"):
        working_time_between(
            datetime(2025, 9, 30, 16), sh(2025, 9, 30, 17), DEFAULT_HOURS, OFFICIAL
        )
    with pytest.raises(ValueError, match="aware"):
        working_time_between(
            sh(2025, 9, 30, 16), datetime(2025, 9, 30, 17), DEFAULT_HOURS, OFFICIAL
        )


@pytest.mark.rule("MNT-04")
def test_mnt_04_the_calendar_passed_in_decides():
    start = sh(2025, 9, 30, 16)
    assert add_working_time(start, 8 * H, DEFAULT_HOURS, OFFICIAL) == sh(2025, 10, 9, 16)
    # CUSTOM overrides 2025-10-08 to a working day: the administrator's correction counts.
    assert add_working_time(start, 8 * H, DEFAULT_HOURS, CUSTOM) == sh(2025, 10, 8, 16)
    assert add_working_time(start, 8 * H, hours=DEFAULT_HOURS, calendar=CUSTOM) == sh(
        2025, 10, 8, 16
    )
    assert working_time_between(start, sh(2025, 10, 8, 16), DEFAULT_HOURS, CUSTOM) == 8 * H
    assert working_time_between(start, sh(2025, 10, 8, 16), DEFAULT_HOURS, OFFICIAL) == 2 * H


@pytest.mark.rule("MNT-04")
def test_mnt_04_leaving_out_the_calendar_is_an_error():
    # No hidden default: a call without the calendar in force must fail loudly instead of
    # silently counting on the official data without the administrator's corrections.
    start = sh(2025, 9, 30, 16)
    with pytest.raises(TypeError):
        add_working_time(start, 8 * H, DEFAULT_HOURS)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        add_working_time(start, timedelta(0), DEFAULT_HOURS)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        working_time_between(start, sh(2025, 10, 8, 16), DEFAULT_HOURS)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="WorkdayCalendar"):
        add_working_time(start, 8 * H, DEFAULT_HOURS, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="WorkdayCalendar"):
        add_working_time(start, timedelta(0), DEFAULT_HOURS, None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="WorkdayCalendar"):
        working_time_between(start, start, DEFAULT_HOURS, None)  # type: ignore[arg-type]


@pytest.mark.rule("MNT-04")
def test_mnt_04_out_of_range():
    with pytest.raises(CalendarRangeError):
        add_working_time(sh(2099, 12, 31, 10), 16 * H, DEFAULT_HOURS, OFFICIAL)
    with pytest.raises(CalendarRangeError):
        add_working_time(sh(2100, 1, 4, 10), H, DEFAULT_HOURS, OFFICIAL)
    with pytest.raises(CalendarRangeError):
        working_time_between(sh(2003, 12, 31, 10), sh(2025, 1, 2, 10), DEFAULT_HOURS, OFFICIAL)


# --------------------------------------------------------------------- WorkingHours
def test_working_hours_default_text_and_parse_roundtrip():
    assert str(DEFAULT_HOURS) == "09:00-12:00,13:00-18:00"
    assert WorkingHours.DEFAULT is DEFAULT_HOURS
    assert WorkingHours.parse("09:00-12:00,13:00-18:00") == DEFAULT_HOURS
    assert WorkingHours.parse(" 9:00 - 12:00 ， 13:00–18:00 ") == DEFAULT_HOURS
    assert str(WorkingHours.parse("08:30-17:30")) == "08:30-17:30"
    assert str(WorkingHours.parse("08:30:15-17:30")) == "08:30:15-17:30"
    assert DEFAULT_HOURS.intervals == ((time(9), time(12)), (time(13), time(18)))
    assert eval(repr(DEFAULT_HOURS), {"WorkingHours": WorkingHours}) == DEFAULT_HOURS


def test_working_hours_is_immutable_and_hashable():
    again = WorkingHours([(time(9), time(12)), (time(13), time(18))])
    assert again == DEFAULT_HOURS and hash(again) == hash(DEFAULT_HOURS)
    assert len({again, DEFAULT_HOURS, CUSTOM_HOURS}) == 2
    assert DEFAULT_HOURS != CUSTOM_HOURS
    with pytest.raises(AttributeError):
        DEFAULT_HOURS._spans = ()  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(DEFAULT_HOURS)) == DEFAULT_HOURS


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        ([], "at least one"),
        ([(time(12), time(9))], "start before"),
        ([(time(9), time(9))], "start before"),
        ([(time(13), time(18)), (time(9), time(12))], "sorted"),
        ([(time(9), time(13)), (time(12), time(18))], "overlaps"),
        ([(time(9), time(12)), (time(12), time(18))], "touches"),
        ([(time(9, tzinfo=SHANGHAI), time(12, tzinfo=SHANGHAI))], "time zone"),
        ([("09:00", "12:00")], "time values"),
    ],
)
def test_working_hours_validation(intervals, message):
    with pytest.raises(ValueError, match=message):
        WorkingHours(intervals)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "9-12",
        "09:00",
        "09:00-",
        "09:00-12:00,",
        "25:00-26:00",
        "09:60-10:00",
        "12:00-09:00",
        "09:00-12:00,11:00-13:00",
        "abc",
        "09:00-12:00-13:00",
    ],
)
def test_working_hours_parse_rejects_bad_text(text):
    with pytest.raises(ValueError):
        WorkingHours.parse(text)


def test_working_hours_helpers():
    assert DEFAULT_HOURS.opens == time(9) and DEFAULT_HOURS.closes == time(18)
    assert DEFAULT_HOURS.elapsed(time(12, 30)) == 3 * H
    assert DEFAULT_HOURS.elapsed(time(14)) == 4 * H
    assert DEFAULT_HOURS.elapsed(time(23)) == 8 * H
    assert DEFAULT_HOURS.is_open(time(9)) and not DEFAULT_HOURS.is_open(time(12))


# --------------------------------------------------------------------- properties
TIME_ZONES = [SHANGHAI, UTC, timezone(timedelta(hours=-5)), zoneinfo.ZoneInfo("Europe/Berlin")]
US_PER_DAY = 86_400_000_000


def _us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _time(us: int) -> time:
    return (datetime.min + timedelta(microseconds=us)).time()


@st.composite
def random_hours(draw):
    points = draw(
        st.lists(st.integers(0, US_PER_DAY - 1), min_size=2, max_size=8, unique=True).filter(
            lambda p: len(p) % 2 == 0
        )
    )
    points.sort()
    return WorkingHours(
        [(_time(a), _time(b)) for a, b in zip(points[::2], points[1::2], strict=True)]
    )


all_hours = st.one_of(st.sampled_from([DEFAULT_HOURS, CUSTOM_HOURS]), random_hours())
moments = st.datetimes(
    min_value=datetime(2005, 1, 1),
    max_value=datetime(2098, 12, 31),
    timezones=st.sampled_from(TIME_ZONES),
)
calendars = st.sampled_from(CALENDARS)


def durations(hours: WorkingHours, max_days: int = 400):
    limit = max_days * (hours.day_length // timedelta(microseconds=1))
    return st.integers(0, limit).map(lambda us: timedelta(microseconds=us))


def add(moment, duration, hours, cal):
    try:
        return add_working_time(moment, duration, hours, cal)
    except CalendarRangeError:
        assert moment.year >= 2098
        reject()


def naive_add(moment, duration, hours, cal):
    """Reference: walk day by day, then through the day's intervals."""
    local = moment.astimezone(SHANGHAI)
    if not duration:
        return local
    day, t = local.date(), _us(local.time())
    remaining = duration // timedelta(microseconds=1)
    spans = [(_us(a), _us(b)) for a, b in hours.intervals]
    while True:
        if cal.is_workday(day):
            for s, e in spans:
                start = max(s, t)
                if start >= e:
                    continue
                if remaining <= e - start:
                    return datetime.combine(day, _time(start + remaining), tzinfo=SHANGHAI)
                remaining -= e - start
        day += timedelta(days=1)
        t = 0


@settings(max_examples=300, deadline=None)
@given(st.data(), calendars, all_hours, moments)
@pytest.mark.rule("MNT-04")
def test_mnt_04_property_between_inverts_add(data, cal, hours, moment):
    duration = data.draw(durations(hours))
    result = add(moment, duration, hours, cal)
    assert working_time_between(moment, result, hours, cal) == duration
    assert working_time_between(result, moment, hours, cal) == -duration
    assert result.tzinfo is SHANGHAI
    if duration:
        assert result > moment
        local = result.astimezone(SHANGHAI)
        assert cal.is_workday(local.date())
        t = local.timetz().replace(tzinfo=None)
        assert any(a < t <= b for a, b in hours.intervals), (t, hours)
    else:
        # Compare instants: PEP 495 makes gap/fold wall times unequal across zones.
        assert result.timestamp() == moment.timestamp()


@settings(max_examples=200, deadline=None)
@given(st.data(), calendars, all_hours, moments)
@pytest.mark.rule("MNT-04")
def test_mnt_04_property_monotonic_in_duration(data, cal, hours, moment):
    d1 = data.draw(durations(hours))
    d2 = data.draw(durations(hours))
    if d1 == d2:
        return
    d1, d2 = sorted((d1, d2))
    assert add(moment, d1, hours, cal) < add(moment, d2, hours, cal)


@settings(max_examples=200, deadline=None)
@given(st.data(), calendars, all_hours, moments)
@pytest.mark.rule("MNT-04")
def test_mnt_04_property_additive(data, cal, hours, moment):
    d1 = data.draw(durations(hours, 200))
    d2 = data.draw(durations(hours, 200))
    assert add(add(moment, d1, hours, cal), d2, hours, cal) == add(moment, d1 + d2, hours, cal)


@settings(max_examples=200, deadline=None)
@given(st.data(), calendars, all_hours, moments)
@pytest.mark.rule("MNT-04")
def test_mnt_04_property_matches_naive_walk(data, cal, hours, moment):
    duration = data.draw(durations(hours, 15))
    assert add(moment, duration, hours, cal) == naive_add(moment, duration, hours, cal)


@settings(max_examples=200, deadline=None)
@given(calendars, all_hours, moments, moments, moments)
@pytest.mark.rule("MNT-03")
def test_mnt_03_property_between_is_additive_and_ordered(cal, hours, a, b, c):
    ab = working_time_between(a, b, hours, cal)
    bc = working_time_between(b, c, hours, cal)
    assert ab + bc == working_time_between(a, c, hours, cal)
    if a <= b:
        assert ab >= timedelta(0)
    else:
        assert ab <= timedelta(0)
