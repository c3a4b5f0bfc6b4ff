"""Every id and number in a filter or a path is read strictly (issue 11): digits only, within
range. A bad value is a 400 naming the filter in the API, a form error on a page, a 404 in a
path; never a 500 (a value the database cannot hold), never "1.5" read as 1. Run on SQLite
and PostgreSQL (bin/test runs both)."""

from __future__ import annotations

import django_filters
import pytest

from taxdesk.core.filters import MAX_ID, IdFilter, IntegerFilter
from taxdesk.testing.devices import build_fleet

BAD = [
    "99999999999999999999",
    str(MAX_ID + 1),
    "1e20",
    "1E3",
    "1.5",
    "1.0",
    "-1",
    "+1",
    "0x10",
    "abc",
    "１２",  # full-width digits
    "1" * 5000,  # longer than Python reads as an int by default
]


def number_filters() -> list[tuple[str, str, str, object]]:
    """(url, name, kind, filter) of every id, number or record-choice filter of the API's
    lists; kind "id", "integer" or "choice"."""
    from taxdesk.api_urls import router

    found = []
    for prefix, viewset, _basename in router.registry:
        filterset = getattr(viewset, "filterset_class", None)
        if filterset is None:
            continue
        instance = filterset(data={}, queryset=filterset._meta.model.objects.none())
        for name, filter_ in instance.filters.items():
            if isinstance(filter_, IdFilter):
                kind = "id"
            elif isinstance(filter_, IntegerFilter):
                kind = "integer"
            elif isinstance(filter_, django_filters.ModelChoiceFilter):
                kind = "choice"
            else:
                continue
            found.append((f"/api/{prefix}/", name, kind, filter_))
    return found


FILTERS = [(url, name, kind) for url, name, kind, _f in number_filters()]


def test_no_filter_reads_numbers_loosely():
    """NumberFilter reads "1.5" and "1e20" as numbers: the API's filtersets use core's."""
    from taxdesk.api_urls import router

    loose = [
        f"{prefix}?{name}"
        for prefix, viewset, _b in router.registry
        if getattr(viewset, "filterset_class", None)
        for name, f in viewset.filterset_class(data={}, queryset=None).filters.items()
        if isinstance(f, django_filters.NumberFilter)
    ]
    assert loose == []
    assert ("/api/devices/", "taxpayer", "id") in FILTERS, "is the scan broken?"
    assert ("/api/contracts/", "ending_within", "integer") in FILTERS


@pytest.mark.parametrize(("url", "name", "kind"), FILTERS)
def test_a_bad_id_or_number_in_a_filter_is_a_400_naming_it(cast, client_for, url, name, kind):
    client = client_for(cast.root)
    for bad in BAD:
        response = client.get(url, {name: bad})
        assert response.status_code == 400, (bad, response.content[:300])
        error = response.json()["error"]
        assert list(error["fields"]) == [name], (bad, error)
        assert error["code"] == ("invalid_choice" if kind == "choice" else "invalid"), (bad, error)


@pytest.mark.parametrize(
    ("url", "name"), [(url, name) for url, name, kind in FILTERS if kind == "id"]
)
def test_the_largest_id_is_a_value_that_finds_nothing(cast, client_for, url, name):
    response = client_for(cast.root).get(url, {name: str(MAX_ID)})
    assert response.status_code == 200, response.content[:300]
    assert response.json()["results"] == []


def test_an_id_filter_filters_exactly(cast, client_for):
    fleet = build_fleet(cast)
    client = client_for(cast.admin_a)
    held = {
        d["id"] for d in client.get("/api/devices/", {"taxpayer": fleet.pa1.pk}).json()["results"]
    }
    assert held and held == set(fleet.pa1.devices.values_list("pk", flat=True))


def detail_urls() -> list[str]:
    from taxdesk.api_urls import router

    return [
        f"/api/{prefix}/" for prefix, viewset, _b in router.registry if hasattr(viewset, "retrieve")
    ]


BAD_PATHS = ["99999999999999999999", str(MAX_ID + 1), "1e20", "-1", "0", "abc", "１"]


@pytest.mark.parametrize("url", detail_urls())
def test_a_bad_id_in_a_path_is_a_404(cast, client_for, url):
    client = client_for(cast.root)
    for bad in BAD_PATHS:
        response = client.get(f"{url}{bad}/")
        assert response.status_code == 404, (bad, response.content[:300])
        assert response.json()["error"]["code"] == "not_found"
    response = client.get(f"{url}{MAX_ID}/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("page", "name"),
    [
        ("/devices/", "taxpayer"),
        ("/devices/", "batch"),
        ("/sales/", "taxpayer"),
        ("/billing/contracts/", "ending_within"),
        ("/taxpayers/", "contract_expiring"),
    ],
)
def test_a_bad_number_on_a_page_is_a_form_error(cast, client_for, page, name):
    client = client_for(cast.admin_a)
    for bad in ("99999999999999999999", "1e20", "1.5"):
        response = client.get(page, {name: bad})
        assert response.status_code == 200, (bad, response.content[:300])
        assert response.context["filterset"].errors[name], bad


@pytest.mark.parametrize(
    "page", ["/devices/", "/taxpayers/", "/sales/", "/billing/charges/", "/billing/contracts/"]
)
def test_a_huge_id_in_a_page_path_is_a_404(cast, client_for, page):
    client = client_for(cast.admin_a)
    for bad in ("99999999999999999999", str(MAX_ID + 1), str(MAX_ID)):
        assert client.get(f"{page}{bad}/").status_code == 404, bad


def test_a_time_filter_with_an_offset_the_database_cannot_hold_is_read_in_utc(cast, client_for):
    """Found by the fuzz run on PostgreSQL: "+16:30" made a 500 (DataError)."""
    client = client_for(cast.root)
    response = client.get("/api/deadlines/", {"due_before": "2030-04-23T20:57:00+16:30"})
    assert response.status_code == 200, response.content[:300]
    assert len(response.json()["results"]) == 4
    response = client.get("/api/deadlines/", {"due_before": "0001-01-01T00:30:00+16:30"})
    # Moved to UTC it is before year 1: not a time at all.
    assert response.status_code == 400, response.content[:300]
    assert list(response.json()["error"]["fields"]) == ["due_before"]
