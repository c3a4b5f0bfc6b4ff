"""Serial numbers: each type's format, and messages that say the format."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from taxdesk.devices.actions import receive_stock
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device, validate_serial
from taxdesk.devices.serials import normalise_serial, split_serials
from taxdesk.imports.actions import create_job, start_import
from taxdesk.sales.actions import sell_devices
from taxdesk.sales.models import Sale
from taxdesk.testing.imports import devices_upload, imports_inline  # noqa: F401  (fixture)

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


# --------------------------------------------------------------------------- one reading
@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("６６１２３４５６７８９０", "661234567890"),  # full-width digits
        ("6612 3456 7890", "661234567890"),  # spaces inside
        ("6612\u30003456\u00a07890\t", "661234567890"),  # ideographic and no-break spaces
        ("6612-3456-7890", "661234567890"),  # ASCII dashes
        ("6612－3456－7890", "661234567890"),  # full-width hyphen-minus
        ("6612—3456–7890", "661234567890"),  # em and en dashes
        ("6612‐3456‑7890―", "661234567890"),  # hyphen, non-breaking hyphen, bar
        ("6612−3456﹣7890", "661234567890"),  # minus sign, small hyphen-minus
        ("\ufeff6612\u200b34567890", "661234567890"),  # a BOM and a zero-width space
        ("a1b2c3d4e5f6", "A1B2C3D4E5F6"),  # a UKey typed in lower case
        ("ａ１ｂ２-ｃ３ｄ４ ｅ５ｆ６", "A1B2C3D4E5F6"),  # … and in full-width letters
        ("  661234567890\r\n", "661234567890"),
        ("", ""),
        (None, ""),
        (661234567890, "661234567890"),  # a spreadsheet's number cell
    ],
)
def test_normalise_serial_reads_a_serial_as_typed(typed, stored):
    assert normalise_serial(typed) == stored


def test_actions_and_the_serials_module_share_one_function():
    from taxdesk.devices import actions, serials

    assert actions.normalise_serial is serials.normalise_serial


@pytest.mark.parametrize(
    ("text", "serials"),
    [
        ("661234567890", ["661234567890"]),
        ("1234 5678 9012", ["123456789012"]),  # spaces never separate serials
        ("1234-5678-9012\n8812 3456 7890", ["123456789012", "881234567890"]),
        ("661234567890,881234567890", ["661234567890", "881234567890"]),
        (
            "661234567890, 881234567890; a1b2c3d4e5f6",
            ["661234567890", "881234567890", "A1B2C3D4E5F6"],
        ),
        ("６６１２３４５６７８９０，８８１２３４５６７８９０", ["661234567890", "881234567890"]),
        (
            "661234567890；881234567890、a1b2c3d4e5f6",
            ["661234567890", "881234567890", "A1B2C3D4E5F6"],
        ),
        ("661234567890,,\n\n881234567890,", ["661234567890", "", "881234567890"]),
        ("661234567890\r\n\r\n881234567890\r\n", ["661234567890", "", "881234567890"]),
        ("", []),
        (None, []),
    ],
)
def test_split_serials_one_per_line_or_separated_by_commas(text, serials):
    assert split_serials(text) == serials


# --------------------------------------------------------------------------- every path
# ga_stock1 = 661100000001 and ga_stock2 = 661100000002, in unit A's stock (testing/devices.py)
FULL_WIDTH_1 = "６６１１ ００００ ０００１"
SPACED_2 = "6611 0000 0002"
DASHED_2 = "6611-0000－0002"


def sale_page(client, taxpayer, serials: str):
    return client.post(
        f"/sales/new/{taxpayer.pk}/",
        {
            "serials": serials,
            "sold_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "remarks": "",
        },
    )


def sold_serials(sale) -> list[str]:
    return sorted(sale.lines.values_list("device__serial", flat=True))


def test_the_sale_form_sells_a_serial_typed_in_full_width(fleet, schedules, client_for):
    response = sale_page(client_for(fleet.sales_a), fleet.pa1, FULL_WIDTH_1)
    sale = Sale.objects.get()
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert sold_serials(sale) == ["661100000001"]
    assert fleet.fresh("ga_stock1").status == DeviceStatus.SOLD


def test_the_sale_form_reads_a_spaced_serial_as_one_device(fleet, schedules, client_for):
    response = sale_page(client_for(fleet.sales_a), fleet.pa1, SPACED_2)
    assert response.status_code == 302
    assert sold_serials(Sale.objects.get()) == ["661100000002"]
    assert fleet.fresh("ga_stock1").status == DeviceStatus.IN_STOCK


def test_the_sale_form_takes_several_serials_on_a_line(fleet, schedules, client_for):
    response = sale_page(client_for(fleet.sales_a), fleet.pa1, f"{FULL_WIDTH_1}，{DASHED_2}\n")
    assert response.status_code == 302
    assert sold_serials(Sale.objects.get()) == ["661100000001", "661100000002"]


def test_the_sale_form_names_a_bad_line_by_its_number(fleet, schedules, client_for):
    client = client_for(fleet.sales_a)
    client.cookies["django_language"] = "en"
    response = sale_page(client, fleet.pa1, f"{FULL_WIDTH_1}\n\n6613-0000-0001\n")
    assert response.status_code == 400
    # Unit C's device is not in this unit's stock; the blank line 2 is counted.
    assert response.context["form"].errors["serials"] == [
        "Line 3: 661300000001 is not in this unit's stock."
    ]
    assert not Sale.objects.exists()


def test_the_sale_api_reads_serials_as_typed(fleet, schedules, client_for):
    response = client_for(fleet.sales_a).post(
        "/api/sales/",
        {
            "taxpayer": fleet.pa1.pk,
            "serials": [FULL_WIDTH_1, DASHED_2],
            "sold_at": timezone.now().isoformat(),
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert sorted(line["serial"] for line in response.json()["lines"]) == [
        "661100000001",
        "661100000002",
    ]


def test_the_sale_action_refuses_one_device_named_twice_in_two_spellings(fleet, schedules):
    with pytest.raises(ValidationError) as excinfo:
        sell_devices(
            taxpayer=fleet.pa1,
            serials=[FULL_WIDTH_1, "661100000001"],
            sold_at=timezone.now(),
            by=fleet.sales_a,
        )
    assert excinfo.value.error_dict["serials"][0].code == "duplicate"


RECEIVED = {
    "TYPED": ["６６１９ ００００ ０００１", "6619-0000-0002", "6619—0000—0003"],
    "STORED": ["661900000001", "661900000002", "661900000003"],
}


def batch_serials(note: str) -> list[str]:
    return sorted(Device.objects.filter(batch__delivery_note=note).values_list("serial", flat=True))


def test_stock_receipt_action_stores_serials_normalised(fleet):
    receive_stock(
        service_unit=fleet.unit_a,
        device_type=DeviceType.GOLDEN_TAX_DISK,
        delivery_note="CK-TYPED",
        received_on=timezone.localdate(),
        serials=RECEIVED["TYPED"],
        by=fleet.admin_a,
    )
    assert batch_serials("CK-TYPED") == RECEIVED["STORED"]


def test_stock_receipt_action_refuses_a_registered_serial_in_another_spelling(fleet):
    with pytest.raises(ValidationError) as excinfo:
        receive_stock(
            service_unit=fleet.unit_a,
            device_type=DeviceType.GOLDEN_TAX_DISK,
            delivery_note="CK-AGAIN",
            received_on=timezone.localdate(),
            serials=[FULL_WIDTH_1],
            by=fleet.admin_a,
        )
    assert excinfo.value.error_dict["serials"][0].code == "duplicate_serial"


def test_stock_receipt_page_splits_lines_and_commas_not_spaces(fleet, client_for):
    response = client_for(fleet.sales_a).post(
        "/devices/batches/receive/",
        {
            "device_type": DeviceType.UKEY,
            "delivery_note": "CK-PASTE",
            "received_on": timezone.localdate().isoformat(),
            "serials": (
                "ukey 0000 0001，ukey-0000-0002\r\n\r\nＵＫＥＹ０００００００３; ukey00000004\r\n"
            ),
        },
    )
    assert response.status_code == 302
    assert batch_serials("CK-PASTE") == [
        "UKEY00000001",
        "UKEY00000002",
        "UKEY00000003",
        "UKEY00000004",
    ]


def test_stock_receipt_api_stores_serials_normalised(fleet, client_for):
    response = client_for(fleet.admin_a).post(
        "/api/stock-batches/",
        {
            "device_type": "golden_tax_disk",
            "delivery_note": "CK-API-TYPED",
            "received_on": timezone.localdate().isoformat(),
            "serials": RECEIVED["TYPED"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["devices"] == 3
    assert batch_serials("CK-API-TYPED") == RECEIVED["STORED"]


@pytest.mark.usefixtures("imports_inline")
def test_the_import_stores_serials_normalised(cast):
    rows = [
        {
            "device_type": "金税盘",
            "serial": typed,
            "delivery_note": "CK-X",
            "received_on": "2025-09-01",
        }
        for typed in RECEIVED["TYPED"]
    ] + [
        {
            "device_type": "税务UKey",
            "serial": "ｕｋｅｙ 0000－0009",
            "delivery_note": "CK-Y",
            "received_on": "2025-09-01",
        },
    ]
    job = create_job(kind="devices", file=devices_upload(rows), by=cast.admin_a)
    job.refresh_from_db()
    assert (job.state, job.valid_rows, job.error_count) == ("validated", 4, 0), job.errors
    start_import(job, by=cast.admin_a)
    job.refresh_from_db()
    assert (job.state, job.created_count) == ("done", 4)
    assert batch_serials("CK-X") == RECEIVED["STORED"]
    assert batch_serials("CK-Y") == ["UKEY00000009"]


@pytest.mark.usefixtures("imports_inline")
def test_the_import_sees_a_serial_repeated_in_another_spelling(cast):
    rows = [
        {
            "device_type": "金税盘",
            "serial": typed,
            "delivery_note": "CK-X",
            "received_on": "2025-09-01",
        }
        for typed in ("661900000001", "６６１９-００００-０００１")
    ]
    job = create_job(kind="devices", file=devices_upload(rows), by=cast.admin_a)
    job.refresh_from_db()
    assert [(e["row"], e["code"]) for e in job.errors] == [(3, "duplicate_in_file")]


@pytest.mark.parametrize("typed", [FULL_WIDTH_1, "6611-0000-0001", "６６１１－００００－０００１"])
def test_the_device_api_filter_finds_a_serial_as_typed(fleet, client_for, typed):
    response = client_for(fleet.sales_a).get("/api/devices/", {"q": typed})
    assert [row["serial"] for row in response.json()["results"]] == ["661100000001"]


def test_the_device_list_page_finds_a_serial_as_typed(fleet, client_for):
    response = client_for(fleet.sales_a).get("/devices/", {"q": "６６１１ ００００ ０００１"})
    assert [d.serial for d in response.context["rows"]] == ["661100000001"]


def test_the_pair_form_reads_the_serial_as_typed(fleet, client_for):
    client = client_for(fleet.sales_a)
    response = client.post(
        f"/devices/{fleet.rep_stock.pk}/pair/", {"serial": "６６１１-００００ ０００１"}
    )
    assert response.status_code == 302
    assert fleet.fresh("rep_stock").paired_with_id == fleet.ga_stock1.pk
