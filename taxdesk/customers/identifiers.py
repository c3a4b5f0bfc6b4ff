"""Taxpayer identification numbers (纳税人识别号) and phone numbers.

Today's number is the 18-character 统一社会信用代码 (GB 32100-2015) whose last character is a
check character, validated with ``stdnum.cn.uscc``. Older numbers of 15, 17 or 20 characters
(digits and capital letters) are accepted by their format.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc

_USCC_ALPHABET = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{18}$")  # no I, O, S, V, Z
_LEGACY = re.compile(r"^[0-9A-Z]+$")


def normalize_number(value: str) -> str:
    return re.sub(r"\s+", "", value or "").upper()


def validate_taxpayer_number(value: str) -> None:
    number = normalize_number(value)
    if len(number) == 18:
        if not _USCC_ALPHABET.match(number):
            raise ValidationError(
                _(
                    "A unified social credit code has digits and capital letters other than "
                    "I, O, S, V and Z."
                ),
                code="bad_alphabet",
            )
        expected = uscc.calc_check_digit(number[:17])
        if number[17] != expected:
            raise ValidationError(
                _("The 18th character (the check character) should be %(expected)s."),
                code="bad_check",
                params={"expected": expected},
            )
        if not number[:8].isdigit():
            # What uscc.validate checks beyond the alphabet and the check character: the
            # registering authority, the kind of entity and the region code are digits.
            raise ValidationError(
                _("This is not a valid unified social credit code."), code="invalid"
            )
        return
    if len(number) in (15, 17, 20):
        if not _LEGACY.match(number):
            raise ValidationError(
                _("An older taxpayer number has only digits and capital letters."),
                code="bad_alphabet",
            )
        return
    raise ValidationError(
        _(
            "A taxpayer number has 18 characters (older ones 15, 17 or 20); this one has "
            "%(length)s."
        ),
        code="bad_length",
        params={"length": len(number)},
    )


@functools.cache
def _mainland_mobile() -> re.Pattern:
    """phonenumbers' own pattern of China's mobile numbers (its metadata, compiled once)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    return re.compile(metadata.mobile.national_number_pattern)


def normalize_mobile(value: str) -> str:
    """A mainland mobile number as 11 digits; ValidationError if it is not one."""
    raw = (value or "").strip()
    if len(raw) == 11 and raw.isascii() and raw.isdigit() and _mainland_mobile().fullmatch(raw):
        # The common case, typed as 11 digits: the same pattern phonenumbers checks a
        # mobile against (11 digits starting with 1 match no fixed-line pattern of China),
        # without parsing; anything else goes through phonenumbers below.
        return raw
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        parsed = None
    if (
        parsed is None
        or parsed.country_code != 86
        or not phonenumbers.is_valid_number(parsed)
        or phonenumbers.number_type(parsed) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise ValidationError(
            _("“%(value)s” is not a mainland China mobile number (11 digits, 1xx…)."),
            code="bad_mobile",
            params={"value": raw},
        )
    return str(parsed.national_number)


def normalize_landline(value: str) -> str:
    raw = (value or "").strip()
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("“%(value)s” is not a valid telephone number (e.g. 0571-87654321)."),
            code="bad_phone",
            params={"value": raw},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
