"""Amounts in Chinese capitals (printed on the contract) and formal invoice numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from taxdesk.billing.capitals import rmb_capitals
from taxdesk.billing.invoices import validate_invoice


@pytest.mark.parametrize(
    ("amount", "capitals"),
    [
        ("330", "叁佰叁拾元整"),
        ("280", "贰佰捌拾元整"),
        ("490", "肆佰玖拾元整"),
        ("230", "贰佰叁拾元整"),
        ("0", "零元整"),
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("100", "壹佰元整"),
        ("105", "壹佰零伍元整"),
        ("1005", "壹仟零伍元整"),
        ("1010", "壹仟零壹拾元整"),
        ("10000", "壹万元整"),
        ("10010", "壹万零壹拾元整"),
        ("11000", "壹万壹仟元整"),
        ("100100", "壹拾万零壹佰元整"),
        ("1000000", "壹佰万元整"),
        ("100000001", "壹亿零壹元整"),
        ("100010000", "壹亿零壹万元整"),
        ("165.50", "壹佰陆拾伍元伍角"),
        ("330.05", "叁佰叁拾元零伍分"),
        ("1.23", "壹元贰角叁分"),
        ("0.50", "伍角"),
        ("0.05", "伍分"),
        ("-50", "负伍拾元整"),
    ],
)
def test_rmb_capitals(amount, capitals):
    assert rmb_capitals(Decimal(amount)) == capitals


DIGIT_VALUES = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}


def _read_back(text: str) -> int:
    """Parse the capitals back into fen (the inverse, for the property below)."""
    places = {"拾": 10, "佰": 100, "仟": 1000}
    total, section, digit = 0, 0, 0
    fen = 0
    text = text.removesuffix("整")
    for char in text:
        if char in DIGIT_VALUES:
            digit = DIGIT_VALUES[char]
        elif char in places:
            section += digit * places[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
        elif char == "元":
            total += section + digit
            section = digit = 0
        elif char == "角":
            fen += digit * 10
            digit = 0
        elif char == "分":
            fen += digit
            digit = 0
    return total * 100 + fen


@given(st.integers(min_value=1, max_value=999_999_999_99))
def test_rmb_capitals_reads_back_and_never_doubles_a_zero(cents):
    text = rmb_capitals(Decimal(cents) / 100)
    assert "零零" not in text
    assert not text.startswith("零")
    assert _read_back(text) == cents


@pytest.mark.parametrize(
    ("code", "number"),
    [
        ("3300251130", "00000001"),  # 10-digit code (special VAT invoice)
        ("033002500111", "12345678"),  # 12-digit code (ordinary / electronic invoice)
        ("", "25332000000123456789"),  # 数电票: 20 digits, no code
        (" 3300 251130 ", "0000 0001"),  # blanks typed in are dropped
    ],
)
def test_invoice_formats_accepted(code, number):
    clean_code, clean_number = validate_invoice(code, number)
    assert clean_code.isdigit() or clean_code == ""
    assert " " not in clean_code + clean_number


@pytest.mark.parametrize(
    ("code", "number", "field", "error_code"),
    [
        ("", "00000001", "invoice_code", "invoice_code_required"),
        ("3300251130", "25332000000123456789", "invoice_code", "invoice_code_unexpected"),
        ("33002511", "00000001", "invoice_code", "invoice_code_format"),
        ("33002511301", "00000001", "invoice_code", "invoice_code_format"),
        ("330025113A", "00000001", "invoice_code", "invoice_code_format"),
        ("3300251130", "0000001", "invoice_number", "invoice_number_format"),
        ("3300251130", "000000012", "invoice_number", "invoice_number_format"),
        ("", "2533200000012345678", "invoice_number", "invoice_number_format"),
        ("", "2533200000012345678X", "invoice_number", "invoice_number_format"),
        ("", "", "invoice_number", "required"),
    ],
)
def test_invoice_formats_refused_with_a_clear_message(code, number, field, error_code):
    with pytest.raises(ValidationError) as caught:
        validate_invoice(code, number)
    errors = caught.value.error_dict
    assert field in errors
    assert errors[field][0].code == error_code
    assert errors[field][0].messages[0]
