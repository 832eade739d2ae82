"""Orders that arrive already done (fulfilled, cancelled, refunded) never reach the ERP or
ShipStation: an order file's preview counts them, and the person importing keeps them as history
only or skips them; the order API follows the tenant's default."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from core import work
from orders.files.importing import Arrivals
from orders.files.mapping import guess, suggest
from orders.models import CsvImport, Order
from tenant_settings.models import ConnectionSettings
from tenants.models import ActivityEvent
from tests.support.order_files import (
    SHOPIFY_HEADER,
    confirm,
    csv_file,
    first_shopify_row,
    lineitem,
    orders_of,
    shopify_export,
    shopify_row,
    upload,
)
from tests.support.orders_api import ApiClient, issue_token, order_body

ORDERS = "/api/v1/orders/"


def done_orders_export():
    """The real case: a Shopify export holding one order to ship and three already done."""
    return shopify_export(
        first_shopify_row(
            "#2001",
            **lineitem("#2001", "WIDGET-1", "2", "9.99"),
            **{"Fulfillment Status": "unfulfilled"},
        ),
        first_shopify_row(
            "#2002",
            **lineitem("#2002", "WIDGET-1", "1", "9.99"),
            **{"Fulfillment Status": "fulfilled"},
        ),
        shopify_row(**lineitem("#2002", "GADGET-7", "1", "24.50")),
        first_shopify_row(
            "#2003",
            **lineitem("#2003", "WIDGET-1", "1", "9.99"),
            **{"Cancelled at": "2025-03-02 09:00:00 -0500"},
        ),
        first_shopify_row(
            "#2004",
            **lineitem("#2004", "GADGET-7", "3", "24.50"),
            **{"Financial Status": "refunded", "Fulfillment Status": "unfulfilled"},
        ),
    )


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, tuple]]:
    """The pipeline messages intake asks for (a fan-out message per batch of new orders)."""
    asked: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        "orders.intake.accept.dispatch", lambda task, *args, **kw: asked.append((task, args))
    )
    return asked


def set_tenant_default(schema: str, policy: str) -> None:
    with schema_context(schema):
        row = ConnectionSettings.load()
        row.done_orders_on_arrival = policy
        row.save()


def by_number(schema: str = "acme") -> dict[str, Order]:
    return {order.order_number: order for order in orders_of(schema)}


def test_the_preview_counts_the_orders_to_send_and_those_already_done(acme_admin):
    preview = upload(acme_admin, done_orders_export())

    assert preview.context["upload"].mapped_as == "Shopify orders export"
    assert preview.context["arrivals"] == Arrivals(to_send=1, fulfilled=1, cancelled=1, refunded=1)
    assert preview.context["form"]["done_orders"].value() == "history"  # the tenant's default
    page = preview.content.decode()
    assert (
        "1 to send, 3 already done (1 fulfilled, 1 cancelled, 1 refunded) → kept as history "
        "only (never sent)." in page
    )
    assert "Keep as history only (never sent)" in page and "Skip them" in page
    assert orders_of("acme") == []


def test_orders_already_done_are_kept_as_history_and_none_reaches_shipstation(acme_admin, sent):
    preview = upload(acme_admin, done_orders_export())

    response = confirm(acme_admin, preview, done_orders="history")

    assert response.status_code == 302, response.context and response.context["errors"]
    listing = acme_admin.get(response.headers["Location"]).content.decode()
    assert (
        "Imported 4 orders (5 lines) from orders_export_1.csv. 3 already done (1 fulfilled, "
        "1 cancelled, 1 refunded): kept as history only (never sent)." in listing
    )
    orders = by_number()
    assert {number: order.state for number, order in orders.items()} == {
        "#2001": Order.State.ROUTED,
        "#2002": Order.State.HISTORY,
        "#2003": Order.State.HISTORY,
        "#2004": Order.State.HISTORY,
    }
    history = [orders[number] for number in ("#2002", "#2003", "#2004")]
    assert all(order.next_attempt_at is None for order in history)
    assert orders["#2001"].next_attempt_at is not None
    assert "Arrived already cancelled: kept as history only" in orders["#2003"].state_message
    assert orders["#2004"].payload["financial_status"] == "refunded"
    assert [line.sku for line in orders["#2002"].lines.all()] == ["WIDGET-1", "GADGET-7"]
    # only the order to send is handed to the pipeline ...
    assert sent == [("orders.schedule_orders", ([orders["#2001"].pk],))]
    with schema_context("acme"):
        # ... and a history order is never worked, even if a message asked for it
        assert [work.claim(Order, order.pk) for order in history] == [None, None, None]
        assert not Order.objects.exclude(erp_order_number="").exists()
        assert not Order.objects.exclude(shipstation_order_id="").exists()
        kept = CsvImport.objects.get()
    assert (kept.orders_created, kept.lines_created) == (4, 5)
    assert kept.done_orders == {
        "policy": "history", "to_send": 1, "fulfilled": 1, "cancelled": 1, "refunded": 1,
    }  # fmt: skip
    page = acme_admin.get(f"/admin/orders/csvimport/{kept.pk}/change/").content.decode()
    assert "3 already done (1 fulfilled, 1 cancelled, 1 refunded): kept as history" in page


def test_orders_already_done_are_left_out_when_the_import_skips_them(acme_admin, sent):
    preview = upload(acme_admin, done_orders_export())

    response = confirm(acme_admin, preview, done_orders="skip")

    assert response.status_code == 302, response.context and response.context["errors"]
    listing = acme_admin.get(response.headers["Location"]).content.decode()
    assert (
        "Imported 1 orders (1 lines) from orders_export_1.csv. 3 already done (1 fulfilled, "
        "1 cancelled, 1 refunded): skipped (not imported)." in listing
    )
    (order,) = orders_of("acme")
    assert (order.order_number, order.state) == ("#2001", Order.State.ROUTED)
    assert sent == [("orders.schedule_orders", ([order.pk],))]
    with schema_context("acme"):
        kept = CsvImport.objects.get()
    assert kept.done_orders["policy"] == "skip" and kept.orders_created == 1
    page = acme_admin.get(f"/admin/orders/csvimport/{kept.pk}/change/").content.decode()
    assert "skipped (not imported)" in page
    assert ActivityEvent.objects.filter(
        tenant__slug="acme", action="order.csv_imported", message__contains="skipped"
    ).exists()


def test_the_tenants_default_is_offered_and_a_skipped_order_is_not_checked(acme_admin):
    set_tenant_default("acme", "skip")
    cancelled_without_address = first_shopify_row(
        "#2005",
        **lineitem("#2005", "WIDGET-1", "1", "9.99"),
        **{"Financial Status": "voided", "Shipping Address1": "", "Shipping Street": ""},
    )
    file = shopify_export(
        first_shopify_row("#2001", **lineitem("#2001", "WIDGET-1", "2", "9.99")),
        cancelled_without_address,
    )
    preview = upload(acme_admin, file)

    assert preview.context["form"]["done_orders"].value() == "skip"
    assert "1 to send, 1 already done (1 cancelled) → skipped (not imported)." in (
        preview.content.decode()
    )
    kept_as_history = confirm(acme_admin, preview, done_orders="history", all_or_nothing="on")
    assert kept_as_history.status_code == 200  # as history it would be written: it is checked
    assert any("Shipping Address1" in error for error in kept_as_history.context["errors"])

    again = confirm(acme_admin, kept_as_history, done_orders="skip", all_or_nothing="on")

    assert again.status_code == 302
    assert [order.order_number for order in orders_of("acme")] == ["#2001"]


def test_a_generic_file_names_the_order_status_and_a_completed_order_is_history(acme_admin):
    header = "Order #,Buyer Email,Recipient Name,Address 1,City,Postal Code,Country,SKU,Qty,Price"
    header += ",Order Status"
    rows = [
        "G-1,ann@ex.com,Ann Lee,1 Main St,Austin,78701,US,WIDGET-1,2,9.99,Processing",
        "G-2,bo@ex.com,Bo Ek,2 Elm St,Reno,89501,US,WIDGET-1,1,9.99,Completed",
    ]
    preview = upload(acme_admin, csv_file(*rows, header=header, name="generic.csv"))

    assert preview.context["arrivals"] == Arrivals(to_send=1, fulfilled=1)
    assert confirm(acme_admin, preview).status_code == 302
    assert {n: o.state for n, o in by_number().items()} == {
        "G-1": Order.State.ROUTED,
        "G-2": Order.State.HISTORY,
    }


def test_status_columns_are_recognised_by_their_usual_names():
    header = ["Order #", "Status", "Financial Status", "Fulfillment Status", "Cancelled at"]
    assert guess(header) == {
        "order_number": 0,
        "store_status": 1,
        "financial_status": 2,
        "fulfillment_status": 3,
        "cancelled_at": 4,
    }
    assert guess(["Order Status"]) == {"store_status": 0}


def test_a_shopify_export_maps_its_status_columns(acme):
    with schema_context("acme"):
        suggestion = suggest(SHOPIFY_HEADER)
    named = {path: SHOPIFY_HEADER[index] for path, index in suggestion.mapping.items()}

    assert suggestion.source == "Shopify orders export"
    assert (named["financial_status"], named["fulfillment_status"], named["cancelled_at"]) == (
        "Financial Status", "Fulfillment Status", "Cancelled at",
    )  # fmt: skip


# The order API: the tenant's default decides.


@pytest.fixture
def acme_api(acme) -> ApiClient:
    return ApiClient("acme.localhost", issue_token("acme"))


def done_body(number: str, **statuses: str) -> dict[str, Any]:
    return order_body(order_number=number, **statuses)


def test_an_api_order_arriving_fulfilled_is_created_as_history(acme_api, sent):
    response = acme_api.post(ORDERS, done_body("D-1", fulfillment_status="fulfilled"), key="k-1")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "history"
    assert "Arrived already fulfilled" in body["state_message"]
    with schema_context("acme"):
        order = Order.objects.get(order_number="D-1")
        assert order.next_attempt_at is None and work.claim(Order, order.pk) is None
    assert sent == []
    # the idempotency key still replays the order
    again = acme_api.post(ORDERS, done_body("D-1", fulfillment_status="fulfilled"), key="k-1")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == body["id"]


def test_an_api_order_arriving_cancelled_is_skipped_when_the_tenant_skips(acme_api, globex):
    set_tenant_default("acme", "skip")
    cancelled = done_body("D-2", store_status="Cancelled", financial_status="voided")

    response = acme_api.post(ORDERS, cancelled, key="k-2")
    again = acme_api.post(ORDERS, cancelled, key="k-2")

    assert response.status_code == 200
    assert response.json() == {
        "detail": "Order D-2 arrived already cancelled; this tenant skips such orders, so "
        "nothing was created.",
        "skipped": True,
        "order_number": "D-2",
        "arrived": "cancelled",
    }
    assert again.status_code == 200 and again.json()["skipped"] is True
    assert "Idempotent-Replayed" not in again.headers
    with schema_context("acme"):
        assert not Order.objects.exists()
    assert ActivityEvent.objects.filter(tenant__slug="acme", action="order.api_skipped").exists()
    # an open order is placed as before, even with the same key later on
    placed = acme_api.post(ORDERS, done_body("D-2", financial_status="paid"), key="k-2")
    assert placed.status_code == 201 and placed.json()["state"] == Order.State.ROUTED


def test_api_statuses_are_bounded_and_documented(acme_api):
    too_long = acme_api.post(ORDERS, done_body("D-3", store_status="x" * 51))
    assert too_long.status_code == 400
    assert "store_status" in too_long.json()["errors"]

    schema = ApiClient("acme.localhost", None).get("/api/schema/", format="json").json()
    post = schema["paths"]["/api/v1/orders/"]["post"]
    order_input = schema["components"]["schemas"]["OrderInputRequest"]["properties"]
    assert {"store_status", "financial_status", "fulfillment_status"} <= set(order_input)
    answers = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert "OrderReplayedOrSkipped" in answers["$ref"]
    assert "SkippedOrder" in schema["components"]["schemas"]
