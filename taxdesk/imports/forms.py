from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from taxdesk.core.models import ServiceUnit

from .actions import kinds_for
from .choices import JobKind

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # about 300,000 rows of the taxpayer template


def check_upload(file) -> None:
    """An uploaded file is named .xlsx and of a bounded size. Nothing of it is read here: the
    job's check opens it in the background and fails the job if it cannot be read."""
    name = (getattr(file, "name", "") or "").lower()
    if not name.endswith(".xlsx"):
        raise ValidationError(
            _("Upload an Excel workbook (.xlsx); save .xls or .csv files as .xlsx first."),
            code="not_xlsx",
        )
    if file.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is larger than %(size)s MB; split it into smaller files."),
            code="too_large",
            params={"size": MAX_UPLOAD_BYTES // (1024 * 1024)},
        )


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"), choices=JobKind.choices)
    file = forms.FileField(
        label=_("Spreadsheet (.xlsx)"),
        help_text=_(
            "Fill in the template: one record per row. The file is checked first; nothing "
            "is imported until you ask for it."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    service_unit = forms.ModelChoiceField(
        label=_("Service unit"), queryset=ServiceUnit.objects.none()
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = kinds_for(user)
        self.fields["kind"].choices = [c for c in JobKind.choices if c[0] in allowed]
        if user.is_superuser:
            self.fields["service_unit"].queryset = ServiceUnit.objects.order_by("name")
        else:
            del self.fields["service_unit"]

    def clean_file(self):
        file = self.cleaned_data["file"]
        check_upload(file)
        return file
