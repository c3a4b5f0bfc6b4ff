"""The formal invoice (正式发票) number a charge is invoiced under (MNT-13).

Two formats exist side by side:

- a paper or electronic VAT invoice: a 10- or 12-digit 发票代码 and an 8-digit 发票号码;
- a fully digital invoice (数电票): a 20-digit 发票号码 and no code.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def normalise(value: str) -> str:
    return "".join((value or "").split())


def validate_invoice(code: str, number: str) -> tuple[str, str]:
    """The code and number with blanks removed; a ValidationError per field if wrong."""
    code, number = normalise(code), normalise(number)
    errors = {}
    if code and not code.isdigit():
        errors["invoice_code"] = ValidationError(
            _("An invoice code has digits only."), code="invoice_code_format"
        )
    elif code and len(code) not in (10, 12):
        errors["invoice_code"] = ValidationError(
            _("An invoice code has 10 or 12 digits; this one has %(n)s.") % {"n": len(code)},
            code="invoice_code_format",
        )
    if not number:
        errors["invoice_number"] = ValidationError(_("Enter the invoice number."), code="required")
    elif not number.isdigit():
        errors["invoice_number"] = ValidationError(
            _("An invoice number has digits only."), code="invoice_number_format"
        )
    elif code:
        if len(number) == 20:
            errors["invoice_code"] = ValidationError(
                _("A fully digital invoice (数电票) has a 20-digit number and no invoice code."),
                code="invoice_code_unexpected",
            )
        elif len(number) != 8:
            errors["invoice_number"] = ValidationError(
                _("With an invoice code the invoice number has 8 digits; this one has %(n)s.")
                % {"n": len(number)},
                code="invoice_number_format",
            )
    elif len(number) == 8:
        errors["invoice_code"] = ValidationError(
            _("An 8-digit invoice number needs its 10- or 12-digit invoice code."),
            code="invoice_code_required",
        )
    elif len(number) != 20:
        errors["invoice_number"] = ValidationError(
            _(
                "An invoice number has 8 digits (with a 10- or 12-digit code) or 20 digits "
                "(数电票); this one has %(n)s."
            )
            % {"n": len(number)},
            code="invoice_number_format",
        )
    if errors:
        raise ValidationError(errors)
    return code, number


def invoice_label(code: str, number: str) -> str:
    return f"{code} {number}" if code else number
