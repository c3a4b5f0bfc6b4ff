"""Pages of fees, charges and contracts.

Rows come only through ``restrict``: a record outside the user's scope is a 404, a record the
user may see but not change is a 403. Every change goes through an action in actions.py.
"""

from __future__ import annotations

from io import BytesIO

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from taxdesk.core.forms import add_action_errors
from taxdesk.core.generic import (
    ObjectDetailView,
    ObjectListView,
    ScopedMixin,
    history_url,
    object_for,
)
from taxdesk.core.models import ServiceUnit
from taxdesk.core.scoping import ADD, CHANGE, VIEW, can, may_add

from . import actions
from .choices import ChargeKind, ContractState
from .filtersets import ChargeFilterSet, ContractFilterSet, FeeScheduleFilterSet
from .forms import (
    ChargeForm,
    CloseScheduleForm,
    ContractForm,
    CorrectionForm,
    FeeItemFormSet,
    FeeScheduleForm,
    InvoiceForm,
    PaymentForm,
    ProrationForm,
    RefundForm,
    RefusalForm,
    RenewForm,
    SignForm,
    blank_item_rows,
    item_rows,
)
from .models import Charge, FeeSchedule, ProrationRate, ServiceContract
from .pdf import contract_filename, contract_pdf
from .queries import group_totals


class _Changeable(ScopedMixin, View):
    """Views that change one record: invisible → 404, visible but not changeable → 403."""

    action = CHANGE

    def get_object(self, pk):
        return object_for(self.request.user, self.base_queryset(), pk)


class _Adding(ScopedMixin, View):
    action = ADD

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_add(request.user, self.model):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


# ------------------------------------------------------------------------- fee schedules
class ScheduleListView(ObjectListView):
    model = FeeSchedule
    filterset_class = FeeScheduleFilterSet
    ordering = ("-valid_from", "-id")
    template_name = "billing/schedule_list.html"
    partial_template_name = "billing/partials/schedule_table.html"

    def base_queryset(self):
        return FeeSchedule.objects.select_related("service_unit")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_add"] = may_add(self.request.user, FeeSchedule)
        return context


def schedule_context(request, schedule, **forms) -> dict:
    can_change = can(request.user, CHANGE, schedule)
    in_use = actions.schedule_in_use(schedule)
    context = {
        "object": schedule,
        "items": list(schedule.items.order_by("kind", "device_type", "name")),
        "can_change": can_change,
        "in_use": in_use,
        "history_url": history_url(schedule),
    }
    if can_change and schedule.valid_to is None:
        context["close_form"] = forms.get("close_form") or CloseScheduleForm()
    return context


class ScheduleDetailView(ObjectDetailView):
    model = FeeSchedule
    template_name = "billing/schedule_detail.html"

    def base_queryset(self):
        return FeeSchedule.objects.select_related("service_unit")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(schedule_context(self.request, self.object))
        return context


class ScheduleAddView(_Adding):
    model = FeeSchedule
    template_name = "billing/schedule_form.html"

    def _fixed_unit(self):
        user = self.request.user
        return None if user.is_superuser else user.service_unit

    def _render(self, form, formset, status=200):
        return render(
            self.request,
            self.template_name,
            {"form": form, "formset": formset, "fixed_unit": self._fixed_unit()},
            status=status,
        )

    def get(self, request):
        form = FeeScheduleForm(user=request.user, fixed_unit=self._fixed_unit())
        formset = FeeItemFormSet(initial=blank_item_rows(), prefix="items")
        return self._render(form, formset)

    def post(self, request):
        fixed = self._fixed_unit()
        form = FeeScheduleForm(request.POST, user=request.user, fixed_unit=fixed)
        formset = FeeItemFormSet(request.POST, prefix="items")
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                schedule = actions.create_fee_schedule(
                    service_unit=fixed or data["service_unit"],
                    name=data["name"],
                    valid_from=data["valid_from"],
                    valid_to=data["valid_to"],
                    supervision_approval=data["supervision_approval"],
                    tax_approval=data["tax_approval"],
                    approved_on=data["approved_on"],
                    items=formset.items(),
                    by=request.user,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The fee schedule was entered."))
                return redirect(schedule)
        return self._render(form, formset, status=400)


class ScheduleEditView(_Changeable):
    model = FeeSchedule
    template_name = "billing/schedule_form.html"

    def _render(self, schedule, form, formset, status=200):
        return render(
            self.request,
            self.template_name,
            {
                "object": schedule,
                "form": form,
                "formset": formset,
                "fixed_unit": schedule.service_unit,
                "in_use": formset is None,
            },
            status=status,
        )

    def get(self, request, pk):
        schedule = self.get_object(pk)
        fields = {name: getattr(schedule, name) for name in actions.SCHEDULE_FIELDS}
        form = FeeScheduleForm(initial=fields, user=request.user, fixed_unit=schedule.service_unit)
        formset = None
        if not actions.schedule_in_use(schedule):
            formset = FeeItemFormSet(initial=item_rows(schedule), prefix="items")
        return self._render(schedule, form, formset)

    def post(self, request, pk):
        schedule = self.get_object(pk)
        form = FeeScheduleForm(request.POST, user=request.user, fixed_unit=schedule.service_unit)
        in_use = actions.schedule_in_use(schedule)
        formset = None if in_use else FeeItemFormSet(request.POST, prefix="items")
        if form.is_valid() and (formset is None or formset.is_valid()):
            changes = {name: form.cleaned_data[name] for name in actions.SCHEDULE_FIELDS}
            try:
                actions.update_fee_schedule(
                    schedule,
                    by=request.user,
                    items=formset.items() if formset is not None else None,
                    **changes,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The fee schedule was saved."))
                return redirect(schedule)
        return self._render(schedule, form, formset, status=400)


class ScheduleCloseView(_Changeable):
    model = FeeSchedule

    def post(self, request, pk):
        schedule = self.get_object(pk)
        form = CloseScheduleForm(request.POST)
        if form.is_valid():
            try:
                actions.close_fee_schedule(schedule, form.cleaned_data["valid_to"], by=request.user)
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The fee schedule was closed."))
                return redirect(schedule)
        return render(
            request,
            "billing/schedule_detail.html",
            schedule_context(request, schedule, close_form=form),
            status=400,
        )


class ProrationView(ScopedMixin, View):
    """A unit's first-year proration table; its administrator changes it."""

    model = ProrationRate
    template_name = "billing/proration.html"

    def _unit(self):
        units = ServiceUnit.objects.restrict(self.request.user)
        pk = self.request.GET.get("unit") or self.request.user.service_unit_id
        if pk is None:
            return None, units.order_by("name")
        try:
            return get_object_or_404(units, pk=int(pk)), units.order_by("name")
        except ValueError:
            raise Http404 from None

    def _render(self, unit, units, form=None, status=200):
        rates = {}
        can_change = False
        if unit is not None:
            rates = {
                r.month: r.percent
                for r in ProrationRate.objects.restrict(self.request.user).filter(service_unit=unit)
            }
            can_change = may_add(self.request.user, ProrationRate) and (
                self.request.user.is_superuser or self.request.user.service_unit_id == unit.pk
            )
        return render(
            self.request,
            self.template_name,
            {
                "unit": unit,
                "units": units[:200],
                "months": [(m, rates.get(m)) for m in range(1, 13)],
                "form": (form or ProrationForm(rates=rates)) if can_change else None,
                "can_change": can_change,
            },
            status=status,
        )

    def get(self, request):
        unit, units = self._unit()
        return self._render(unit, units)

    def post(self, request):
        unit, units = self._unit()
        if unit is None:
            raise Http404
        if not may_add(request.user, ProrationRate) or not (
            request.user.is_superuser or request.user.service_unit_id == unit.pk
        ):
            raise PermissionDenied
        form = ProrationForm(request.POST)
        if form.is_valid():
            try:
                actions.set_proration(service_unit=unit, rates=form.rates(), by=request.user)
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The proration table was saved."))
                suffix = f"?unit={unit.pk}" if request.user.is_superuser else ""
                return redirect(request.path + suffix)
        return self._render(unit, units, form=form, status=400)


# ------------------------------------------------------------------------------ charges
class ChargeListView(ObjectListView):
    model = Charge
    filterset_class = ChargeFilterSet
    ordering = ("-service_date", "-id")
    template_name = "billing/charge_list.html"
    partial_template_name = "billing/partials/charge_table.html"

    def base_queryset(self):
        return Charge.objects.select_related("taxpayer", "service_unit")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_add"] = may_add(self.request.user, Charge)
        return context


def charge_context(request, charge, **forms) -> dict:
    root = Charge.objects.get(pk=charge.corrects_id) if charge.corrects_id else charge
    entries = list(
        Charge.objects.filter(Q(pk=root.pk) | Q(corrects=root))
        .select_related("taxpayer")
        .order_by("created_at", "id")
    )
    totals = group_totals(root)
    can_change = can(request.user, CHANGE, charge)
    context = {
        "object": charge,
        "root": root,
        "entries": entries,
        "totals": totals,
        "can_change": can_change,
        "history_url": history_url(charge),
    }
    if can_change:
        if charge.kind != ChargeKind.REFUND:
            context["invoice_form"] = forms.get("invoice_form") or InvoiceForm(
                initial={
                    "invoice_code": charge.invoice_code,
                    "invoice_number": charge.invoice_number,
                }
            )
            context["correct_form"] = forms.get("correct_form") or CorrectionForm(
                initial={"new_amount": totals["net"]}
            )
        if totals["outstanding"] > 0:
            context["pay_form"] = forms.get("pay_form") or PaymentForm()
        if totals["refundable"] > 0:
            context["refund_form"] = forms.get("refund_form") or RefundForm(
                initial={"amount": totals["refundable"]}
            )
    return context


class ChargeDetailView(ObjectDetailView):
    model = Charge
    template_name = "billing/charge_detail.html"

    def base_queryset(self):
        return Charge.objects.select_related(
            "taxpayer", "service_unit", "item__schedule", "device", "contract", "sale"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(charge_context(self.request, self.object))
        return context


class ChargeAddView(_Adding):
    model = Charge
    template_name = "billing/charge_form.html"

    def get(self, request):
        initial = {}
        if request.GET.get("taxpayer"):
            initial["taxpayer"] = request.GET["taxpayer"]
        if request.GET.get("fee_kind"):
            initial["fee_kind"] = request.GET["fee_kind"]
        form = ChargeForm(user=request.user, initial=initial)
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = ChargeForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                charge = actions.create_charge(
                    taxpayer=data["taxpayer"],
                    fee_kind=data["fee_kind"],
                    service_date=data["service_date"],
                    device=data["device"],
                    item=data["item"],
                    description=data["description"],
                    by=request.user,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Charged %(amount)s yuan: %(what)s.")
                    % {"amount": charge.amount, "what": charge.description},
                )
                return redirect(charge)
        return render(request, self.template_name, {"form": form}, status=400)


class _ChargeActionView(_Changeable):
    model = Charge
    form_class = None
    form_name = ""
    done = ""

    def base_queryset(self):
        return Charge.objects.select_related("taxpayer", "service_unit", "item")

    def perform(self, charge, data):
        raise NotImplementedError

    def post(self, request, pk):
        charge = self.get_object(pk)
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                result = self.perform(charge, form.cleaned_data)
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, self.done_message())
                return redirect(result or charge)
        return render(
            request,
            "billing/charge_detail.html",
            charge_context(request, charge, **{self.form_name: form}),
            status=400,
        )

    def done_message(self) -> str:
        return str(self.done)


class ChargePayView(_ChargeActionView):
    form_class = PaymentForm
    form_name = "pay_form"

    def perform(self, charge, data):
        return actions.record_payment(charge, paid_on=data["paid_on"], by=self.request.user)

    def done_message(self):
        return _("The payment was recorded.")


class ChargeInvoiceView(_ChargeActionView):
    form_class = InvoiceForm
    form_name = "invoice_form"

    def perform(self, charge, data):
        return actions.record_invoice(charge, by=self.request.user, **data)

    def done_message(self):
        return _("The invoice was recorded.")


class ChargeCorrectView(_ChargeActionView):
    form_class = CorrectionForm
    form_name = "correct_form"

    def perform(self, charge, data):
        return actions.correct_charge(charge, by=self.request.user, **data)

    def done_message(self):
        return _("The correction was entered.")


class ChargeRefundView(_ChargeActionView):
    form_class = RefundForm
    form_name = "refund_form"

    def perform(self, charge, data):
        return actions.refund_charge(charge, by=self.request.user, **data)

    def done_message(self):
        return _("The refund was entered.")


# ----------------------------------------------------------------------------- contracts
class ContractListView(ObjectListView):
    model = ServiceContract
    filterset_class = ContractFilterSet
    template_name = "billing/contract_list.html"
    partial_template_name = "billing/partials/contract_table.html"

    @property
    def ordering(self):
        # "Ending in the next N days" lists the soonest first.
        if self.request.GET.get("ending_within"):
            return ("ends_on", "id")
        return ("-starts_on", "-id")

    def base_queryset(self):
        return ServiceContract.objects.select_related("taxpayer", "service_unit")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_add"] = may_add(self.request.user, ServiceContract)
        return context


def contract_context(request, contract, **forms) -> dict:
    can_change = can(request.user, CHANGE, contract)
    context = {
        "object": contract,
        "can_change": can_change,
        "history_url": history_url(contract),
        "charges": list(
            contract.charges.restrict(request.user).order_by("service_date", "id")[:50]
        ),
        "renewal": ServiceContract.objects.filter(renewal_of=contract).first(),
    }
    if can_change and contract.state == ContractState.DRAFT:
        context["sign_form"] = forms.get("sign_form") or SignForm()
        context["refuse_form"] = forms.get("refuse_form") or RefusalForm()
    if can_change and contract.state == ContractState.SIGNED and context["renewal"] is None:
        context["renew_form"] = forms.get("renew_form") or RenewForm()
    return context


class ContractDetailView(ObjectDetailView):
    model = ServiceContract
    template_name = "billing/contract_detail.html"

    def base_queryset(self):
        return ServiceContract.objects.select_related("taxpayer", "service_unit", "renewal_of")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(contract_context(self.request, self.object))
        return context


class ContractAddView(_Adding):
    model = ServiceContract
    template_name = "billing/contract_form.html"

    def get(self, request):
        initial = {"taxpayer": request.GET.get("taxpayer", "")}
        form = ContractForm(user=request.user, initial=initial)
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = ContractForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                contract = actions.create_contract(
                    taxpayer=data["taxpayer"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    annual_fee=data["annual_fee"],
                    by=request.user,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(
                    request, _("Contract %(number)s was drawn up.") % {"number": contract.number}
                )
                return redirect(contract)
        return render(request, self.template_name, {"form": form}, status=400)


class _ContractActionView(_Changeable):
    model = ServiceContract
    form_class = None
    form_name = ""

    def base_queryset(self):
        return ServiceContract.objects.select_related("taxpayer", "service_unit")

    def post(self, request, pk):
        contract = self.get_object(pk)
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                result = self.perform(contract, form.cleaned_data)
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, self.done_message(result))
                return redirect(result)
        return render(
            request,
            "billing/contract_detail.html",
            contract_context(request, contract, **{self.form_name: form}),
            status=400,
        )


class ContractSignView(_ContractActionView):
    form_class = SignForm
    form_name = "sign_form"

    def perform(self, contract, data):
        return actions.sign_contract(contract, signed_on=data["signed_on"], by=self.request.user)

    def done_message(self, result):
        return _("The contract is signed.")


class ContractRefuseView(_ContractActionView):
    form_class = RefusalForm
    form_name = "refuse_form"

    def perform(self, contract, data):
        return actions.record_refusal(contract, by=self.request.user, **data)

    def done_message(self, result):
        return _("The refusal to sign was recorded.")


class ContractRenewView(_ContractActionView):
    form_class = RenewForm
    form_name = "renew_form"

    def perform(self, contract, data):
        return actions.renew_contract(contract, years=data["years"], by=self.request.user)

    def done_message(self, result):
        return _("Renewal %(number)s was drawn up; it awaits signature.") % {
            "number": result.number
        }


class ContractPdfView(ScopedMixin, View):
    """The contract as an A4 PDF, shown in the browser."""

    model = ServiceContract

    def get(self, request, pk):
        contract = get_object_or_404(
            ServiceContract.objects.restrict(request.user, VIEW).select_related(
                "taxpayer", "service_unit"
            ),
            pk=pk,
        )
        return FileResponse(
            BytesIO(contract_pdf(contract)),
            content_type="application/pdf",
            filename=contract_filename(contract),
            as_attachment=False,
        )
