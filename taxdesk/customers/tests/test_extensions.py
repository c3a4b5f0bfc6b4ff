"""What the apps above the register contribute through customers.extensions."""

from __future__ import annotations

from taxdesk.customers import extensions
from taxdesk.customers.filtersets import TaxpayerFilterSet


def test_the_taxpayer_list_filters_keep_their_order_with_the_contributed_ones():
    assert list(TaxpayerFilterSet.base_filters) == [
        "q",
        "service_unit",
        "district",
        "tax_office",
        "status",
        "taxpayer_type",
        "device_type",  # from devices
        "contract_expiring",  # from billing
        "entered",
    ]


def test_the_taxpayer_page_panels_and_actions_come_in_their_order():
    assert [p.key for p in extensions.panels()] == ["devices", "sales", "contracts", "charges"]
    assert [a.key for a in extensions.actions()] == ["sell"]
    assert len(extensions.finders()) == 1  # the devices' serial


def test_registering_again_replaces_instead_of_doubling():
    before = list(TaxpayerFilterSet.base_filters)
    filter_ = TaxpayerFilterSet.base_filters["device_type"]
    extensions.register_filter("device_type", filter_, before="contract_expiring")
    assert list(TaxpayerFilterSet.base_filters) == before
    panel = extensions.panels()[0]
    extensions.register_panel(panel)
    assert [p.key for p in extensions.panels()].count(panel.key) == 1


def test_a_panel_that_answers_none_is_left_out(cast, client_for):
    extensions.register_panel(
        extensions.TaxpayerPanel("hidden", 1, "no/such/template.html", lambda *args: None)
    )
    try:
        page = client_for(cast.admin_a).get(cast.pa1.get_absolute_url())
        assert page.status_code == 200
        assert 'data-testid="devices"' in page.content.decode()
    finally:
        extensions._panels.pop("hidden")


def test_the_search_finds_a_holder_by_a_serial_typed_with_spaces_dashes_or_full_width(cast):
    from taxdesk.customers.models import Taxpayer
    from taxdesk.customers.queries import search
    from taxdesk.testing.customers import make_device

    make_device(cast.pa2, "661234567890")
    for typed in (
        "661234567890",
        "6612 3456 7890",
        "6612-3456-7890",
        "６６１２３４５６７８９０",
        "66123",
    ):
        found = search(Taxpayer.objects.all(), typed)
        assert list(found.values_list("pk", flat=True)) == [cast.pa2.pk], typed
