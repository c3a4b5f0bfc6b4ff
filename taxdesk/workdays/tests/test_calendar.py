"""Tests for the working-day calendar (INS-06 / REP-06 style working-day clocks)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from chinese_calendar import constants as cc_constants
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from taxdesk.worktime import calendar as worktime_calendar
from taxdesk.worktime.calendar import (
    FIRST_YEAR,
    LAST_YEAR,
    OFFICIAL_YEARS,
    SHANGHAI,
    CalendarRangeError,
    WorkdayCalendar,
    YearData,
)

OFFICIAL = WorkdayCalendar()

YEAR_2027 = YearData(
    2027,
    holidays=frozenset({date(2027, 1, 1)}),
    workdays=frozenset({date(2027, 1, 9)}),
)
CUSTOM = WorkdayCalendar(
    [
        YEAR_2027,
        # A wholly invented year replacing the official 2020 data.
        YearData(
            2020,
            holidays=frozenset({date(2020, 3, d) for d in range(2, 7)}),
            workdays=frozenset({date(2020, 3, 7), date(2020, 3, 14)}),
        ),
        YearData(2050, holidays=frozenset({date(2050, 10, d) for d in (3, 4, 5, 6, 7)})),
    ],
    days={
        date(2025, 10, 8): True,
        date(2025, 9, 29): False,
        date(2060, 6, 5): True,  # a Saturday in a provisional year
        date(2098, 3, 3): False,
    },
)
CALENDARS = [OFFICIAL, CUSTOM]


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --------------------------------------------------------------------- INS-06 examples
@pytest.mark.rule("INS-06")
@pytest.mark.rule("REP-06")
def test_ins_06_sale_on_friday_plus_3_working_days_due_tuesday_end_of_day():
    # Sunday 2025-09-28 was a make-up working day.
    due = OFFICIAL.workday_deadline(sh(2025, 9, 26, 15, 30), 3)
    assert due == sh(2025, 9, 30, 23, 59, 59)
    assert due.isoformat() == "2025-09-30T23:59:59+08:00"
    assert due.tzinfo is SHANGHAI
    assert OFFICIAL.add_workdays(date(2025, 9, 26), 3) == date(2025, 9, 30)


@pytest.mark.rule("INS-06")
def test_ins_06_event_hour_and_day_kind_do_not_matter():
    for hour in (0, 9, 12, 23):
        assert OFFICIAL.workday_deadline(sh(2025, 9, 26, hour), 3) == sh(2025, 9, 30, 23, 59, 59)
    # An event on a non-working day: that day is not counted either.
    assert OFFICIAL.workday_deadline(sh(2025, 10, 4, 10), 1) == sh(2025, 10, 9, 23, 59, 59)
    # An event on the make-up Sunday itself.
    assert OFFICIAL.workday_deadline(sh(2025, 9, 28, 10), 1) == sh(2025, 9, 29, 23, 59, 59)


@pytest.mark.rule("INS-06")
@pytest.mark.rule("REP-06")
def test_ins_06_deadline_uses_shanghai_local_date():
    # 2025-09-25 17:30 UTC is already Friday 2025-09-26 01:30 in Shanghai.
    moment = datetime(2025, 9, 25, 17, 30, tzinfo=UTC)
    assert OFFICIAL.workday_deadline(moment, 3) == sh(2025, 9, 30, 23, 59, 59)


@pytest.mark.rule("INS-06")
@pytest.mark.rule("REP-06")
def test_ins_06_deadline_rejects_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        OFFICIAL.workday_deadline(datetime(2025, 9, 26, 10), 3)


@pytest.mark.rule("INS-06")
@pytest.mark.rule("REP-06")
def test_ins_06_deadline_accepts_a_plain_local_date():
    assert OFFICIAL.workday_deadline(date(2025, 9, 26), 3) == sh(2025, 9, 30, 23, 59, 59)
    with pytest.raises(TypeError):
        OFFICIAL.workday_deadline("2025-09-26", 3)  # type: ignore[arg-type]


@pytest.mark.rule("INS-06")
@pytest.mark.rule("REP-06")
def test_ins_06_deadline_zero_and_negative():
    assert OFFICIAL.workday_deadline(sh(2025, 10, 4, 10), 0) == sh(2025, 10, 4, 23, 59, 59)
    assert OFFICIAL.workday_deadline(sh(2025, 10, 9, 10), -1) == sh(2025, 9, 30, 23, 59, 59)


# --------------------------------------------------------------------- real dates
@pytest.mark.rule("INS-06")
def test_ins_06_make_up_sunday_2025_09_28_is_a_working_day():
    assert date(2025, 9, 28).weekday() == 6
    assert OFFICIAL.is_workday(date(2025, 9, 28))
    assert not OFFICIAL.is_workday(date(2025, 10, 8))
    assert date(2025, 10, 8).weekday() == 2


@pytest.mark.rule("INS-06")
def test_ins_06_national_day_week_2025():
    for d in range(1, 9):
        assert not OFFICIAL.is_workday(date(2025, 10, d)), d
        assert date(2025, 10, d) in cc_constants.holidays
    assert date(2025, 10, 11).weekday() == 5
    assert date(2025, 10, 11) in cc_constants.workdays
    assert OFFICIAL.is_workday(date(2025, 10, 11))
    assert OFFICIAL.is_workday(date(2025, 10, 9))
    # 10-09 (Thu), 10-10 (Fri), 10-11 (make-up Sat); Sunday 10-12 is a rest day.
    assert OFFICIAL.workdays_between(date(2025, 9, 30), date(2025, 10, 12)) == 3
    assert OFFICIAL.workdays_between(date(2025, 9, 30), date(2025, 10, 13)) == 4
    assert OFFICIAL.next_workday(date(2025, 9, 30)) == date(2025, 10, 9)
    assert OFFICIAL.previous_workday(date(2025, 10, 9)) == date(2025, 9, 30)


@pytest.mark.rule("INS-06")
def test_ins_06_spring_festival_2026_matches_chinese_calendar():
    festival = cc_constants.Holiday.spring_festival.value
    off = sorted(
        d for d, name in cc_constants.holidays.items() if d.year == 2026 and name == festival
    )
    assert off == [date(2026, 2, d) for d in range(15, 24)]  # Sun 02-15 .. Mon 02-23
    for d in off:
        assert not OFFICIAL.is_workday(d)
    # Make-up Saturdays around the festival.
    for d in (date(2026, 2, 14), date(2026, 2, 28)):
        assert d.weekday() == 5 and d in cc_constants.workdays
        assert OFFICIAL.is_workday(d)
    assert OFFICIAL.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert OFFICIAL.add_workdays(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert OFFICIAL.workdays_between(date(2026, 2, 13), date(2026, 2, 28)) == 6  # 14, 24-28


def test_official_calendar_matches_chinese_calendar_for_every_covered_day():
    assert OFFICIAL.official_years == OFFICIAL_YEARS
    assert min(OFFICIAL_YEARS) == 2004 and 2026 in OFFICIAL_YEARS
    day, end = date(min(OFFICIAL_YEARS), 1, 1), date(max(OFFICIAL_YEARS), 12, 31)
    while day <= end:
        assert OFFICIAL.is_workday(day) == chinese_calendar.is_workday(day), day
        assert not OFFICIAL.is_provisional(day)
        day += timedelta(days=1)


@pytest.mark.rule("INS-06")
@pytest.mark.rule("REP-06")
def test_ins_06_deadline_crossing_into_unknown_2027_is_provisional():
    start = date(2026, 12, 29)  # Tuesday
    due = OFFICIAL.add_workdays(start, 5)
    # 12-30, 12-31, then 2027 counts Monday-Friday: 01-01 (Fri), 01-04, 01-05.
    assert due == date(2027, 1, 5)
    assert OFFICIAL.provisional_between(start, due)
    assert OFFICIAL.provisional_between(due, start)
    assert OFFICIAL.is_provisional(date(2027, 1, 1))
    assert not OFFICIAL.is_known_year(2027)
    # The same span wholly inside 2026 is not provisional.
    due_2026 = OFFICIAL.add_workdays(date(2026, 12, 1), 5)
    assert due_2026 == date(2026, 12, 8)
    assert not OFFICIAL.provisional_between(date(2026, 12, 1), due_2026)
    assert not OFFICIAL.provisional_between(date(2026, 12, 31), date(2026, 12, 31))
    assert OFFICIAL.provisional_between(date(2027, 1, 1), date(2027, 1, 1))


# --------------------------------------------------------------------- entered data
@pytest.mark.rule("INS-06")
def test_ins_06_entered_year_changes_results_and_removes_provisional():
    start = date(2026, 12, 29)
    # 12-30, 12-31, [01-01 holiday, 01-02/03 weekend], 01-04, 01-05, 01-06.
    assert CUSTOM.add_workdays(start, 5) == date(2027, 1, 6)
    assert not CUSTOM.provisional_between(start, date(2027, 1, 6))
    assert not CUSTOM.is_provisional(date(2027, 12, 31))
    assert CUSTOM.is_known_year(2027)
    assert 2027 in CUSTOM.entered_years
    assert not CUSTOM.is_workday(date(2027, 1, 1))
    assert CUSTOM.is_workday(date(2027, 1, 9))  # make-up Saturday
    assert CUSTOM.add_workdays(date(2027, 1, 8), 1) == date(2027, 1, 9)
    assert CUSTOM.workday_deadline(sh(2026, 12, 29, 10), 5) == sh(2027, 1, 6, 23, 59, 59)


def test_entered_year_replaces_official_data_entirely():
    cal = WorkdayCalendar([YearData(2025, frozenset(), frozenset())])
    assert 2025 in cal.entered_years and 2025 not in cal.official_years
    assert 2024 in cal.official_years
    assert cal.is_workday(date(2025, 10, 1))  # no National Day in the entered data
    assert not cal.is_workday(date(2025, 9, 28))  # no make-up Sunday either
    assert not cal.is_provisional(date(2025, 10, 1))
    # The official calendar is unaffected (independent instances).
    assert not OFFICIAL.is_workday(date(2025, 10, 1))


def test_entered_year_accepts_mapping_and_checks_keys():
    cal = WorkdayCalendar({2027: YEAR_2027})
    assert cal.entered_years == frozenset({2027})
    with pytest.raises(ValueError, match="does not match"):
        WorkdayCalendar({2028: YEAR_2027})
    with pytest.raises(ValueError, match="more than once"):
        WorkdayCalendar([YEAR_2027, YearData(2027)])


def test_contradictory_entered_year_is_rejected_by_the_calendar():
    bad = YearData(2027, holidays=frozenset({date(2027, 1, 4)}), workdays={date(2027, 1, 4)})
    with pytest.raises(ValueError, match="both"):
        WorkdayCalendar([bad])
    with pytest.raises(ValueError, match="not in year 2027"):
        WorkdayCalendar([YearData(2027, holidays=frozenset({date(2028, 1, 3)}))])
    with pytest.raises(CalendarRangeError):
        WorkdayCalendar([YearData(2100)])


def test_pointless_entries_are_harmless():
    cal = WorkdayCalendar(
        [YearData(2027, holidays=frozenset({date(2027, 1, 2)}), workdays={date(2027, 1, 4)})]
    )
    assert not cal.is_workday(date(2027, 1, 2))
    assert cal.is_workday(date(2027, 1, 4))


def test_single_day_overrides_apply_on_top():
    assert CUSTOM.is_workday(date(2025, 10, 8))
    assert not CUSTOM.is_workday(date(2025, 9, 29))
    assert CUSTOM.next_workday(date(2025, 9, 30)) == date(2025, 10, 8)
    assert CUSTOM.add_workdays(date(2025, 9, 26), 3) == date(2025, 10, 8)  # 28, 30, 10-08
    # Override on top of an entered year.
    cal = WorkdayCalendar([YEAR_2027], days={date(2027, 1, 1): True, date(2027, 1, 9): False})
    assert cal.is_workday(date(2027, 1, 1))
    assert not cal.is_workday(date(2027, 1, 9))
    # An override does not make the rest of an unknown year known.
    assert CUSTOM.is_workday(date(2060, 6, 5))
    assert CUSTOM.is_provisional(date(2060, 6, 5))
    assert CUSTOM.overrides[date(2025, 10, 8)] is True


def test_overrides_accept_pairs_and_check_range():
    cal = WorkdayCalendar(days=[(date(2025, 10, 8), True)])
    assert cal.is_workday(date(2025, 10, 8))
    with pytest.raises(CalendarRangeError):
        WorkdayCalendar(days={date(2100, 1, 1): True})


def test_without_official_data_everything_unentered_is_provisional_monday_to_friday():
    cal = WorkdayCalendar(official=False)
    assert cal.official_years == frozenset()
    assert cal.is_provisional(date(2025, 10, 1))
    assert cal.is_workday(date(2025, 10, 1))
    assert not cal.is_workday(date(2025, 9, 28))
    assert cal.workdays_between(date(2025, 9, 26), date(2025, 10, 3)) == 5


# --------------------------------------------------------------------- YearData.validate
def test_year_data_validate_valid():
    assert YEAR_2027.validate() == []


def test_year_data_validate_reports_problems_in_english():
    data = YearData(
        2027,
        holidays=frozenset(
            {date(2027, 1, 4), date(2026, 12, 31), date(2027, 1, 2), date(2027, 1, 5)}
        ),
        workdays=frozenset({date(2027, 1, 4), date(2027, 1, 6), date(2027, 1, 9)}),
    )
    problems = data.validate()
    assert "2027-01-04 is both a holiday and a make-up working day." in problems
    assert "Holiday 2026-12-31 is not in year 2027." in problems
    assert "Holiday 2027-01-02 (Saturday) is already a rest day." in problems
    assert "Make-up working day 2027-01-06 (Wednesday) is already a working day." in problems
    assert len(problems) == 4  # 01-05 holiday and 01-09 make-up are fine
    assert set(data.errors()) == {
        "2027-01-04 is both a holiday and a make-up working day.",
        "Holiday 2026-12-31 is not in year 2027.",
    }


def test_year_data_validate_out_of_range_year():
    assert any("outside the supported range" in p for p in YearData(2200).validate())


# --------------------------------------------------------------------- arithmetic basics
def test_add_workdays_zero_and_negative():
    assert OFFICIAL.add_workdays(date(2025, 10, 4), 0) == date(2025, 10, 4)
    assert OFFICIAL.add_workdays(date(2025, 10, 9), -1) == date(2025, 9, 30)
    assert OFFICIAL.add_workdays(date(2025, 10, 5), -2) == date(2025, 9, 29)
    assert OFFICIAL.add_workdays(date(2025, 9, 29), -1) == date(2025, 9, 28)


def test_workdays_between():
    assert OFFICIAL.workdays_between(date(2025, 9, 26), date(2025, 9, 30)) == 3
    assert OFFICIAL.workdays_between(date(2025, 9, 30), date(2025, 9, 26)) == -3
    assert OFFICIAL.workdays_between(date(2025, 10, 2), date(2025, 10, 2)) == 0
    assert OFFICIAL.workdays_between(date(2025, 10, 1), date(2025, 10, 8)) == 0
    # add_workdays(a, workdays_between(a, b)) is the last working day <= b.
    a, b = date(2025, 9, 26), date(2025, 10, 5)
    assert OFFICIAL.add_workdays(a, OFFICIAL.workdays_between(a, b)) == date(2025, 9, 30)


def test_dates_must_be_dates_not_datetimes():
    with pytest.raises(TypeError):
        OFFICIAL.is_workday(datetime(2025, 9, 28, 10, tzinfo=SHANGHAI))
    with pytest.raises(TypeError):
        OFFICIAL.add_workdays("2025-09-28", 1)


# --------------------------------------------------------------------- range
@pytest.mark.parametrize("day", [date(2003, 12, 31), date(2100, 1, 1), date(1999, 5, 5)])
def test_out_of_range_dates_raise(day):
    with pytest.raises(CalendarRangeError) as info:
        OFFICIAL.is_workday(day)
    message = str(info.value)
    assert day.isoformat() in message
    assert "2004-01-01" in message and "2099-12-31" in message
    assert isinstance(info.value, ValueError)
    for call in (
        lambda: OFFICIAL.add_workdays(day, 1),
        lambda: OFFICIAL.workdays_between(day, date(2025, 1, 1)),
        lambda: OFFICIAL.workdays_between(date(2025, 1, 1), day),
        lambda: OFFICIAL.provisional_between(date(2025, 1, 1), day),
        lambda: OFFICIAL.is_provisional(day),
        lambda: OFFICIAL.workday_deadline(
            datetime(day.year, day.month, day.day, tzinfo=SHANGHAI), 1
        ),
    ):
        with pytest.raises(CalendarRangeError):
            call()


def test_results_beyond_range_raise():
    with pytest.raises(CalendarRangeError, match="2099-12-30"):
        OFFICIAL.add_workdays(date(2099, 12, 30), 5)
    with pytest.raises(CalendarRangeError, match="before 2004-01-03"):
        OFFICIAL.add_workdays(date(2004, 1, 3), -5)
    assert OFFICIAL.add_workdays(date(2099, 12, 30), 1) == date(2099, 12, 31)
    assert FIRST_YEAR == 2004 and LAST_YEAR == 2099


# --------------------------------------------------------------------- no default calendar
def test_a_calendar_built_without_entries_is_the_official_one():
    cal = WorkdayCalendar()
    assert cal.official_years == OFFICIAL_YEARS and not cal.entered_years
    assert not cal.overrides
    assert cal.is_workday(date(2025, 9, 28))  # the make-up Sunday


def test_each_calendar_answers_from_its_own_data_and_there_is_no_global_one():
    assert CUSTOM.is_workday(date(2025, 10, 8))
    assert CUSTOM.add_workdays(date(2026, 12, 29), 5) == date(2027, 1, 6)
    assert CUSTOM.workdays_between(date(2025, 9, 26), date(2025, 10, 8)) == 3
    assert not CUSTOM.provisional_between(date(2026, 12, 29), date(2027, 1, 6))
    assert CUSTOM.workday_deadline(sh(2026, 12, 29, 10), 5) == sh(2027, 1, 6, 23, 59, 59)
    # The official calendar is unaffected by CUSTOM's entries.
    assert not OFFICIAL.is_workday(date(2025, 10, 8))
    assert OFFICIAL.add_workdays(date(2026, 12, 29), 5) == date(2027, 1, 5)
    # No module-level calendar to fall back on: callers pass the calendar in force.
    for name in ("get_calendar", "set_calendar_provider", "_default_provider", "_provider"):
        assert not hasattr(worktime_calendar, name), name


# --------------------------------------------------------------------- properties
dates = st.dates(min_value=date(2005, 1, 1), max_value=date(2098, 12, 31))
counts = st.integers(min_value=0, max_value=400)
calendars = st.sampled_from(CALENDARS)


def add(cal: WorkdayCalendar, day: date, n: int) -> date:
    """add_workdays, rejecting the example if it legitimately leaves 2004..2099."""
    try:
        return cal.add_workdays(day, n)
    except CalendarRangeError:
        if n > 0:
            assert day >= date(2098, 1, 1)
        else:
            assert day < date(2006, 1, 1)
        reject()


def naive_add(cal: WorkdayCalendar, day: date, n: int) -> date:
    step = timedelta(days=1 if n > 0 else -1)
    remaining = abs(n)
    while remaining:
        day += step
        if cal.is_workday(day):
            remaining -= 1
    return day


@settings(max_examples=300, deadline=None)
@given(calendars, dates, st.integers(min_value=1, max_value=400))
@pytest.mark.rule("INS-06")
def test_ins_06_property_add_then_count_is_identity(cal, day, n):
    result = add(cal, day, n)
    assert result > day
    assert cal.is_workday(result)
    assert cal.workdays_between(day, result) == n
    assert cal.workdays_between(result, day) == -n
    assert cal.add_workdays(day, cal.workdays_between(day, result)) == result


@settings(max_examples=200, deadline=None)
@given(calendars, dates, counts, counts)
@pytest.mark.rule("INS-06")
def test_ins_06_property_monotonic_in_n(cal, day, n1, n2):
    if n1 == n2:
        return
    n1, n2 = sorted((n1, n2))
    assert add(cal, day, n1) < add(cal, day, n2)


@settings(max_examples=200, deadline=None)
@given(calendars, dates, dates, counts)
@pytest.mark.rule("INS-06")
def test_ins_06_property_monotonic_in_start(cal, d1, d2, n):
    d1, d2 = sorted((d1, d2))
    assert add(cal, d1, n) <= add(cal, d2, n)


@settings(max_examples=300, deadline=None)
@given(calendars, dates, st.integers(min_value=1, max_value=400))
@pytest.mark.rule("INS-06")
def test_ins_06_property_negative_n_is_inverse(cal, day, n):
    back = add(cal, day, -n)
    assert back < day
    assert cal.is_workday(back)
    # Working days in (back, day] are n - 1 plus day itself if it is a working day.
    assert cal.workdays_between(back, day) == n - 1 + cal.is_workday(day)
    last_on_or_before = day if cal.is_workday(day) else cal.previous_workday(day)
    first_on_or_after = day if cal.is_workday(day) else cal.next_workday(day)
    assert add(cal, back, n) == first_on_or_after
    assert cal.add_workdays(add(cal, day, n), -n) == last_on_or_before


@settings(max_examples=200, deadline=None)
@given(calendars, dates, st.integers(min_value=-40, max_value=40))
@pytest.mark.rule("INS-06")
def test_ins_06_property_matches_naive_day_by_day_walk(cal, day, n):
    assert cal.add_workdays(day, n) == naive_add(cal, day, n)


@settings(max_examples=200, deadline=None)
@given(calendars, dates, dates)
@pytest.mark.rule("INS-06")
def test_ins_06_property_workdays_between_matches_naive_count(cal, a, b):
    if abs((b - a).days) > 800:
        b = a + timedelta(days=(b - a).days % 800)
        if b.year > 2099:
            reject()
    lo, hi = sorted((a, b))
    count = sum(cal.is_workday(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    assert cal.workdays_between(lo, hi) == count
    assert cal.workdays_between(hi, lo) == -count
    provisional = any(cal.is_provisional(lo + timedelta(days=i)) for i in range((hi - lo).days + 1))
    assert cal.provisional_between(a, b) == provisional
