"""The calendar pages: the years known, one year's months, and the administrators' forms."""

from __future__ import annotations

import calendar as pycalendar
from datetime import date

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from taxdesk.core.forms import add_action_errors
from taxdesk.core.generic import history_url
from taxdesk.core.scoping import ADD, scope_filter
from taxdesk.worktime.calendar import FIRST_YEAR, LAST_YEAR

from .actions import add_day_override, enter_year, parse_dates, remove_day_override
from .forms import DayOverrideForm, YearForm
from .models import CALENDAR_SCOPE, CalendarDay, CalendarYear
from .store import current_calendar


def _can_edit(user) -> bool:
    return scope_filter(CALENDAR_SCOPE, user, ADD) is not None


def _source(cal, year: int) -> str:
    if year in cal.entered_years:
        return "entered"
    if year in cal.official_years:
        return "official"
    return "provisional"


class CalendarIndexView(LoginRequiredMixin, TemplateView):
    template_name = "workdays/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        cal = current_calendar()
        this_year = timezone.localdate().year
        context["years"] = [
            {"year": y, "source": _source(cal, y)}
            for y in range(this_year + 2, max(FIRST_YEAR, this_year - 5) - 1, -1)
        ]
        context["overrides"] = CalendarDay.objects.order_by("-date")[:50]
        context["can_edit"] = _can_edit(self.request.user)
        context["override_form"] = DayOverrideForm()
        return context


def _months(cal, year: int, overrides: dict[date, CalendarDay]):
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycalendar.Calendar().monthdatescalendar(year, month):
            cells = []
            for day in week:
                if day.month != month:
                    cells.append(None)
                    continue
                working = cal.is_workday(day)
                weekend = day.weekday() >= 5
                cells.append(
                    {
                        "day": day,
                        "working": working,
                        "special": working == weekend,  # a make-up day or a weekday holiday
                        "override": overrides.get(day),
                    }
                )
            weeks.append(cells)
        months.append({"month": month, "weeks": weeks})
    return months


class CalendarYearView(LoginRequiredMixin, View):
    template_name = "workdays/year.html"

    def _context(self, year: int, form=None):
        cal = current_calendar()
        row = CalendarYear.objects.filter(year=year).first()
        overrides = {o.date: o for o in CalendarDay.objects.filter(date__year=year)}
        if form is None and row is not None:
            form = YearForm(
                initial={
                    "holidays": "\n".join(row.holidays),
                    "workdays": "\n".join(row.workdays),
                    "notice": row.notice,
                }
            )
        return {
            "year": year,
            "row": row,
            "source": _source(cal, year),
            "months": _months(cal, year, overrides),
            "workday_count": cal.workdays_between(date(year - 1, 12, 31), date(year, 12, 31))
            if year > FIRST_YEAR
            else None,
            "can_edit": _can_edit(self.request.user),
            "form": form or YearForm(),
            "history_url": history_url(row) if row else None,
            "prev_year": year - 1 if year > FIRST_YEAR else None,
            "next_year": year + 1 if year < LAST_YEAR else None,
        }

    def get(self, request, year):
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise Http404
        return render(request, self.template_name, self._context(year))

    def post(self, request, year):
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise Http404
        form = YearForm(request.POST)
        if form.is_valid():
            try:
                enter_year(
                    year=year,
                    holidays=parse_dates(form.cleaned_data["holidays"], field="holidays"),
                    workdays=parse_dates(form.cleaned_data["workdays"], field="workdays"),
                    notice=form.cleaned_data["notice"],
                    by=request.user,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The calendar of %(year)s was saved.") % {"year": year})
                return redirect("workdays:year", year=year)
        return render(request, self.template_name, self._context(year, form), status=400)


class DayOverrideAddView(LoginRequiredMixin, View):
    def post(self, request):
        form = DayOverrideForm(request.POST)
        if form.is_valid():
            try:
                row = add_day_override(
                    day=form.cleaned_data["date"],
                    is_workday=form.cleaned_data["is_workday"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(
                    request, _("The correction of %(day)s was saved.") % {"day": row.date}
                )
                return redirect("workdays:index")
        context = CalendarIndexView(request=request).get_context_data()
        context["override_form"] = form
        return render(request, "workdays/index.html", context, status=400)


class DayOverrideDeleteView(LoginRequiredMixin, View):
    def post(self, request, pk):
        row = get_object_or_404(CalendarDay.objects.restrict(request.user), pk=pk)
        try:
            remove_day_override(row, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The correction was removed."))
        return redirect("workdays:index")
