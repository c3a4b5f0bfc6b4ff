"""The application form's contacts (INS-05) as each member of the cast sees them: phone numbers
in full for the unit's staff, the taxpayer's own user and the platform administrator; masked
for the supervision and tax officers on the sale page, in the sales API and in the printed
PDF, the whole number never reaching them (core.privacy, docs/decisions/0008).
"""

from __future__ import annotations

import re

import pytest

from taxdesk.customers.actions import add_contact
from taxdesk.sales.actions import sell_devices
from taxdesk.sales.pdf import application_form_pdf
from taxdesk.testing.cast import EXPECTED_VIEW, SEES_FULL_PHONES
from taxdesk.testing.pdf import pdf_text

from .test_sales import SOLD_AT, shop  # noqa: F401  (the fixture)

CAST = sorted(EXPECTED_VIEW)
MOBILE, LANDLINE = "13812345678", "0571 8765 4321"
MASKED_MOBILE, MASKED_LANDLINE = "138****5678", "057****4321"


@pytest.fixture
def sale(shop):  # noqa: F811
    add_contact(shop.pa1, by=shop.admin_a, name="王五", mobile=MOBILE, landline=LANDLINE)
    sale = sell_devices(
        taxpayer=shop.pa1, serials=["661000000001"], sold_at=SOLD_AT, by=shop.sales_a
    )
    (contact,) = sale.application["taxpayer"]["contacts"]
    assert (contact["mobile"], contact["landline"]) == (MOBILE, LANDLINE)
    return sale


def digits_only(text: str) -> str:
    return re.sub(r"\s", "", text)


def assert_shown(text: str, username: str, where: str) -> None:
    full = username in SEES_FULL_PHONES
    squeezed = digits_only(text)
    assert (MOBILE in squeezed) == full, where
    assert ("057187654321" in squeezed) == full, where
    assert ("87654321" in squeezed) == full, where
    assert (MASKED_MOBILE in squeezed) != full, where
    assert (MASKED_LANDLINE in squeezed) != full, where


@pytest.mark.parametrize("username", CAST)
def test_the_application_forms_phones_per_role(shop, client_for, sale, username):  # noqa: F811
    client = client_for(shop.users[username])
    page = client.get(sale.get_absolute_url())
    api = client.get(f"/api/sales/{sale.pk}/")
    listed = client.get("/api/sales/")
    pdf = client.get(f"/sales/{sale.pk}/application.pdf")
    if "pa1" not in EXPECTED_VIEW[username]["taxpayers"]:
        assert page.status_code == api.status_code == pdf.status_code == 404
        assert listed.json()["results"] == []
        return
    assert page.status_code == api.status_code == pdf.status_code == 200
    html = page.content.decode()
    contacts = re.search(r'data-testid="application-contacts">(.*?)</dd>', html, re.S).group(1)
    assert "王五" in contacts
    assert_shown(contacts, username, "page section")
    assert_shown(html, username, "page")
    (row,) = listed.json()["results"]
    (contact,) = api.json()["application"]["taxpayer"]["contacts"]
    assert row["application"] == api.json()["application"]
    if username in SEES_FULL_PHONES:
        assert (contact["mobile"], contact["landline"]) == (MOBILE, LANDLINE)
    else:
        assert (contact["mobile"], contact["landline"]) == (MASKED_MOBILE, MASKED_LANDLINE)
    assert_shown(api.content.decode(), username, "api")
    assert_shown(listed.content.decode(), username, "api list")
    text = pdf_text(pdf.content)
    assert "发票税控系统用户使用申请表" in text and "王五" in text
    assert_shown(text, username, "pdf")
    # The sale keeps the form as it was filled.
    sale.refresh_from_db()
    assert sale.application["taxpayer"]["contacts"][0]["mobile"] == MOBILE


def test_the_pdf_prints_the_form_it_is_given(sale):
    assert MOBILE in digits_only(pdf_text(application_form_pdf(sale)))
    masked = {**sale.application, "taxpayer": {**sale.application["taxpayer"], "contacts": []}}
    text = pdf_text(application_form_pdf(sale, masked))
    assert MOBILE not in digits_only(text) and "王五" not in text


def test_the_seller_reads_back_the_whole_form_after_a_sale_through_the_api(
    shop,  # noqa: F811
    client_for,
):
    add_contact(shop.pa1, by=shop.admin_a, name="王五", mobile=MOBILE)
    response = client_for(shop.sales_a).post(
        "/api/sales/",
        {"taxpayer": shop.pa1.pk, "serials": ["661000000001"], "sold_at": SOLD_AT.isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    (contact,) = response.json()["application"]["taxpayer"]["contacts"]
    assert contact["mobile"] == MOBILE
