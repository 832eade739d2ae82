"""The catalog in the tenant portal: per-store sync page, actions, runs, refused claims."""

from __future__ import annotations

from django_tenants.utils import schema_context

from catalog.models import ItemBinding, StoreSync, SyncRun, UnmatchedProduct
from tenants.models import SkuOwnership
from tests.support.catalog import bound

ADMIN = "/admin/catalog"


def test_store_page_shows_last_sync_pending_failed_progress_and_run_history(world, acme_admin):
    store = world.stores["acme-outlet"]
    with schema_context("acme"):
        mapping = bound(store)
        ItemBinding.objects.filter(store=store, sku="AC-1003").update(
            push_state=ItemBinding.PushState.FAILED, push_error="Locked by the marketplace."
        )
        running = SyncRun.objects.create(
            store=store, mode=SyncRun.Mode.FULL, state=SyncRun.State.PUSHING,
            items_total=400, items_done=150, items_failed=2,
        )  # fmt: skip

    listing = acme_admin.get(f"{ADMIN}/storesync/").content.decode()
    assert "Acme Outlet" in listing
    assert "152 / 400" in listing
    page = acme_admin.get(f"{ADMIN}/storesync/{mapping.pk}/change/").content.decode()
    assert "push_state__exact=failed" in page and "Run history" in page
    failed = acme_admin.get(
        f"{ADMIN}/itembinding/?store__id__exact={store.pk}&push_state__exact=failed"
    ).content.decode()
    assert "AC-1003" in failed and "Locked by the marketplace." in failed
    runs = acme_admin.get(f"{ADMIN}/syncrun/?store__id__exact={store.pk}").content.decode()
    assert f"#{running.pk}" in runs and "Full reconciliation" in runs


def test_sync_now_and_full_resync_start_runs_named_after_the_user(world, acme_admin):
    store = world.stores["acme-outlet"]
    with schema_context("acme"):
        mapping, _ = StoreSync.objects.get_or_create(store=store)
    for action, mode in (("sync_now", "changes"), ("full_resync", "full")):
        response = acme_admin.post(
            f"{ADMIN}/storesync/", {"action": action, "_selected_action": [mapping.pk]}
        )
        assert response.status_code == 302
        with schema_context("acme"):
            run = SyncRun.objects.filter(store=store).latest("created_at")
            assert (run.mode, run.requested_by) == (mode, "ops@acme.test")
            SyncRun.objects.filter(pk=run.pk).update(state=SyncRun.State.DONE)


def test_binding_a_sku_another_tenant_owns_is_refused_with_a_form_error(world, acme_admin):
    store = world.stores["northwind"]
    response = acme_admin.post(
        f"{ADMIN}/itembinding/add/",
        {"store": store.pk, "sku": "GX-1002", "erp_item_number": "GX-1002",
         "store_product_id": "1", "store_variant_id": ""},
    )  # fmt: skip
    assert response.status_code == 200
    assert "belongs to another tenant of this store" in response.content.decode()
    assert "Globex" not in response.content.decode()
    with schema_context("acme"):
        assert not ItemBinding.objects.filter(sku="GX-1002").exists()


def test_the_unmatched_report_lists_unowned_store_skus_but_never_another_tenants(world, acme_admin):
    store = world.stores["northwind"]
    SkuOwnership.objects.filter(store=store, sku="GX-1003").delete()  # nobody owns it now
    with schema_context("acme"):
        bound(store)
        shown = UnmatchedProduct.objects.filter(store=store)
        assert shown.filter(sku="GX-1003").exists()
        assert not shown.filter(sku="GX-1005").exists()  # Globex's
    page = acme_admin.get(f"{ADMIN}/unmatchedproduct/").content.decode()
    assert "GX-1003" in page and "No ERP item GX-1003" in page
    assert "GX-1005" not in page


def test_a_catalog_manager_edits_the_mapping_and_syncs_but_a_viewer_only_looks(world, acme):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from tests.support.portal import signed_in

    store = world.stores["acme-outlet"]
    with schema_context("acme"):
        mapping, _ = StoreSync.objects.get_or_create(store=store)
        for name, role in (("cat", "Catalog manager"), ("look", "Viewer")):
            user = get_user_model().objects.create_user(name, password="pw", is_staff=True)
            user.groups.add(Group.objects.get(name=role))
    sync_now = {"action": "sync_now", "_selected_action": [mapping.pk]}
    manager = signed_in("acme.localhost", "cat", "pw")
    assert 'name="_save"' in manager.get(f"{ADMIN}/storesync/{mapping.pk}/change/").content.decode()
    assert manager.post(f"{ADMIN}/storesync/", sync_now).status_code == 302
    with schema_context("acme"):
        assert SyncRun.objects.filter(store=store, requested_by="cat").exists()
    viewer = signed_in("acme.localhost", "look", "pw")
    assert (
        'name="_save"' not in viewer.get(f"{ADMIN}/storesync/{mapping.pk}/change/").content.decode()
    )
    viewer.post(f"{ADMIN}/storesync/", sync_now)
    with schema_context("acme"):
        assert not SyncRun.objects.filter(store=store, requested_by="look").exists()
