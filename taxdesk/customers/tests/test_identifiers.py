"""Taxpayer numbers (统一社会信用代码 and the older formats) and phone numbers."""

from __future__ import annotations

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from taxdesk.customers.identifiers import (
    normalize_landline,
    normalize_mobile,
    normalize_number,
    validate_taxpayer_number,
)
from taxdesk.testing.customers import credit_code, wrong_check


def refusal(value: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_taxpayer_number(value)
    return caught.value


def english(error: ValidationError) -> str:
    with translation.override("en"):
        return " ".join(error.messages)


# --------------------------------------------------------------------------- credit codes
@pytest.mark.parametrize("n", [1, 42, 9_999_999])
def test_real_format_credit_codes_are_accepted(n):
    code = credit_code(n)
    assert len(code) == 18 and uscc.is_valid(code)
    validate_taxpayer_number(code)  # no error


def test_published_example_is_accepted():
    validate_taxpayer_number("91110000600037341L")


def test_spaces_and_lowercase_are_normalised_before_checking():
    code = credit_code(7)
    typed = f" {code[:6].lower()} {code[6:12]}\t{code[12:].lower()} "
    validate_taxpayer_number(typed)
    assert normalize_number(typed) == code


@pytest.mark.parametrize("n", [1, 2, 3, 500])
def test_wrong_check_character_names_the_expected_one(n):
    code = credit_code(n)
    error = refusal(wrong_check(code))
    assert error.code == "bad_check"
    assert english(error) == (f"The 18th character (the check character) should be {code[17]}.")


def test_wrong_check_character_message_is_translated():
    code = credit_code(3)
    error = refusal(wrong_check(code))
    with translation.override("zh-hans"):
        text = " ".join(error.messages)
    assert code[17] in text


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_letters_a_credit_code_never_uses_are_refused(letter):
    body = f"91330100M{letter}0000001"
    error = refusal(body + "0")
    assert error.code == "bad_alphabet"
    assert "I, O, S, V and Z" in english(error)


def test_letters_in_the_first_eight_characters_are_refused_even_with_a_right_check():
    body = "9133010A" + "MA0000001"
    code = body + uscc.calc_check_digit(body)
    error = refusal(code)
    assert error.code == "invalid"


# --------------------------------------------------------------------------- older numbers
@pytest.mark.parametrize(
    "number",
    [
        "330106123456789",  # 15: the old tax registration number
        "33010612345678X",
        "3301061234567890A",  # 17
        "33010619800101123X00",  # 20: an individual's ID number and two digits
    ],
)
def test_older_numbers_are_accepted_by_their_format(number):
    validate_taxpayer_number(number)


@pytest.mark.parametrize(
    "number, code",
    [
        ("33010612345678-", "bad_alphabet"),
        ("3301061234567_90A", "bad_alphabet"),
        ("3301061980010112.X00", "bad_alphabet"),
        ("3301061980010112 X00", "bad_length"),  # spaces go first: 19 characters left
    ],
)
def test_older_numbers_with_other_characters_are_refused(number, code):
    assert refusal(number).code == code


@pytest.mark.parametrize("length", [1, 10, 14, 16, 19, 21, 30])
def test_other_lengths_are_refused_with_the_length(length):
    error = refusal("1" * length)
    assert error.code == "bad_length"
    assert english(error).endswith(f"this one has {length}.")


def test_an_empty_number_is_refused():
    assert refusal("").code == "bad_length"


# --------------------------------------------------------------------------- phones
@pytest.mark.parametrize(
    "typed",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678"],
)
def test_mobile_numbers_are_kept_as_eleven_digits(typed):
    assert normalize_mobile(typed) == "13812345678"


@pytest.mark.parametrize(
    "typed", ["1381234567", "138123456789", "23812345678", "0571-87654321", "abc", ""]
)
def test_not_a_mobile_number_is_refused(typed):
    with pytest.raises(ValidationError) as caught:
        normalize_mobile(typed)
    assert caught.value.code == "bad_mobile"


@pytest.mark.parametrize(
    "typed, kept",
    [
        ("0571-87654321", "0571 8765 4321"),
        ("(0571) 8765 4321", "0571 8765 4321"),
        ("010-12345678", "010 1234 5678"),
        ("", ""),
    ],
)
def test_landlines_are_kept_in_the_national_format(typed, kept):
    assert normalize_landline(typed) == kept


@pytest.mark.parametrize("typed", ["12345", "0571-123", "电话"])
def test_not_a_phone_number_is_refused(typed):
    with pytest.raises(ValidationError) as caught:
        normalize_landline(typed)
    assert caught.value.code == "bad_phone"


def _phonenumbers_verdict(raw: str) -> str | None:
    """What phonenumbers alone says of a typed mobile: its 11 digits, or None."""
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return None
    if (
        parsed.country_code == 86
        and phonenumbers.is_valid_number(parsed)
        and phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
    ):
        return str(parsed.national_number)
    return None


@given(st.from_regex(r"\A1[0-9]{10}\Z") | st.from_regex(r"\A[0-9]{11}\Z"))
@settings(max_examples=3000, deadline=None)
def test_the_quick_mobile_check_agrees_with_phonenumbers(typed):
    """11 typed digits skip phonenumbers' parser; the verdict must be the same."""
    expected = _phonenumbers_verdict(typed)
    try:
        kept = normalize_mobile(typed)
    except ValidationError:
        kept = None
    assert kept == expected


def test_the_quick_mobile_check_agrees_on_every_prefix():
    for prefix in range(1000, 2000):
        for tail in ("0000000", "5555555", "9999999"):
            typed = f"{prefix}{tail}"
            expected = _phonenumbers_verdict(typed)
            try:
                kept = normalize_mobile(typed)
            except ValidationError:
                kept = None
            assert kept == expected, typed
