"""Outside keys: unique per tenant, and the keys already written upstream still parse."""

from __future__ import annotations

from core import keys


def test_keys_name_the_tenant_so_equal_ids_never_share_one():
    acme = keys.outside_key(keys.STORE_STATUS, 12, 0, schema="acme")
    globex = keys.outside_key(keys.STORE_STATUS, 12, 0, schema="globex")
    assert acme == "hub-acme-status12-0"
    assert acme != globex


def test_shipstation_order_keys_written_before_the_keys_module_still_parse():
    assert keys.record_id_of("hub-acme-order42", keys.ORDER, schema="acme") == 42
    assert keys.outside_key(keys.ORDER, 42, schema="acme") == "hub-acme-order42"


def test_other_tenants_and_other_kinds_keys_are_not_ours():
    for key in ("hub-globex-order42", "hub-acme-shipment42", "hub-acme-order", "x-acme-order4",
                "hub-acme-order42x", "hub-acme-order-42", "", None):  # fmt: skip
        assert keys.record_id_of(key, keys.ORDER, schema="acme") is None, key
    assert keys.record_id_of("hub-acme-push7-3", keys.PRICE_PUSH, schema="acme") == 7


def test_erp_order_references_keep_the_form_m3_already_holds():
    assert keys.erp_order_reference(1234) == "HUB1234"
    assert len(keys.erp_order_reference(10**16)) <= 20  # CUOR holds 20 characters
