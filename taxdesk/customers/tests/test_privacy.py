"""Personal data in the taxpayer register (core.privacy, docs/decisions/0008).

- Contacts' phone numbers are shown in full to the units' own staff, the taxpayer's own user
  and the platform administrator, and masked (138****5678) for the supervision and tax
  officers: on the taxpayer page and in the taxpayer and contact API, the full number never
  reaching them; a phone search by an officer goes by the last four digits only.
- An officer's read of a taxpayer's full record (the taxpayer page, the taxpayer or contact
  API detail) leaves a "view" entry in the audit trail (who, when, which taxpayer, web or
  API); lists and the unit's own staff leave none. The entry reads 查看 on the audit page and
  on the record's history page.
"""

from __future__ import annotations

import re

import pytest

from taxdesk.core.choices import AuditAction, AuditSource
from taxdesk.core.models import AuditEntry
from taxdesk.customers.actions import add_contact
from taxdesk.customers.models import Contact, Taxpayer
from taxdesk.testing.cast import EXPECTED_VIEW, READS_RECORDED, SEES_FULL_PHONES

CAST = sorted(EXPECTED_VIEW)
MOBILE, LANDLINE = "13812345678", "0571 8765 4321"
MASKED_MOBILE, MASKED_LANDLINE = "138****5678", "057****4321"


@pytest.fixture
def contact(cast):
    """A contact of pa1 with a mobile and a landline, as the action keeps them."""
    contact = add_contact(cast.pa1, by=cast.admin_a, name="王五", mobile=MOBILE, landline=LANDLINE)
    assert (contact.mobile, contact.landline) == (MOBILE, LANDLINE)
    return contact


def views() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.VIEW).order_by("id"))


def assert_shown(text: str, username: str) -> None:
    """``text`` holds the contact's numbers in full, or masked and nothing of the rest."""
    full = username in SEES_FULL_PHONES
    assert (MOBILE in text) == full
    assert (LANDLINE in text) == full
    assert ("8765 4321" in text) == full
    assert (MASKED_MOBILE in text) != full
    assert (MASKED_LANDLINE in text) != full


# --------------------------------------------------------------------------- phones, per role
@pytest.mark.parametrize("username", CAST)
def test_the_taxpayer_page_shows_phones_to_those_who_need_them(cast, client_for, contact, username):
    response = client_for(cast.users[username]).get(f"/taxpayers/{cast.pa1.pk}/")
    if "pa1" not in EXPECTED_VIEW[username]["taxpayers"]:
        assert response.status_code == 404
        return
    html = response.content.decode()
    assert_shown(html, username)
    row = re.search(r'<tr data-contact="\d+">(.*?)</tr>', html, re.S).group(1)
    # A masked number is not a link to call.
    assert ('href="tel:' in row) == (username in SEES_FULL_PHONES)


@pytest.mark.parametrize("username", CAST)
def test_the_contact_api_shows_phones_to_those_who_need_them(cast, client_for, contact, username):
    client = client_for(cast.users[username])
    listed = client.get("/api/contacts/", {"taxpayer": cast.pa1.pk})
    detail = client.get(f"/api/contacts/{contact.pk}/")
    if "pa1" not in EXPECTED_VIEW[username]["taxpayers"]:
        assert listed.json()["results"] == []
        assert detail.status_code == 404
        return
    (row,) = listed.json()["results"]
    expected = (
        (MOBILE, LANDLINE) if username in SEES_FULL_PHONES else (MASKED_MOBILE, MASKED_LANDLINE)
    )
    assert (row["mobile"], row["landline"]) == expected
    assert (detail.json()["mobile"], detail.json()["landline"]) == expected
    assert_shown(listed.content.decode(), username)
    assert_shown(detail.content.decode(), username)


@pytest.mark.parametrize("username", CAST)
def test_the_taxpayer_api_shows_phones_to_those_who_need_them(cast, client_for, contact, username):
    client = client_for(cast.users[username])
    listed = client.get("/api/taxpayers/")
    detail = client.get(f"/api/taxpayers/{cast.pa1.pk}/")
    if "pa1" not in EXPECTED_VIEW[username]["taxpayers"]:
        assert detail.status_code == 404
        assert MOBILE not in listed.content.decode()
        return
    (nested,) = detail.json()["contacts"]
    if username in SEES_FULL_PHONES:
        assert (nested["mobile"], nested["landline"]) == (MOBILE, LANDLINE)
    else:
        assert (nested["mobile"], nested["landline"]) == (MASKED_MOBILE, MASKED_LANDLINE)
    assert_shown(listed.content.decode(), username)
    assert_shown(detail.content.decode(), username)


def test_the_unit_still_writes_and_reads_back_whole_numbers(cast, client_for):
    client = client_for(cast.sales_a)
    response = client.post(
        "/api/contacts/",
        {"taxpayer": cast.pa2.pk, "name": "赵六", "mobile": "+86 139 1234 5678"},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["mobile"] == "13912345678"
    assert Contact.objects.get(pk=response.json()["id"]).mobile == "13912345678"


# --------------------------------------------------------------------------- searching
def test_an_officer_finds_a_phone_by_its_last_four_digits_only(cast, client_for, contact):
    # Another taxpayer's contact shares the last four digits only.
    add_contact(cast.pa2, by=cast.admin_a, name="钱七", mobile="13900005678")
    for username, expected in (
        ("admin_a", {cast.pa1.pk}),
        ("supervisor_x", {cast.pa1.pk, cast.pa2.pk}),
        ("tax_a", {cast.pa1.pk, cast.pa2.pk}),
    ):
        client = client_for(cast.users[username])
        for text in (MOBILE, "2345678", "138-1234-5678"):
            rows = client.get("/api/taxpayers/", {"q": text}).json()["results"]
            assert {row["id"] for row in rows} == expected, (username, text)
            page = client.get("/taxpayers/", {"q": text})
            assert {t.pk for t in page.context["rows"]} == expected, (username, text)
        # The last four digits are what every one of them sees anyway.
        rows = client.get("/api/taxpayers/", {"q": "5678"}).json()["results"]
        assert {row["id"] for row in rows} == {cast.pa1.pk, cast.pa2.pk}


def test_an_officer_cannot_filter_contacts_by_a_whole_number(cast, client_for, contact):
    other = add_contact(cast.pa2, by=cast.admin_a, name="钱七", mobile="13900005678")
    mine = client_for(cast.admin_a).get("/api/contacts/", {"mobile": MOBILE}).json()["results"]
    assert [row["id"] for row in mine] == [contact.pk]
    # For an officer the filter is not offered: the answer would confirm a hidden number.
    rows = client_for(cast.supervisor_x).get("/api/contacts/", {"mobile": MOBILE}).json()
    assert {row["id"] for row in rows["results"]} == {contact.pk, other.pk}


# --------------------------------------------------------------------------- recorded reads
@pytest.mark.parametrize("username", CAST)
def test_an_officers_read_of_the_taxpayer_page_is_recorded(cast, client_for, contact, username):
    user = cast.users[username]
    client = client_for(user)
    response = client.get(
        f"/taxpayers/{cast.pa1.pk}/", HTTP_X_REQUEST_ID="read-pa1-0001", REMOTE_ADDR="10.9.8.7"
    )
    visible = "pa1" in EXPECTED_VIEW[username]["taxpayers"]
    assert response.status_code == (200 if visible else 404)
    recorded = views()
    if username not in READS_RECORDED or not visible:
        assert recorded == []
        return
    (entry,) = recorded
    assert entry.actor == user and entry.actor_repr == str(user)
    assert entry.content_type.model_class() is Taxpayer
    assert entry.object_id == str(cast.pa1.pk) and entry.object_repr == str(cast.pa1)
    assert entry.source == AuditSource.WEB
    assert (entry.request_id, entry.ip) == ("read-pa1-0001", "10.9.8.7")
    assert (entry.unit_id, entry.body_id) == (cast.unit_a.pk, cast.body_x.pk)
    assert entry.changes == {}


@pytest.mark.parametrize("username", CAST)
def test_an_officers_read_through_the_api_is_recorded(cast, client_for, contact, username):
    user = cast.users[username]
    client = client_for(user)
    visible = "pa1" in EXPECTED_VIEW[username]["taxpayers"]
    taxpayer = client.get(f"/api/taxpayers/{cast.pa1.pk}/")
    person = client.get(f"/api/contacts/{contact.pk}/")
    assert taxpayer.status_code == person.status_code == (200 if visible else 404)
    recorded = views()
    if username not in READS_RECORDED or not visible:
        assert recorded == []
        return
    first, second = recorded
    assert all(e.actor == user and e.source == AuditSource.API for e in recorded)
    assert (first.content_type.model_class(), first.object_id) == (Taxpayer, str(cast.pa1.pk))
    assert (second.content_type.model_class(), second.object_id) == (Contact, str(contact.pk))
    # The contact's entry names its taxpayer, so a search for the taxpayer finds it.
    assert second.object_repr == f"王五 — {cast.pa1}"
    assert {(e.unit_id, e.body_id) for e in recorded} == {(cast.unit_a.pk, cast.body_x.pk)}


@pytest.mark.parametrize("username", sorted(READS_RECORDED))
def test_lists_searches_and_exports_are_not_recorded(cast, client_for, contact, username):
    client = client_for(cast.users[username])
    for url, query in (
        ("/taxpayers/", {}),
        ("/taxpayers/", {"q": "5678"}),
        ("/taxpayers/", {"export": "xlsx"}),
        ("/api/taxpayers/", {}),
        ("/api/contacts/", {}),
        ("/api/contacts/", {"taxpayer": cast.pa1.pk}),
    ):
        assert client.get(url, query).status_code == 200, url
    # Neither is a page the officer may not open.
    assert client.get(f"/taxpayers/{cast.pc1.pk + 1000}/").status_code == 404
    assert views() == []


# --------------------------------------------------------------------------- the trail reads it
def test_the_view_entry_reads_well_on_the_audit_page_and_the_history(cast, client_for):
    client_for(cast.supervisor_x).get(f"/taxpayers/{cast.pa1.pk}/")
    client_for(cast.tax_a).get(f"/api/taxpayers/{cast.pa1.pk}/")
    admin = client_for(cast.admin_a)

    page = admin.get("/audit/", {"action": "view"})
    assert [e.actor for e in page.context["rows"]] == [cast.tax_a, cast.supervisor_x]
    html = page.content.decode()
    rows = re.findall(r"<tr>\s*<td class=\"text-nowrap\">.*?</tr>", html, re.S)
    assert len(rows) == 2
    for row, who, source in zip(rows, ("tax_a", "supervisor_x"), ("接口", "网页"), strict=True):
        assert "查看" in row and who in row and str(cast.pa1) in row and source in row, row

    history = admin.get(f"/history/customers.taxpayer/{cast.pa1.pk}/")
    actions = [(e.action, e.actor_repr) for e in history.context["rows"]]
    assert actions[:2] == [("view", "tax_a"), ("view", "supervisor_x")]
    assert history.content.decode().count("查看") == 2

    admin.cookies["django_language"] = "en"
    english = admin.get("/audit/", {"action": "view"}).content.decode()
    table = re.search(r'data-testid="rows">(.*?)</table>', english, re.S).group(1)
    assert table.count("<td>Viewed</td>") == 2
    # The supervision body reads its officers' reads too, in the API.
    listed = client_for(cast.supervisor_x).get("/api/audit/", {"action": "view"}).json()
    assert [(r["actor_repr"], r["object_type"]) for r in listed["results"]] == [
        ("tax_a", "customers.taxpayer"),
        ("supervisor_x", "customers.taxpayer"),
    ]
    # Another body's officer reads none of it.
    assert (
        client_for(cast.supervisor_y).get("/api/audit/", {"action": "view"}).json()["results"] == []
    )
