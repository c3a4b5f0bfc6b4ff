"""Serial numbers: each type's format, and messages that say the format."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from taxdesk.devices.actions import normalise_serial
from taxdesk.devices.choices import DeviceType
from taxdesk.devices.models import Device, validate_serial

GOOD = {
    DeviceType.GOLDEN_TAX_DISK: ["661234567890", "000000000000"],
    DeviceType.TAX_CONTROL_DISK: ["499912345678"],
    DeviceType.REPORTING_DISK: ["881234567890"],
    DeviceType.UKEY: ["537100000001", "A1B2C3D4E5F6", "0123456789ABCDEFGHJK"],
}
BAD = {
    DeviceType.GOLDEN_TAX_DISK: [
        "66123456789",
        "6612345678901",
        "66123456789A",
        "",
        "6612 3456789",
    ],
    DeviceType.TAX_CONTROL_DISK: ["49991234567X", "4999-1234567"],
    DeviceType.REPORTING_DISK: ["88123456789"],
    DeviceType.UKEY: ["53710000001", "0123456789ABCDEFGHJKL", "a1b2c3d4e5f6", "A1B2C3D4E5F-"],
}


@pytest.mark.parametrize(
    ("device_type", "serial"), [(t, s) for t, serials in GOOD.items() for s in serials]
)
def test_good_serials_pass(device_type, serial):
    validate_serial(device_type, serial)


@pytest.mark.parametrize(
    ("device_type", "serial"), [(t, s) for t, serials in BAD.items() for s in serials]
)
def test_bad_serials_are_refused_with_the_format(device_type, serial):
    with translation.override("en"):
        with pytest.raises(ValidationError) as excinfo:
            validate_serial(device_type, serial)
        message = excinfo.value.messages[0]  # a lazy message: read in English
        label = str(DeviceType(device_type).label)
    assert excinfo.value.code == "bad_serial"
    described = "12 digits" if device_type != DeviceType.UKEY else "12 to 20 digits or capital"
    assert described in message
    assert label in message
    assert f"“{serial}”" in message


def test_messages_speak_chinese_by_default():
    with pytest.raises(ValidationError) as excinfo:
        validate_serial(DeviceType.GOLDEN_TAX_DISK, "123")
    message = excinfo.value.messages[0]
    assert "“123”" in message
    assert re.search(r"[\u4e00-\u9fff]", message), message


@pytest.mark.parametrize(
    "serial",
    [
        "６６１２３４５６７８９０",  # full-width digits: \d would have taken them
        "٦٦١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits
        "661234567890\n",  # $ would have let a trailing newline through
    ],
)
def test_only_ascii_digits_whole_serial(serial):
    with pytest.raises(ValidationError):
        validate_serial(DeviceType.GOLDEN_TAX_DISK, serial)


def test_typed_serials_are_normalised_before_checking():
    assert normalise_serial(" ６６１２ ３４５６ ７８９０ ") == "661234567890"
    assert normalise_serial("a1b2c3d4e5f6\r") == "A1B2C3D4E5F6"
    assert normalise_serial(None) == ""
    assert normalise_serial(661234567890) == "661234567890"


def test_device_clean_names_the_serial_field():
    device = Device(device_type=DeviceType.REPORTING_DISK, serial="12")
    with pytest.raises(ValidationError) as excinfo:
        device.clean()
    assert excinfo.value.error_dict["serial"][0].code == "bad_serial"
