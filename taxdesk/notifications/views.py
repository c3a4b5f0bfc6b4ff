"""Pages of the messages: the unit's message log (with its export), a message with its
delivery attempts, and the unit's message templates with a live preview."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from taxdesk.core.forms import add_action_errors
from taxdesk.core.generic import ObjectDetailView, ObjectListView, ScopedMixin, object_for
from taxdesk.core.scoping import CHANGE, may_add

from . import actions
from .choices import MessageStatus
from .filtersets import MessageFilterSet, MessageTemplateFilterSet
from .forms import TemplateForm
from .models import Message, MessageTemplate


class _LogReaders:
    """The whole log is for the unit's administrator and dispatchers, and supervision."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not actions.may_read_log(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _kind_name(message) -> str:
    from .catalogue import get_kind

    kind = get_kind(message.template_key)
    return str(kind.name) if kind is not None else ""


class MessageListView(_LogReaders, ObjectListView):
    model = Message
    filterset_class = MessageFilterSet
    ordering = ("-created_at", "-id")
    template_name = "notifications/message_list.html"
    partial_template_name = "notifications/partials/message_table.html"
    export_columns = [
        ("Created at", "created_at"),
        "service_unit.name",
        "channel",
        "to",
        "recipient_name",
        ("Taxpayer", "taxpayer.name"),
        (gettext_lazy("Kind"), _kind_name),
        "subject",
        ("Text", "text"),
        "status",
        "attempts",
        "sent_at",
        "provider_message_id",
        "last_error",
        ("Sent by", "created_by"),
    ]

    def base_queryset(self):
        return Message.objects.select_related("service_unit", "taxpayer", "created_by")


class MessageDetailView(ObjectDetailView):
    """One message for whoever may see it (the log's readers, and the staff of the record
    it is about): its text, the provider's answer and every attempt."""

    model = Message
    template_name = "notifications/message_detail.html"

    def base_queryset(self):
        return Message.objects.select_related(
            "service_unit", "taxpayer", "created_by", "related_type"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        message = self.object
        context["attempts"] = list(message.attempt_log.order_by("number"))
        context["can_retry"] = context["can_change"] and message.status in (
            MessageStatus.FAILED,
            MessageStatus.RETRYING,
        )
        context["kind_name"] = _kind_name(message)
        return context


class MessageRetryView(ScopedMixin, View):
    model = Message

    def post(self, request, pk):
        message = object_for(request.user, Message.objects.all(), pk)
        try:
            actions.retry_message(message, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The message is being sent again."))
        return redirect(message)


# ----------------------------------------------------------------------------- templates
class TemplateListView(_LogReaders, ObjectListView):
    model = MessageTemplate
    filterset_class = MessageTemplateFilterSet
    ordering = ("service_unit_id", "id")
    page_size = 100
    template_name = "notifications/template_list.html"
    partial_template_name = "notifications/partials/template_table.html"

    def base_queryset(self):
        return MessageTemplate.objects.select_related("service_unit", "updated_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        editable = {}
        for row in context["rows"]:
            if row.service_unit_id not in editable:
                editable[row.service_unit_id] = may_add(user, MessageTemplate, row.service_unit_id)
            row.editable = editable[row.service_unit_id] and row.kind is not None
        context["units_shown"] = len(editable) > 1
        return context


class _TemplateChange(ScopedMixin, View):
    model = MessageTemplate
    action = CHANGE

    def get_object(self, pk) -> MessageTemplate:
        template = object_for(
            self.request.user, MessageTemplate.objects.select_related("service_unit"), pk
        )
        if template.kind is None:
            raise PermissionDenied
        return template


def _form_context(template, form, preview) -> dict:
    kind = template.kind
    return {
        "object": template,
        "kind": kind,
        "form": form,
        "preview": preview,
        "variables": kind.all_variables,
        "default_subject": kind.subject,
        "default_body": kind.body,
    }


class TemplateEditView(_TemplateChange):
    template_name = "notifications/template_form.html"

    def get(self, request, pk):
        template = self.get_object(pk)
        initial = {"subject": template.effective_subject, "body": template.effective_body}
        form = TemplateForm(initial=initial)
        preview = actions.preview(template, initial["subject"], initial["body"])
        return render(request, self.template_name, _form_context(template, form, preview))

    def post(self, request, pk):
        template = self.get_object(pk)
        form = TemplateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.update_template(
                    template, subject=data["subject"], body=data["body"], by=request.user
                )
            except ValidationError as exc:
                add_action_errors(form, exc)
            else:
                messages.success(
                    request, _("The text of “%(name)s” was saved.") % {"name": template.name}
                )
                return redirect("notifications:template_list")
        preview = actions.preview(
            template, request.POST.get("subject", ""), request.POST.get("body", "")
        )
        return render(
            request, self.template_name, _form_context(template, form, preview), status=400
        )


class TemplatePreviewView(_TemplateChange):
    """The htmx preview: the text with the sample values, or why it would be refused."""

    def post(self, request, pk):
        template = self.get_object(pk)
        preview = actions.preview(
            template, request.POST.get("subject", ""), request.POST.get("body", "")
        )
        return render(
            request,
            "notifications/partials/preview.html",
            {"preview": preview, "object": template},
        )


class TemplateResetView(_TemplateChange):
    def post(self, request, pk):
        template = self.get_object(pk)
        actions.reset_template(template, by=request.user)
        messages.success(
            request, _("“%(name)s” uses the default text again.") % {"name": template.name}
        )
        return redirect("notifications:template_list")
