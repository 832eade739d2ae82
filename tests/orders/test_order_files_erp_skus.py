"""SKUs the catalog does not know, asked of the ERP in bulk by a worker while the preview shows.

The preview runs in-process; the worker's task runs here too, against the sandbox's M3 over HTTP
(through the recording tap of tests/support/world.py). The preview says it is checking, then
shows the SKUs the ERP knows (not bound) and, per order, those it does not know either.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from orders.models import ErpSkuCheck
from orders.tasks import check_file_skus
from tests.support.order_files import table_file, upload
from tests.support.world import World, connect_tenants, sku_of, start_world

HEADER = "Order Number,Email,Recipient Name,Address 1,City,Postal Code,Country,SKU,Item Name,"
HEADER += "Quantity,Unit Price"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_erp(world: World, db) -> Iterator[World]:
    world.calm()
    connect_tenants(world)
    yield world
    world.calm()


def order_file(*lines: tuple[str, str]):
    rows = [HEADER.split(",")]
    for number, sku in lines:
        rows.append(f"{number},a@ex.com,Ann,1 Main St,Austin,78701,US,{sku},Item,1,5".split(","))
    return table_file(rows, "orders.csv")


def test_unknown_skus_are_asked_of_the_erp_in_bulk_and_the_preview_fills_in(acme_erp, acme_admin):
    in_erp = [sku_of("acme", n) for n in range(3)]
    nowhere = ["NO-SUCH-1", "NO-SUCH-2"]
    file = order_file(
        ("1001", in_erp[0]), ("1001", nowhere[0]), ("1002", in_erp[1]), ("1002", nowhere[1]),
        ("1003", in_erp[2]), ("1003", "X" * 20),
    )  # fmt: skip

    preview = upload(acme_admin, file)

    page = preview.content.decode()
    assert "Checking 6 SKUs in the ERP…" in page
    assert 'id="csv-erp-checking"' in page
    status = acme_admin.get(f"{preview.wsgi_request.path}status/").json()
    assert status["erp_checking"] is True
    with schema_context("acme"):
        (check,) = ErpSkuCheck.objects.all()
    acme_erp.tap.clear()

    with schema_context("acme"):
        assert check_file_skus.apply(args=(check.pk,)).get() == ErpSkuCheck.State.DONE

    asked = [call for call in acme_erp.tap.calls("m3") if call.transactions]
    assert len(asked) == 1  # one bulk call for every SKU an item number can be
    assert sorted(t.inputs["ITNO"] for t in asked[0].transactions) == sorted(in_erp + nowhere)
    assert {t.name for t in asked[0].transactions} == {"MMS200MI/GetItmBasic"}
    with schema_context("acme"):
        check.refresh_from_db()
    assert sorted(check.known) == sorted(in_erp)
    assert sorted(check.unknown) == sorted([*nowhere, "X" * 20])
    assert acme_admin.get(f"{preview.wsgi_request.path}status/").json()["erp_checking"] is False

    answered = acme_admin.get(preview.wsgi_request.path)

    erp = answered.context["erp"]
    assert erp.checking == ()
    assert sorted(sku for sku, _ in erp.known) == sorted(in_erp)
    assert answered.context["erp_unknown"] == [
        ("1001", ["NO-SUCH-1"]), ("1002", ["NO-SUCH-2"]), ("1003", ["X" * 20]),
    ]  # fmt: skip
    page = answered.content.decode()
    assert "Known in the ERP, not bound (3)" in page
    assert "Unknown in the ERP too (3 SKUs in 3 orders)" in page
    assert "order 1001: <code>NO-SUCH-1</code>" in page
    assert "Checking" not in page
    with schema_context("acme"):
        assert ErpSkuCheck.objects.count() == 1  # nothing asked twice


def test_an_erp_that_cannot_be_asked_is_said_on_the_preview(acme_erp, acme_admin):
    acme_erp.sandbox.control("m3", "faults", error_rate=1.0)
    preview = upload(acme_admin, order_file(("1001", "NO-SUCH-1")))
    with schema_context("acme"):
        (check,) = ErpSkuCheck.objects.all()

    with schema_context("acme"):
        assert check_file_skus.apply(args=(check.pk,)).get() == "retry"
        check.refresh_from_db()
    assert check.state == ErpSkuCheck.State.CHECKING
    assert check.attempts == 1 and check.last_error
    assert (
        "Checking 1 SKU in the ERP…" in acme_admin.get(preview.wsgi_request.path).content.decode()
    )
