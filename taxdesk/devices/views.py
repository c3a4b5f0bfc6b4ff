"""Pages of the device register: devices and their lifecycle, stock batches and receiving,
the unit's warranty policy. (The sale pages are in the sales app.)"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView

from taxdesk.core.choices import Role
from taxdesk.core.forms import add_action_errors
from taxdesk.core.generic import ObjectDetailView, ObjectListView, ScopedMixin, object_for
from taxdesk.core.models import ServiceUnit
from taxdesk.core.scoping import CHANGE, VIEW, may_add, scope_filter
from taxdesk.customers.models import Taxpayer

from .actions import (
    move_device,
    pair_reporting_disk,
    receive_stock,
    set_warranty_policy,
)
from .choices import MAIN_DISKS, DeviceStatus, DeviceType
from .filtersets import DeviceFilterSet, StockBatchFilterSet
from .forms import MoveForm, PairForm, ReceiveForm, WarrantyPolicyForm
from .models import Device, StockBatch, WarrantyPolicy
from .queries import batch_counts, for_list, status_counts, stock_summary
from .warranty import DEFAULT_WARRANTY_YEARS

# Filters set by links rather than typed: shown in the form only when a link set them.
LINKED_FILTERS = ("taxpayer", "batch")


def _sees_many_units(user) -> bool:
    return user.is_superuser or user.role in (Role.SUPERVISION_OFFICER, Role.TAX_OFFICER)


# --------------------------------------------------------------------------- devices
class DeviceListView(ObjectListView):
    model = Device
    filterset_class = DeviceFilterSet
    ordering = ("serial", "id")
    template_name = "devices/device_list.html"
    partial_template_name = "devices/partials/device_table.html"
    export_columns = [
        "serial",
        "device_type",
        "status",
        "status_changed_on",
        (gettext_lazy("Taxpayer"), "taxpayer.name"),
        (gettext_lazy("Taxpayer number"), "taxpayer.number"),
        (gettext_lazy("Service unit"), "service_unit.name"),
        (gettext_lazy("Delivery note"), "batch.delivery_note"),
        "sold_on",
        "warranty_until",
        (gettext_lazy("Paired with"), lambda d: d.partner.serial if d.partner else ""),
    ]

    def base_queryset(self):
        return for_list(Device.objects.all())

    def get_filterset(self, queryset):
        filterset = super().get_filterset(queryset)
        for name in LINKED_FILTERS:
            if not self.request.GET.get(name):
                filterset.form.fields.pop(name, None)
        return filterset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["show_unit"] = _sees_many_units(user)
        context["today"] = timezone.localdate()
        filterset = context["filterset"]
        if filterset.is_bound and filterset.is_valid():
            taxpayer_id = filterset.form.cleaned_data.get("taxpayer")
            batch_id = filterset.form.cleaned_data.get("batch")
            if taxpayer_id:
                context["for_taxpayer"] = (
                    Taxpayer.objects.restrict(user).filter(pk=taxpayer_id).first()
                )
            if batch_id:
                context["for_batch"] = StockBatch.objects.restrict(user).filter(pk=batch_id).first()
        return context


class DeviceDetailView(ObjectDetailView):
    model = Device
    template_name = "devices/device_detail.html"

    def base_queryset(self):
        return Device.objects.select_related(
            "service_unit", "taxpayer", "batch", "sale", "paired_with", "pair"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        device = self.object
        user = self.request.user
        today = timezone.localdate()
        context["today"] = today
        context["under_warranty"] = device.under_warranty(today)
        context["staff_view"] = user.is_superuser or user.role != Role.TAXPAYER
        context["events"] = device.events.select_related("by").order_by("on", "id")
        context["batch_visible"] = (
            device.batch_id is not None
            and StockBatch.objects.restrict(user).filter(pk=device.batch_id).exists()
        )
        context["moves"] = [DeviceStatus(s) for s in device.manual_moves]
        pairable = device.device_type in MAIN_DISKS or (
            device.device_type == DeviceType.REPORTING_DISK
        )
        if context["can_change"] and pairable and device.partner is None:
            context["pair_form"] = PairForm()
        return context


class _DeviceChangeView(ScopedMixin, View):
    """A write on one device: 404 if it is out of reach, 403 if it is only visible."""

    model = Device
    action = CHANGE

    def _device(self, pk) -> Device:
        return object_for(self.request.user, Device.objects.all(), pk)


class DeviceMoveView(_DeviceChangeView):
    template_name = "devices/device_move.html"

    def _render(self, device, form, status=200):
        return render(
            self.request, self.template_name, {"object": device, "form": form}, status=status
        )

    def get(self, request, pk):
        device = self._device(pk)
        return self._render(device, MoveForm(device=device))

    def post(self, request, pk):
        device = self._device(pk)
        form = MoveForm(request.POST, device=device)
        if form.is_valid():
            data = form.cleaned_data
            if data["from_status"] != device.status:
                form.add_error(
                    None,
                    _("The device was moved by someone else meanwhile; check its state again."),
                )
            else:
                try:
                    move_device(
                        device, data["to_status"], on=data["on"], by=request.user, note=data["note"]
                    )
                except ValidationError as exc:
                    add_action_errors(form, exc)
                else:
                    messages.success(
                        request,
                        _("%(device)s is now “%(status)s”.")
                        % {"device": device, "status": device.get_status_display()},
                    )
                    return redirect(device)
        return self._render(device, form, status=400)


class DevicePairView(_DeviceChangeView):
    def post(self, request, pk):
        device = self._device(pk)
        form = PairForm(request.POST)
        if form.is_valid():
            serial = form.cleaned_data["serial"]  # normalised by the form
            other = (
                Device.objects.restrict(request.user, CHANGE)
                .filter(serial=serial)
                .exclude(pk=device.pk)
                .first()
            )
            if other is None:
                messages.error(
                    request,
                    _("No device %(serial)s that you may change was found.") % {"serial": serial},
                )
                return redirect(device)
            reporting, main = (
                (device, other)
                if device.device_type == DeviceType.REPORTING_DISK
                else (other, device)
            )
            try:
                pair_reporting_disk(reporting, main, by=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    _("%(reporting)s is paired with %(main)s.")
                    % {"reporting": reporting, "main": main},
                )
        else:
            messages.error(request, _("Give the serial number of the device to pair with."))
        return redirect(device)


# --------------------------------------------------------------------------- stock
class BatchListView(ObjectListView):
    model = StockBatch
    filterset_class = StockBatchFilterSet
    ordering = ("-received_on", "-id")
    template_name = "devices/batch_list.html"
    partial_template_name = "devices/partials/batch_table.html"
    export_columns = [
        "delivery_note",
        "device_type",
        "received_on",
        "supplier",
        (gettext_lazy("Service unit"), "service_unit.name"),
    ]

    def base_queryset(self):
        return StockBatch.objects.select_related("service_unit")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        counts = batch_counts(row.pk for row in context["rows"])
        empty = {"total": 0, "in_stock": 0}
        for row in context["rows"]:
            row.counts = counts.get(row.pk, empty)
        context["show_unit"] = _sees_many_units(user)
        context["can_receive"] = may_add(user, StockBatch)
        if not self.request.htmx:
            context["summary"] = stock_summary(Device.objects.restrict(user))
            context["device_types"] = DeviceType.choices
        return context


class BatchDetailView(ObjectDetailView):
    model = StockBatch
    template_name = "devices/batch_detail.html"
    shown_devices = 50

    def base_queryset(self):
        return StockBatch.objects.select_related("service_unit")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        devices = Device.objects.restrict(self.request.user).filter(batch=self.object)
        counts = status_counts(devices)
        context["status_rows"] = [(DeviceStatus(s).label, n) for s, n in counts.items() if n]
        context["device_count"] = sum(counts.values())
        context["rows"] = list(for_list(devices).order_by("serial", "id")[: self.shown_devices])
        context["more"] = context["device_count"] > len(context["rows"])
        context["show_unit"] = False
        context["today"] = timezone.localdate()
        return context


class BatchReceiveView(LoginRequiredMixin, View):
    """Receive devices on a delivery note: one serial per line, every bad line reported."""

    template_name = "devices/batch_receive.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_add(request.user, StockBatch):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return render(request, self.template_name, {"form": ReceiveForm(user=request.user)})

    def post(self, request):
        form = ReceiveForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            unit = data.get("service_unit") or request.user.service_unit
            try:
                batch = receive_stock(
                    service_unit=unit,
                    device_type=data["device_type"],
                    delivery_note=data["delivery_note"],
                    received_on=data["received_on"],
                    supplier=data["supplier"],
                    serials=form.serial_lines(),
                    by=request.user,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                count = batch.devices.count()
                messages.success(
                    request,
                    ngettext(
                        "%(count)s device received on %(note)s.",
                        "%(count)s devices received on %(note)s.",
                        count,
                    )
                    % {"count": count, "note": batch.delivery_note},
                )
                return redirect("devices:batch_detail", pk=batch.pk)
        return render(request, self.template_name, {"form": form}, status=400)


# --------------------------------------------------------------------------- warranty
class WarrantyPolicyView(LoginRequiredMixin, TemplateView):
    """Each unit's years of free repair per device type; its administrator changes them."""

    template_name = "devices/warranty_policies.html"
    max_units = 200

    def _own_unit(self):
        """The unit whose policy this user may set here (a unit administrator's own)."""
        user = self.request.user
        unit = user.service_unit if user.service_unit_id else None
        if unit is not None and may_add(user, WarrantyPolicy, unit):
            return unit
        return None

    def _years(self, unit) -> dict[str, int]:
        return dict(
            WarrantyPolicy.objects.filter(service_unit=unit).values_list("device_type", "years")
        )

    def get_context_data(self, form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        rows = []
        if scope_filter(WarrantyPolicy.scope, user, VIEW) is not None:
            units = list(ServiceUnit.objects.restrict(user).order_by("name")[: self.max_units])
            policies = WarrantyPolicy.objects.restrict(user).filter(service_unit__in=units)
            years = {(p.service_unit_id, p.device_type): p.years for p in policies}
            rows = [
                {
                    "unit": unit,
                    "years": [
                        (
                            years.get((unit.pk, value), DEFAULT_WARRANTY_YEARS),
                            (unit.pk, value) in years,
                        )
                        for value in DeviceType.values
                    ],
                }
                for unit in units
            ]
        own = self._own_unit()
        if own is not None and form is None:
            form = WarrantyPolicyForm(years_by_type=self._years(own))
        context.update(
            rows=rows,
            device_types=DeviceType.choices,
            default_years=DEFAULT_WARRANTY_YEARS,
            own_unit=own,
            form=form,
        )
        return context

    def post(self, request):
        unit = self._own_unit()
        if unit is None:
            raise PermissionDenied
        current = self._years(unit)
        form = WarrantyPolicyForm(request.POST, years_by_type=current)
        if form.is_valid():
            try:
                with transaction.atomic():
                    for device_type, years in form.cleaned_data.items():
                        if current.get(device_type, DEFAULT_WARRANTY_YEARS) != years:
                            set_warranty_policy(
                                service_unit=unit,
                                device_type=device_type,
                                years=years,
                                by=request.user,
                            )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The warranty policy was saved."))
                return redirect("devices:warranty_policies")
        return self.render_to_response(self.get_context_data(form=form), status=400)
