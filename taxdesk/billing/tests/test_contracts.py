"""Service contracts (《发票税控系统技术服务合同》): numbers, fees, signature or refusal
(INS-07), renewals, the contracts ending soon, and the printable PDF."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from taxdesk.billing.actions import (
    create_contract,
    record_refusal,
    renew_contract,
    sign_contract,
)
from taxdesk.billing.choices import ContractState
from taxdesk.billing.models import ServiceContract
from taxdesk.billing.pdf import contract_pdf
from taxdesk.billing.queries import contracts_ending
from taxdesk.testing.billing import items_2012, make_schedule, signed_contract

D = Decimal


def refused(call, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value


def code_of(error: ValidationError, field: str | None = None) -> str:
    return error.code if field is None else error.error_dict[field][0].code


@pytest.fixture
def fees(cast):
    make_schedule(
        cast.unit_a,
        valid_from=date(2012, 1, 1),
        valid_to=date(2017, 6, 30),
        items=items_2012(),
    )
    make_schedule(cast.unit_a, valid_from=date(2017, 7, 1))
    make_schedule(cast.unit_b, valid_from=date(2017, 7, 1))


def test_a_new_contract_is_a_numbered_draft_for_one_year(cast, fees):
    first = create_contract(taxpayer=cast.pa1, starts_on=date(2025, 3, 1), by=cast.sales_a)
    second = create_contract(taxpayer=cast.pa2, starts_on=date(2025, 3, 1), by=cast.sales_a)
    other_unit = create_contract(taxpayer=cast.pb1, starts_on=date(2025, 3, 1), by=cast.admin_b)
    assert (first.number, second.number) == ("HT-UA-2025-00001", "HT-UA-2025-00002")
    assert other_unit.number == "HT-UB-2025-00001"
    assert (first.state, first.starts_on, first.ends_on) == (
        ContractState.DRAFT,
        date(2025, 3, 1),
        date(2026, 2, 28),
    )
    assert first.service_unit == cast.unit_a
    assert first.annual_fee == D("280.00")  # the approved fee in force on the first day


def test_the_fee_defaults_to_the_standard_in_force_and_never_exceeds_it(cast, fees):
    old = create_contract(taxpayer=cast.pa1, starts_on=date(2016, 1, 1), by=cast.sales_a)
    assert old.annual_fee == D("330.00")
    error = refused(
        create_contract,
        taxpayer=cast.pa2,
        starts_on=date(2025, 1, 1),
        annual_fee=D("281"),
        by=cast.sales_a,
    )
    assert code_of(error, "annual_fee") == "above_standard"
    lower = create_contract(
        taxpayer=cast.pa2, starts_on=date(2025, 1, 1), annual_fee=D("250"), by=cast.sales_a
    )
    assert lower.annual_fee == D("250.00")
    error = refused(create_contract, taxpayer=cast.pc1, starts_on=date(2025, 1, 1), by=cast.root)
    assert code_of(error, "starts_on") == "no_schedule"


def test_period_checks(cast, fees):
    error = refused(
        create_contract,
        taxpayer=cast.pa1,
        starts_on=date(2025, 1, 1),
        ends_on=date(2025, 1, 1),
        by=cast.sales_a,
    )
    assert code_of(error, "ends_on") == "period"
    error = refused(
        create_contract,
        taxpayer=cast.pa1,
        starts_on=date(2025, 1, 1),
        ends_on=date(2031, 1, 1),
        by=cast.sales_a,
    )
    assert code_of(error, "ends_on") == "period"


def test_contracts_of_a_taxpayer_do_not_overlap_unless_refused(cast, fees):
    first = create_contract(taxpayer=cast.pa1, starts_on=date(2025, 1, 1), by=cast.sales_a)
    error = refused(create_contract, taxpayer=cast.pa1, starts_on=date(2025, 6, 1), by=cast.sales_a)
    assert code_of(error, "starts_on") == "contract_overlap"
    assert first.number in error.error_dict["starts_on"][0].messages[0]
    record_refusal(first, refused_on=date(2025, 1, 2), note="不需要", by=cast.sales_a)
    create_contract(taxpayer=cast.pa1, starts_on=date(2025, 6, 1), by=cast.sales_a)


@pytest.mark.rule("INS-07")
def test_ins_07_sign_once(cast, fees):
    contract = create_contract(taxpayer=cast.pa1, starts_on=date(2025, 1, 1), by=cast.sales_a)
    signed = sign_contract(contract, signed_on=date(2025, 1, 3), by=cast.sales_a)
    assert (signed.state, signed.signed_on) == (ContractState.SIGNED, date(2025, 1, 3))
    error = refused(sign_contract, contract, signed_on=date(2025, 1, 4), by=cast.sales_a)
    assert error.code == "not_draft"
    error = refused(
        record_refusal, contract, refused_on=date(2025, 1, 4), note="x", by=cast.sales_a
    )
    assert error.code == "not_draft"


@pytest.mark.rule("INS-07")
def test_ins_07_refusal_is_recorded_with_date_and_what_was_said(cast, fees):
    contract = create_contract(taxpayer=cast.pa1, starts_on=date(2025, 1, 1), by=cast.sales_a)
    error = refused(
        record_refusal, contract, refused_on=date(2025, 1, 2), note=" ", by=cast.sales_a
    )
    assert code_of(error, "note") == "note_required"
    contract = record_refusal(
        contract, refused_on=date(2025, 1, 2), note="用户认为无需维护", by=cast.sales_a
    )
    assert (contract.state, contract.refused_on, contract.refusal_note) == (
        ContractState.REFUSED,
        date(2025, 1, 2),
        "用户认为无需维护",
    )
    error = refused(sign_contract, contract, signed_on=date(2025, 1, 3), by=cast.sales_a)
    assert error.code == "not_draft"


def test_signature_dates_are_checked(cast, fees):
    contract = create_contract(taxpayer=cast.pa1, starts_on=date(2024, 1, 1), by=cast.sales_a)
    error = refused(sign_contract, contract, signed_on=date(2025, 1, 1), by=cast.sales_a)
    assert code_of(error, "signed_on") == "signed_after_end"
    tomorrow = timezone.localdate() + timedelta(days=1)
    error = refused(sign_contract, contract, signed_on=tomorrow, by=cast.sales_a)
    assert code_of(error, "signed_on") == "future"
    contract.refresh_from_db()
    assert contract.state == ContractState.DRAFT


def test_a_stale_copy_cannot_sign_a_refused_contract(cast, fees):
    contract = create_contract(taxpayer=cast.pa1, starts_on=date(2025, 1, 1), by=cast.sales_a)
    stale = ServiceContract.objects.get(pk=contract.pk)
    record_refusal(contract, refused_on=date(2025, 1, 2), note="拒签", by=cast.admin_a)
    error = refused(sign_contract, stale, signed_on=date(2025, 1, 3), by=cast.sales_a)
    assert error.code == "not_draft"
    contract.refresh_from_db()
    assert contract.state == ContractState.REFUSED


def test_renew_starts_the_day_after_at_the_fee_in_force_then(cast, fees):
    old = signed_contract(cast.pa1, starts_on=date(2016, 7, 1), by=cast.sales_a)
    assert old.annual_fee == D("330.00")
    renewal = renew_contract(old, by=cast.sales_a, years=2)
    assert renewal.renewal_of == old
    assert (renewal.starts_on, renewal.ends_on) == (date(2017, 7, 1), date(2019, 6, 30))
    assert renewal.annual_fee == D("280.00")
    assert renewal.state == ContractState.DRAFT
    error = refused(renew_contract, old, by=cast.sales_a)
    assert error.code == "already_renewed"
    error = refused(renew_contract, renewal, by=cast.sales_a)
    assert error.code == "not_signed"
    draft = create_contract(taxpayer=cast.pa2, starts_on=date(2025, 1, 1), by=cast.sales_a)
    assert refused(renew_contract, draft, by=cast.sales_a).code == "not_signed"


def test_who_may_write_contracts(cast, fees):
    for user in (cast.technician_a, cast.supervisor_x, cast.tax_a, cast.admin_b):
        error = refused(create_contract, taxpayer=cast.pa1, starts_on=date(2025, 1, 1), by=user)
        assert error.code == "forbidden"
    contract = create_contract(taxpayer=cast.pa1, starts_on=date(2025, 1, 1), by=cast.sales_a)
    for user in (cast.technician_a, cast.supervisor_x, cast.tax_a, cast.admin_b):
        assert refused(sign_contract, contract, signed_on=date(2025, 1, 2), by=user).code == (
            "forbidden"
        )


def test_contracts_ending_in_the_next_days(cast, fees):
    today = date(2025, 12, 1)
    ending = signed_contract(cast.pa1, starts_on=date(2025, 1, 1))  # ends 2025-12-31
    later = signed_contract(cast.pb1, starts_on=date(2025, 3, 1))  # ends 2026-02-28
    signed_contract(cast.pa2, starts_on=date(2024, 1, 1))  # ended 2024-12-31
    draft = create_contract(taxpayer=cast.pa2, starts_on=date(2025, 1, 1), by=cast.sales_a)
    assert draft.ends_on == date(2025, 12, 31)  # a draft is not "ending": never signed
    everything = ServiceContract.objects.all()
    assert list(contracts_ending(everything, 30, today)) == [ending]
    assert list(contracts_ending(everything, 29, today)) == []
    assert list(contracts_ending(everything, 90, today)) == [ending, later]
    assert list(contracts_ending(everything, 0, date(2025, 12, 31))) == [ending]
    unit_a = ServiceContract.objects.restrict(cast.admin_a)
    assert list(contracts_ending(unit_a, 90, today)) == [ending]


def test_contracts_ending_uses_the_index(cast, fees):
    """With a realistic spread of contracts (and statistics), the ending list of one unit is
    a range scan of contract_ending_idx (service_unit, state, ends_on)."""
    from django.db.models import QuerySet

    states = [ContractState.SIGNED, ContractState.DRAFT, ContractState.REFUSED]
    rows = [
        ServiceContract(
            service_unit=unit,
            taxpayer=taxpayer,
            number=f"HT-BULK-{unit.code}-{n:05d}",
            starts_on=date(2015, 1, 1) + timedelta(days=n),
            ends_on=date(2016, 1, 1) + timedelta(days=n),
            annual_fee=D("280"),
            state=states[n % 3],
        )
        for unit, taxpayer in ((cast.unit_a, cast.pa1), (cast.unit_b, cast.pb1))
        for n in range(1500)
    ]
    QuerySet(ServiceContract).bulk_create(rows)  # test data only: no audit entries needed
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    queryset = contracts_ending(
        ServiceContract.objects.restrict(cast.admin_a), 30, date(2019, 6, 1)
    )
    assert queryset.count() == 10  # every third of the 31 days
    assert "contract_ending_idx" in queryset.explain()


# --------------------------------------------------------------------------------- PDF
def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "contract.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


def test_contract_pdf_in_chinese(cast, fees, tmp_path):
    cast.unit_a.address = "杭州市西湖区文三路1号"
    cast.unit_a.hotline = "400-800-1234"
    cast.unit_a.save()
    contract = signed_contract(cast.pa1, starts_on=date(2025, 1, 1), signed_on=date(2025, 1, 3))
    contract = ServiceContract.objects.select_related("taxpayer", "service_unit").get(
        pk=contract.pk
    )
    data = contract_pdf(contract)
    assert data.startswith(b"%PDF")
    assert b"STSong-Light" in data  # the built-in CID font, no font file
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = pdf_text(data, tmp_path)
    for expected in (
        "发票税控系统技术服务合同",
        contract.number,
        cast.pa1.name,
        cast.pa1.number,
        "服务单位A",
        "杭州市西湖区文三路1号",
        "400-800-1234",
        "2025年1月1日",
        "2025年12月31日",
        "280.00",
        "贰佰捌拾元整",
        "1 小时内",
        "1 个工作日内",
        "每年至少",
        "正式发票",
        "2025年1月3日",  # signed
    ):
        assert expected in text, expected
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "contract.pdf")], capture_output=True, check=True
    )
    assert b"A4" in info.stdout
    assert b"Pages:           1" in info.stdout


def test_a_refused_contract_prints_the_refusal(cast, fees, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    contract = create_contract(taxpayer=cast.pa1, starts_on=date(2025, 1, 1), by=cast.sales_a)
    contract = record_refusal(
        contract, refused_on=date(2025, 1, 2), note="用户暂不需要", by=cast.sales_a
    )
    text = pdf_text(contract_pdf(contract), tmp_path)
    assert "拒绝签订" in text and "用户暂不需要" in text
