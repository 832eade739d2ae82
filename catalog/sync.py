"""Sync runs: read what changed in the ERP (or everything), recompute the bindings, queue pushes.

A *changes* run reads `OIS320MI/LstNewPrices` and `OIS100MI/LstNewBalances` since the store's
watermark minus an overlap (M3's clock and ours may differ, and the feeds return no timestamp
of their own, contract §5.1); the watermark moves to the moment the read started, only once the
read succeeded. A *full* run streams the whole price list and every balance, so a change the
watermark moved past is caught the same night. Either way only bindings whose store values
changed are written, and only bindings whose values differ from the last push are sent.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog import push
from catalog.models import ItemBinding, StoreSync, SyncRun
from catalog.pricing import refresh
from catalog.store_values import VALUE_FIELDS, save_bindings
from integration_hub.connectors.m3 import M3Balance, M3Client, M3Price
from integration_hub.core import work
from tenant_settings.connection_clients import erp_client
from tenants.models import Store

logger = logging.getLogger("hub.catalog")
RUN_TASK = "catalog.run_sync"
OVERLAP = timedelta(minutes=10)
CHUNK = 2000
B = ItemBinding.PushState


def settings_for(store: Store) -> StoreSync:
    mapping, _ = StoreSync.objects.get_or_create(store=store)
    return mapping


def request_run(store: Store, mode: str, actor: str = "") -> SyncRun | None:
    """Start a run for the store now; None when one is already reading the ERP."""
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(store=store, mode=mode, requested_by=actor)
    except IntegrityError:
        return None
    work.schedule(run)
    return run


def due_runs(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: start the runs whose interval (or nightly reconciliation) has come."""
    due = StoreSync.objects.filter(enabled=True).filter(
        Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now)
    )
    started = []
    for mapping in due.select_related("store"):
        full = mapping.watermark is None or (
            mapping.next_full_at is not None and mapping.next_full_at <= now
        )
        fields = {"next_sync_at": now + timedelta(minutes=mapping.interval_minutes)}
        if full or mapping.next_full_at is None:
            fields["next_full_at"] = next_nightly(mapping, now)
        run = None
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(
                    store=mapping.store, mode=SyncRun.Mode.FULL if full else SyncRun.Mode.CHANGES
                )
        except IntegrityError:
            if full:
                fields.pop("next_full_at", None)
        StoreSync.objects.filter(pk=mapping.pk).update(**fields)
        if run is not None:
            started.append((run.pk,))
    return started


def next_nightly(mapping: StoreSync, now: datetime) -> datetime:
    today = datetime.combine(now.date(), time(hour=mapping.nightly_full_hour % 24), now.tzinfo)
    return today if today > now else today + timedelta(days=1)


def run_step(run: SyncRun) -> work.Done:
    """One run: read the ERP into the bindings, then queue the pushes."""
    store = Store.objects.select_related("account").get(pk=run.store_id)
    mapping = settings_for(store)
    started = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(started_at=started)
    client = erp_client()
    full = run.mode == SyncRun.Mode.FULL
    if full:
        rows, changed = read_everything(client, store, mapping)
        since = None
    else:
        since = (mapping.watermark or started) - OVERLAP
        rows, changed = read_changes(client, store, mapping, since)
    StoreSync.objects.filter(pk=mapping.pk).update(watermark=started, last_sync_at=started)
    if full and mapping.batch_updates is not None:
        StoreSync.objects.filter(pk=mapping.pk).update(batch_updates=None)
    queued, batches = push.queue_pushes(store, run)
    fields = {"read_since": since, "erp_rows": rows, "changed": changed,
              "items_total": queued, "batch_jobs": batches}  # fmt: skip
    if not queued:
        return work.Done(SyncRun.State.DONE, {**fields, "finished_at": timezone.now()})
    return work.Done(SyncRun.State.PUSHING, fields)


# --- Reading the ERP ---------------------------------------------------------------------------


def read_changes(
    client: M3Client, store: Store, mapping: StoreSync, since: datetime
) -> tuple[int, int]:
    """New prices and balances since `since`; returns (rows read, bindings changed)."""
    prices = client.new_prices(since)
    balances = client.new_balances(since)
    changed = apply_prices(store, mapping, prices) + apply_balances(store, mapping, balances)
    return len(prices) + len(balances), changed


def read_everything(client: M3Client, store: Store, mapping: StoreSync) -> tuple[int, int]:
    """The whole price list(s) and every balance, streamed in chunks; failed items retried."""
    rows = changed = 0
    lists = [(mapping.price_list, False)]
    if mapping.push_special_prices and mapping.special_price_list:
        lists.append((mapping.special_price_list, True))
    for price_list, special in lists:
        for chunk in _chunks(client.list_prices(price_list, mapping.currency), CHUNK):
            rows += len(chunk)
            changed += apply_prices(store, mapping, chunk, special=special, retry_failed=True)
    for chunk in _chunks(client.all_balances(), CHUNK * 2):
        rows += len(chunk)
        changed += apply_balances(store, mapping, chunk, retry_failed=True)
    return rows, changed


def apply_prices(
    store: Store,
    mapping: StoreSync,
    prices: Iterable[M3Price],
    *,
    special: bool | None = None,
    retry_failed: bool = False,
) -> int:
    """Record the prices of the store's lists on its bindings; returns bindings changed.

    A change feed mixes every list: lines of the store's price list set the price, lines of its
    special price list the special price; the line valid from the latest date wins.
    """
    wanted: dict[str, tuple[str, Decimal]] = {}
    wanted_special: dict[str, tuple[str, Decimal]] = {}
    today = timezone.now().date().strftime("%Y%m%d")
    for price in prices:
        if price.currency and price.currency != mapping.currency:
            continue
        if special is None:
            is_special = bool(mapping.special_price_list) and (
                price.price_list == mapping.special_price_list
            )
            if not is_special and price.price_list != mapping.price_list:
                continue
        else:
            is_special = special
        valid_from = price.valid_from.strftime("%Y%m%d") if price.valid_from else ""
        if valid_from > today:
            continue
        target = wanted_special if is_special else wanted
        known = target.get(price.item_number)
        if known is None or valid_from >= known[0]:
            target[price.item_number] = (valid_from, price.price)

    def record(binding: ItemBinding) -> None:
        if binding.erp_item_number in wanted:
            binding.erp_price = wanted[binding.erp_item_number][1]
        if binding.erp_item_number in wanted_special:
            binding.erp_special_price = wanted_special[binding.erp_item_number][1]

    return _apply(store, mapping, {*wanted, *wanted_special}, record, retry_failed)


def apply_balances(
    store: Store, mapping: StoreSync, balances: Iterable[M3Balance], *, retry_failed: bool = False
) -> int:
    """Record each item's available quantity (AV01) per mapped warehouse."""
    warehouses = set(mapping.warehouse_list())
    by_item: dict[str, dict[str, str]] = defaultdict(dict)
    for balance in balances:
        if warehouses and balance.warehouse not in warehouses:
            continue
        by_item[balance.item_number][balance.warehouse] = str(balance.allocatable)

    def record(binding: ItemBinding) -> None:
        binding.erp_stock = {**binding.erp_stock, **by_item[binding.erp_item_number]}

    return _apply(store, mapping, by_item.keys(), record, retry_failed)


def _apply(
    store: Store,
    mapping: StoreSync,
    items: Iterable[str],
    change: Callable[[ItemBinding], None],
    retry_failed: bool,
) -> int:
    """Change the bindings of `items`, recompute them and save those that changed."""
    items = list(items)
    changed = []
    for start in range(0, len(items), CHUNK):
        bindings = ItemBinding.objects.filter(
            store=store, erp_item_number__in=items[start : start + CHUNK]
        ).only("id", "erp_item_number", "push_state", *VALUE_FIELDS, "pushed_price",
               "pushed_special_price", "pushed_quantity")  # fmt: skip
        for binding in bindings:
            before = (binding.erp_price, binding.erp_special_price, dict(binding.erp_stock))
            change(binding)
            after = (binding.erp_price, binding.erp_special_price, binding.erp_stock)
            if refresh(binding, mapping, retry_failed=retry_failed) or before != after:
                changed.append(binding)
    save_bindings(changed, VALUE_FIELDS)
    return len(changed)


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def register_work_kind() -> None:
    S = SyncRun.State
    work.register(
        work.WorkKind(
            model=SyncRun,
            task=RUN_TASK,
            work_states=(S.PENDING,),
            needs_attention=S.NEEDS_ATTENTION,
            failed=S.FAILED,
            in_tenants=True,
            age_field="updated_at",
            lease_seconds=120,
        )
    )
