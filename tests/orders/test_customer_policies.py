"""Which ERP customer an order gets: existing link → search key → e-mail → template or default.

`link_customer` runs in-process against the sandbox's M3 over HTTP; the tap in front of the
sandbox shows which CRS610MI transactions M3 received.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from connectors.errors import PermanentError, RetryableError
from connectors.m3 import NewM3Customer
from orders.erp.customers import CustomerDecision, link_customer, link_customers, search_key
from orders.models import CustomerLink, NewCustomerGuard, Order
from sandbox import demo_data
from tenant_settings.connection_clients import erp_client
from tenant_settings.models import ConnectionSettings
from tests.support.world import World, change_settings, connect_tenants, make_order, start_world

Policy = ConnectionSettings.MissingCustomerPolicy
SEARCHES = ["CRS610MI/LstBySearchKey", "CRS610MI/SearchCustomer"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    yield from start_world(tmp_path_factory.mktemp("sandbox"))


@pytest.fixture
def acme_erp(world: World, db) -> Iterator[World]:
    """Both tenants point at the tap; the test body runs in acme's schema."""
    world.calm()
    connect_tenants(world)
    with schema_context("acme"):
        yield world


def link(order: Order) -> CustomerDecision:
    settings = ConnectionSettings.load()
    return link_customer(order, erp_client(settings), settings)


def customers_created(world: World) -> int:
    return world.status()["m3"]["erp_customers_created"]


def link_of(order: Order) -> CustomerLink:
    return CustomerLink.objects.get(store=None, email=order.customer_email)


@pytest.mark.parametrize("known_by", ["e-mail", "store customer id"])
def test_an_existing_link_is_used_without_asking_the_erp(acme_erp: World, known_by: str):
    if known_by == "e-mail":
        order = make_order()
        CustomerLink.objects.create(
            email=order.customer_email, erp_customer_number="AC00000777", origin="manual"
        )
    else:
        order = make_order(store_customer_id="shopper-77")
        CustomerLink.objects.create(
            store_customer_id="shopper-77",
            email="an-older-address@example.test",
            erp_customer_number="AC00000777",
            origin="manual",
        )

    decision = link(order)

    assert decision == CustomerDecision("AC00000777", "existing link (manual)")
    assert acme_erp.tap.calls("m3") == []  # not even a token request


def test_a_customer_the_hub_created_earlier_is_found_by_its_search_key(acme_erp: World):
    email = "grace.hopper.search-key@example.test"
    earlier = make_order(customer_email=email)
    number = acme_erp.direct_m3("acme").add_customer(
        NewM3Customer(
            template=demo_data.customer_template("acme"),
            name="Grace Hopper",
            line1="1 Main St",
            email="grace@an-address-the-erp-changed.example",
            search_key=search_key(earlier),
        )
    )
    fresh = make_order(customer_email=email.upper())  # the same shopper's next order
    assert search_key(fresh) == search_key(earlier)
    created_before = customers_created(acme_erp)

    decision = link(fresh)

    assert decision == CustomerDecision(number, "found in the ERP")
    [lookup] = acme_erp.tap.m3()
    assert (lookup.name, lookup.inputs["ALCU"]) == ("CRS610MI/LstBySearchKey", search_key(fresh))
    assert customers_created(acme_erp) == created_before
    remembered = CustomerLink.objects.get(store=None, email=fresh.customer_email)
    assert (remembered.erp_customer_number, remembered.origin) == (number, "found")


def test_a_crash_after_creating_the_customer_finds_it_again_instead_of_a_second_one(
    acme_erp: World,
):
    order = make_order()
    created_before = customers_created(acme_erp)

    class WorkerDied(Exception):
        pass

    with pytest.raises(WorkerDied), transaction.atomic():
        first = link(order)
        raise WorkerDied  # M3 has the customer; the hub's link is rolled back
    assert not CustomerLink.objects.filter(email=order.customer_email).exists()
    assert acme_erp.tap.m3_names().count("CRS610MI/Add") == 1
    acme_erp.tap.clear()

    again = link(order)

    assert again == CustomerDecision(first.customer_number, "found in the ERP")
    assert acme_erp.tap.m3_names() == ["CRS610MI/LstBySearchKey"]
    assert customers_created(acme_erp) == created_before + 1
    assert link_of(order).origin == "found"


def test_a_shopper_the_erp_knows_by_email_is_found(acme_erp: World):
    person = demo_data.erp_known_customers("acme")[-1]
    [known] = acme_erp.direct_m3("acme").search_customers(f"MAIL:{person.email}")
    order = make_order(customer_email=person.email)

    decision = link(order)

    assert decision == CustomerDecision(known.number, "found in the ERP")
    calls = acme_erp.tap.m3()
    assert [c.name for c in calls] == SEARCHES
    assert calls[1].inputs["SQRY"] == f"MAIL:{person.email}"
    assert (link_of(order).erp_customer_number, link_of(order).origin) == (known.number, "found")


def test_each_tenant_searches_its_own_erp(acme_erp: World):
    person = demo_data.store_customers("acme-outlet")[0]  # in acme's M3, unknown to globex's
    assert person in demo_data.erp_known_customers("acme")
    assert person not in demo_data.erp_known_customers("globex")

    acme_decision = link(make_order(customer_email=person.email))
    with schema_context("globex"):
        globex_decision = link(make_order(customer_email=person.email, slug="globex"))

    assert acme_decision.how == "found in the ERP"
    assert globex_decision.how == "created in the ERP from the template"
    assert globex_decision.customer_number.startswith("GX")
    assert "CRS610MI/Add" not in acme_erp.tap.m3_names("ACME_TST")
    globex_calls = acme_erp.tap.m3("GLOBEX_TST")
    assert [c.name for c in globex_calls][:3] == [*SEARCHES, "CRS610MI/Add"]
    assert globex_calls[2].inputs["CUTM"] == "GXTEMPLATE"


def test_an_unknown_shopper_is_created_from_the_template_with_a_delivery_address(
    acme_erp: World,
):
    ship_to = {
        "name": "Tara Walsh",
        "street1": "7 Rue Neuve",
        "city": "Lyon",
        "postal_code": "69002",
        "country": "FR",
    }
    order = make_order(ship_to=ship_to)
    created_before = customers_created(acme_erp)

    decision = link(order)

    number = decision.customer_number
    assert decision.how == "created in the ERP from the template"
    calls = acme_erp.tap.m3()
    assert [c.name for c in calls] == [*SEARCHES, "CRS610MI/Add", "CRS610MI/AddAddress"]
    add, address = calls[2].inputs, calls[3].inputs
    assert add["CUTM"] == demo_data.customer_template("acme")
    assert add["ALCU"] == search_key(order)
    assert (add["CUNM"], add["MAIL"]) == ("Tara Walsh", order.customer_email)
    assert (add["CUA1"], add["TOWN"], add["CSCD"]) == ("7 Rue Neuve", "Lyon", "FR")
    assert (address["CUNO"], address["ADRT"], address["ADID"]) == (number, "1", "WEB")
    assert (address["CUA1"], address["PONO"]) == ("7 Rue Neuve", "69002")
    assert customers_created(acme_erp) == created_before + 1
    in_m3 = acme_erp.direct_m3("acme").get_customer(number)
    assert (in_m3.search_key, in_m3.email, in_m3.town) == (
        search_key(order),
        order.customer_email,
        "Lyon",
    )
    remembered = link_of(order)
    assert (remembered.erp_customer_number, remembered.origin) == (number, "created")


def test_a_shopper_without_a_street_gets_no_delivery_address(acme_erp: World):
    order = make_order(ship_to={})

    decision = link(order)

    assert acme_erp.tap.m3_names() == [*SEARCHES, "CRS610MI/Add"]
    assert acme_erp.tap.m3()[2].inputs["CUNM"] == order.customer_email
    assert link_of(order).erp_customer_number == decision.customer_number


def test_the_default_policy_gives_unknown_shoppers_the_default_customer(acme_erp: World):
    change_settings(missing_customer_policy=Policy.DEFAULT)
    order = make_order()

    decision = link(order)

    assert decision == CustomerDecision("ACWEB00001", "store default customer")
    assert acme_erp.tap.m3_names() == SEARCHES  # searched, nobody created
    # Not remembered: once the shopper exists in the ERP, their next order finds them.
    assert not CustomerLink.objects.filter(email=order.customer_email).exists()


def test_the_default_policy_still_links_a_shopper_the_erp_knows(acme_erp: World):
    change_settings(missing_customer_policy=Policy.DEFAULT)
    person = demo_data.erp_known_customers("acme")[0]
    order = make_order(customer_email=person.email)

    decision = link(order)

    assert decision.how == "found in the ERP"
    assert decision.customer_number != "ACWEB00001"
    assert link_of(order).origin == "found"


@pytest.mark.parametrize(
    ("policy", "unset", "message", "hint"),
    [
        (
            Policy.CREATE,
            "erp_customer_template",
            "No ERP customer found and no customer template is set",
            "Set the customer template (CUTM) in the connection settings.",
        ),
        (
            Policy.DEFAULT,
            "erp_default_customer",
            "No ERP customer found and no default customer is set",
            "Set the default customer in the connection settings, or switch the policy to "
            "create customers.",
        ),
    ],
    ids=["create-without-template", "default-without-default-customer"],
)
def test_without_a_template_or_default_customer_the_order_needs_a_person(
    acme_erp: World, policy: str, unset: str, message: str, hint: str
):
    change_settings(missing_customer_policy=policy, **{unset: ""})
    order = make_order()

    with pytest.raises(PermanentError) as refused:
        link(order)

    assert (refused.value.message, refused.value.hint) == (message, hint)
    assert acme_erp.tap.m3_names() == SEARCHES
    assert not CustomerLink.objects.filter(email=order.customer_email).exists()


# --- A batch of new shoppers: bulk calls, one customer each, no lock held on M3 ---------------


def m3_requests(world: World) -> list:
    """HTTP requests that carried M3 transactions (a bulk POST is one; tokens are none)."""
    return [call for call in world.tap.calls("m3") if call.transactions]


def link_batch(orders: list[Order]) -> dict:
    settings = ConnectionSettings.load()
    return link_customers(orders, erp_client(settings), settings)


def test_a_batch_of_new_shoppers_costs_a_few_bulk_calls_and_one_customer_each(
    acme_erp: World, no_upstream_call_in_a_transaction
):
    orders = [make_order() for _ in range(50)]
    twice = make_order(customer_email=orders[0].customer_email.upper())  # the same shopper again
    created_before = customers_created(acme_erp)

    decisions = link_batch([*orders, twice])

    assert len(m3_requests(acme_erp)) == 4  # lookups, e-mail searches, adds, addresses
    assert len(m3_requests(acme_erp)) / 51 <= 0.2
    assert acme_erp.tap.m3_names().count("CRS610MI/Add") == 50
    assert customers_created(acme_erp) == created_before + 50
    assert decisions[twice.pk] == decisions[orders[0].pk]
    assert {d.how for d in decisions.values()} == {"created in the ERP from the template"}
    assert len({d.customer_number for d in decisions.values()}) == 50
    created = CustomerLink.objects.filter(origin="created")
    assert created.count() == 51  # one per address as the store wrote it, two to one customer
    assert created.values("erp_customer_number").distinct().count() == 50
    assert not NewCustomerGuard.objects.exists()


def test_a_shopper_another_worker_is_linking_waits_and_an_expired_guard_is_taken_over(
    acme_erp: World,
):
    busy, crashed = make_order(), make_order()
    NewCustomerGuard.objects.create(
        search_key=search_key(busy), held_by="worker-b:1",
        held_until=timezone.now() + timedelta(minutes=5),
    )  # fmt: skip
    NewCustomerGuard.objects.create(
        search_key=search_key(crashed), held_by="worker-c:1",
        held_until=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip

    decisions = link_batch([busy, crashed])

    assert isinstance(decisions[busy.pk], RetryableError)
    assert "Another worker" in str(decisions[busy.pk])
    assert decisions[crashed.pk].how == "created in the ERP from the template"
    assert acme_erp.tap.m3_names().count("CRS610MI/Add") == 1
    assert list(NewCustomerGuard.objects.values_list("held_by", flat=True)) == ["worker-b:1"]


def test_a_crash_between_the_bulk_add_and_the_links_creates_nobody_twice(acme_erp: World):
    orders = [make_order() for _ in range(3)]

    class WorkerDied(Exception):
        pass

    with pytest.raises(WorkerDied), transaction.atomic():
        first = link_batch(orders)
        raise WorkerDied  # M3 has the customers; the links and guards are rolled back
    acme_erp.tap.clear()

    again = link_batch(orders)

    assert acme_erp.tap.m3_names() == ["CRS610MI/LstBySearchKey"] * 3
    assert again == {
        pk: CustomerDecision(d.customer_number, "found in the ERP") for pk, d in first.items()
    }
