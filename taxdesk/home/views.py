"""Each role's home page: the figures of the apps below, gathered for that role."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from taxdesk.clocks.models import Deadline
from taxdesk.clocks.queries import breached_or_at_risk, unit_clock_counts
from taxdesk.core.choices import UNIT_ROLES, Role
from taxdesk.core.models import ServiceUnit


def _unit_rows(user, clocks) -> list[dict]:
    """The units a user oversees with their clock counts (two queries, whatever the size)."""
    counts = {c["service_unit_id"]: c for c in unit_clock_counts(clocks)}
    empty = {"open": 0, "overdue": 0, "breached": 0}
    return [
        {"unit": unit, **{k: counts.get(unit.id, empty)[k] for k in empty}}
        for unit in ServiceUnit.objects.restrict(user).order_by("name")[:200]
    ]


class HomeView(LoginRequiredMixin, TemplateView):
    """Each role's own start page, built from the rows that role may see."""

    template_name = "home/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        clocks = Deadline.objects.restrict(user).select_related("service_unit", "content_type")
        if user.is_superuser:
            context["panel"] = "platform"
            context["unit_rows"] = _unit_rows(user, clocks)
        elif user.role in UNIT_ROLES:
            context["panel"] = "unit"
            context["unit"] = user.service_unit
            context["at_risk"] = list(breached_or_at_risk(clocks)[:10])
        elif user.role == Role.SUPERVISION_OFFICER:
            context["panel"] = "supervision"
            context["unit_rows"] = _unit_rows(user, clocks)
        elif user.role == Role.TAX_OFFICER:
            context["panel"] = "tax_office"
            context["unit_rows"] = _unit_rows(user, clocks)
        else:
            context["panel"] = "taxpayer"
            context["taxpayer"] = user.taxpayer
            context["open_clocks"] = list(clocks.filter(stopped_at__isnull=True)[:10])
        return context
