"""Pages of the taxpayer register: the list, one taxpayer with everything about them, the
register and edit forms, contacts, and the dated changes of status, type and tax office.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from taxdesk.clocks.models import Deadline
from taxdesk.core.choices import Role
from taxdesk.core.forms import add_action_errors
from taxdesk.core.generic import ObjectDetailView, ObjectListView, object_for
from taxdesk.core.privacy import record_read
from taxdesk.core.scoping import CHANGE, DELETE, may_add

from . import actions, extensions
from .choices import InvoiceType
from .filtersets import TaxpayerFilterSet
from .forms import (
    ContactForm,
    FirstContactForm,
    StatusChangeForm,
    TaxOfficeChangeForm,
    TaxpayerForm,
    TypeChangeForm,
)
from .models import Contact, Taxpayer, TaxpayerChange

# How many rows of each related list the taxpayer page shows (the newest first).
RELATED_ROWS = 50


def _invoice_type_labels(taxpayer) -> list[str]:
    kept = taxpayer.invoice_types or []
    return [str(label) for value, label in InvoiceType.choices if value in kept]


class TaxpayerListView(ObjectListView):
    model = Taxpayer
    filterset_class = TaxpayerFilterSet
    ordering = ("name", "id")
    template_name = "customers/taxpayer_list.html"
    partial_template_name = "customers/partials/taxpayer_table.html"
    export_columns = [
        "number",
        "name",
        "address",
        "district",
        (gettext_lazy("Tax office"), "tax_office.name"),
        "taxpayer_type",
        "approved_on",
        "status",
        "office_hours",
        (gettext_lazy("Invoice types"), _invoice_type_labels),
        (gettext_lazy("Service unit"), "service_unit.name"),
        "entered_at",
        "created_at",
    ]

    def base_queryset(self):
        return Taxpayer.objects.select_related("service_unit", "tax_office")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["can_add"] = may_add(user, Taxpayer)
        # Only someone who sees several units needs the unit column.
        context["show_unit"] = user.is_superuser or user.role in (
            Role.SUPERVISION_OFFICER,
            Role.TAX_OFFICER,
        )
        return context


class TaxpayerDetailView(ObjectDetailView):
    model = Taxpayer
    template_name = "customers/taxpayer_detail.html"

    def base_queryset(self):
        return Taxpayer.objects.select_related("service_unit", "tax_office", "supervision_body")

    def get_object(self, queryset=None):
        taxpayer = super().get_object(queryset)
        # An officer's read of the full record is kept in the trail (core.privacy).
        record_read(self.request.user, taxpayer)
        return taxpayer

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        taxpayer = self.object
        context["contacts"] = list(
            Contact.objects.restrict(user).filter(taxpayer=taxpayer).order_by("id")
        )
        context["missing"] = taxpayer.missing_for_entry() if taxpayer.entered_at is None else []
        context["entry_clock"] = (
            Deadline.objects.restrict(user)
            .filter(
                content_type=ContentType.objects.get_for_model(Taxpayer),
                object_id=taxpayer.pk,
                rule=actions.ENTRY_RULE,
            )
            .first()
        )
        # What the apps above the register show and offer here (customers.extensions).
        context["panels"] = [
            (panel.key, panel.template, data)
            for panel in extensions.panels()
            if (data := panel.context(user, taxpayer, RELATED_ROWS)) is not None
        ]
        context["extra_actions"] = [
            (action.key, action.label, url)
            for action in extensions.actions()
            if (url := action.url(user, taxpayer))
        ]
        context["changes"] = list(
            TaxpayerChange.objects.restrict(user)
            .filter(taxpayer=taxpayer)
            .select_related("by")
            .order_by("-effective_on", "-id")
        )
        context["can_edit_contacts"] = context["can_change"]
        context["invoice_type_labels"] = _invoice_type_labels(taxpayer)
        context["limit"] = RELATED_ROWS
        # Histories name staff: not for the taxpayers' own users (core.generic).
        context["show_history"] = user.is_superuser or user.role != Role.TAXPAYER
        return context


def _render(request, template, context, status=200):
    return render(request, template, context, status=status)


class _TaxpayerWriteView(LoginRequiredMixin, View):
    """Out of scope is a 404; visible but not changeable is a 403."""

    def get_taxpayer(self, pk, action=CHANGE) -> Taxpayer:
        taxpayers = Taxpayer.objects.select_related("service_unit", "tax_office")
        return object_for(self.request.user, taxpayers, pk, action)

    def get_contact(self, pk, action=CHANGE) -> Contact:
        contacts = Contact.objects.select_related("taxpayer", "taxpayer__service_unit")
        return object_for(self.request.user, contacts, pk, action)


class TaxpayerCreateView(_TaxpayerWriteView):
    template_name = "customers/taxpayer_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_add(request.user, Taxpayer):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def _forms(self, data=None):
        user = self.request.user
        unit = None if user.is_superuser else user.service_unit
        form = TaxpayerForm(data, service_unit=unit, user=user)
        return form, FirstContactForm(data)

    def get(self, request):
        form, contact_form = self._forms()
        return _render(request, self.template_name, {"form": form, "contact_form": contact_form})

    def post(self, request):
        form, contact_form = self._forms(request.POST)
        forms_valid = form.is_valid()
        forms_valid = contact_form.is_valid() and forms_valid
        if forms_valid:
            unit = form.cleaned_data.get("service_unit") or request.user.service_unit
            contacts = (
                []
                if contact_form.is_empty()
                else [ContactForm.contact_fields(contact_form.cleaned_data)]
            )
            try:
                taxpayer = actions.register_taxpayer(
                    service_unit=unit,
                    by=request.user,
                    contacts=contacts,
                    **form.action_fields(),
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The taxpayer was registered."))
                return redirect(taxpayer)
        return _render(
            request,
            self.template_name,
            {"form": form, "contact_form": contact_form},
            status=400,
        )


class TaxpayerEditView(_TaxpayerWriteView):
    template_name = "customers/taxpayer_form.html"

    def get(self, request, pk):
        taxpayer = self.get_taxpayer(pk)
        form = TaxpayerForm(instance=taxpayer, user=request.user)
        return _render(request, self.template_name, {"form": form, "object": taxpayer})

    def post(self, request, pk):
        taxpayer = self.get_taxpayer(pk)
        form = TaxpayerForm(request.POST, instance=taxpayer, user=request.user)
        if form.is_valid():
            try:
                actions.update_taxpayer(taxpayer, by=request.user, **form.action_fields())
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The taxpayer was saved."))
                return redirect(taxpayer)
        return _render(request, self.template_name, {"form": form, "object": taxpayer}, status=400)


class ContactAddView(_TaxpayerWriteView):
    template_name = "customers/contact_form.html"

    def get(self, request, pk):
        taxpayer = self.get_taxpayer(pk)
        return _render(request, self.template_name, {"form": ContactForm(), "taxpayer": taxpayer})

    def post(self, request, pk):
        taxpayer = self.get_taxpayer(pk)
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                actions.add_contact(
                    taxpayer, by=request.user, **ContactForm.contact_fields(form.cleaned_data)
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The contact was added."))
                return redirect(taxpayer)
        return _render(
            request, self.template_name, {"form": form, "taxpayer": taxpayer}, status=400
        )


class ContactEditView(_TaxpayerWriteView):
    template_name = "customers/contact_form.html"

    def get(self, request, pk):
        contact = self.get_contact(pk)
        return _render(
            request,
            self.template_name,
            {
                "form": ContactForm(instance=contact),
                "taxpayer": contact.taxpayer,
                "object": contact,
            },
        )

    def post(self, request, pk):
        contact = self.get_contact(pk)
        form = ContactForm(request.POST, instance=contact)
        if form.is_valid():
            try:
                actions.update_contact(
                    contact, by=request.user, **ContactForm.contact_fields(form.cleaned_data)
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, _("The contact was saved."))
                return redirect(contact.taxpayer)
        return _render(
            request,
            self.template_name,
            {"form": form, "taxpayer": contact.taxpayer, "object": contact},
            status=400,
        )


class ContactDeleteView(_TaxpayerWriteView):
    template_name = "customers/contact_confirm_delete.html"

    def get(self, request, pk):
        contact = self.get_contact(pk, DELETE)
        return _render(
            request, self.template_name, {"object": contact, "taxpayer": contact.taxpayer}
        )

    def post(self, request, pk):
        contact = self.get_contact(pk, DELETE)
        taxpayer = contact.taxpayer
        try:
            actions.remove_contact(contact, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The contact was removed."))
        return redirect(taxpayer)


class _DatedChangeView(_TaxpayerWriteView):
    """One form per dated change; the action keeps the change in the taxpayer's history."""

    template_name = "customers/change_form.html"
    form_class = None
    change = None
    title = ""
    done = ""

    def _context(self, taxpayer, form):
        return {
            "form": form,
            "taxpayer": taxpayer,
            "title": self.title,
            "has_choices": form.has_choices(),
        }

    def get(self, request, pk):
        taxpayer = self.get_taxpayer(pk)
        return _render(
            request, self.template_name, self._context(taxpayer, self.form_class(taxpayer=taxpayer))
        )

    def post(self, request, pk):
        taxpayer = self.get_taxpayer(pk)
        form = self.form_class(request.POST, taxpayer=taxpayer)
        if form.is_valid():
            try:
                self.change(
                    taxpayer,
                    form.cleaned_data["to"],
                    effective_on=form.cleaned_data["effective_on"],
                    note=form.cleaned_data["note"],
                    by=request.user,
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(request, self.done)
                return redirect(taxpayer)
        return _render(request, self.template_name, self._context(taxpayer, form), status=400)


class StatusChangeView(_DatedChangeView):
    form_class = StatusChangeForm
    change = staticmethod(actions.change_status)
    title = gettext_lazy("Change the status")
    done = gettext_lazy("The status was changed.")


class TypeChangeView(_DatedChangeView):
    form_class = TypeChangeForm
    change = staticmethod(actions.change_type)
    title = gettext_lazy("Change the taxpayer type")
    done = gettext_lazy("The taxpayer type was changed.")


class TaxOfficeChangeView(_DatedChangeView):
    form_class = TaxOfficeChangeForm
    change = staticmethod(actions.change_tax_office)
    title = gettext_lazy("Change the tax office")
    done = gettext_lazy("The tax office was changed.")
