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
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Min, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog import store_push
from catalog.binding_updates import VALUE_FIELDS, save_bindings
from catalog.models import ItemBinding, StoreSync, SyncRun
from catalog.pricing import refresh
from connectors.m3 import M3Balance, M3Client, M3Price
from core import work
from tenant_settings.connection_clients import erp_client
from tenants.models import Store

logger = logging.getLogger("hub.catalog")
RUN_TASK = "catalog.run_sync"
OVERLAP = timedelta(minutes=10)
CHUNK = 2000
PushState = ItemBinding.PushState


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


def next_run_due(now: datetime) -> datetime | None:
    """When a store's sync next starts in this tenant (a mapping never run: now); None when
    no sync is enabled, so a tenant without catalog syncs is never visited for them."""
    return StoreSync.objects.filter(enabled=True).aggregate(
        at=Min(Coalesce("next_sync_at", Value(now)))
    )["at"]


def next_pending_push(now: datetime) -> datetime | None:
    """When the oldest binding waiting for a push has had its own message's chance (the
    sweeper's grace); None when none waits."""
    oldest = (
        ItemBinding.objects.filter(push_state=store_push.PushState.PENDING)
        .aggregate(at=Min("updated_at"))["at"]
    )  # fmt: skip
    return None if oldest is None else oldest + timedelta(seconds=settings.HUB_SWEEP_GRACE_SECONDS)


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
    full = run.mode == SyncRun.Mode.FULL or mapping.watermark is None
    if full:
        rows, changed = read_everything(client, store, mapping)
        since = None
    else:
        since = mapping.watermark - OVERLAP
        rows, changed = read_changes(client, store, mapping, since)
    StoreSync.objects.filter(pk=mapping.pk).update(watermark=started, last_sync_at=started)
    if full and mapping.batch_updates is not None:
        StoreSync.objects.filter(pk=mapping.pk).update(batch_updates=None)
    queued, batches = store_push.queue_pushes(store, run)
    fields = {"mode": SyncRun.Mode.FULL if full else run.mode, "read_since": since,
              "erp_rows": rows, "changed": changed, "items_total": queued,
              "batch_jobs": batches}  # fmt: skip
    if not queued:
        return work.Done(SyncRun.State.DONE, {**fields, "finished_at": timezone.now()})
    return work.Done(SyncRun.State.PUSHING, fields)


# --- Reading the ERP ---------------------------------------------------------------------------


def read_changes(
    client: M3Client, store: Store, mapping: StoreSync, since: datetime
) -> tuple[int, int]:
    """New prices and balances since `since`, in chunks; returns (rows read, bindings changed)."""
    rows = changed = 0
    for chunk in _chunks(client.changed_prices(since), CHUNK):
        rows += len(chunk)
        changed += apply_prices(store, mapping, chunk)
    for chunk in _chunks(client.changed_balances(since), CHUNK * 2):
        rows += len(chunk)
        changed += apply_balances(store, mapping, chunk)
    return rows, changed


def read_everything(client: M3Client, store: Store, mapping: StoreSync) -> tuple[int, int]:
    """The whole price list(s) and every balance; returns (rows read, bindings changed).

    The lists are streamed into temporary tables (COPY), never held in memory; then every
    binding is read once, in chunks, with its item's price and stock beside it, recomputed,
    and saved only when something changed. Failed items get another try.
    """
    today = timezone.now().date().strftime("%Y%m%d")
    warehouses = set(mapping.warehouse_list())
    lists = [(mapping.price_list, False)]
    if mapping.push_special_prices and mapping.special_price_list:
        lists.append((mapping.special_price_list, True))
    rows = 0
    with connection.cursor() as cursor:
        for statement in STAGING:
            cursor.execute(statement)
        with cursor.copy(
            "COPY erp_price_rows (item, special, valid_from, price) FROM STDIN"
        ) as copy:
            for price_list, special in lists:
                for price in client.list_prices(price_list, mapping.currency):
                    rows += 1
                    valid_from = price.raw.get("FVDT", "")
                    if valid_from <= today and (
                        not price.currency or price.currency == mapping.currency
                    ):
                        copy.write_row((price.item_number, special, valid_from, price.price))
        with cursor.copy("COPY erp_stock_rows (item, whlo, qty) FROM STDIN") as copy:
            for balance in client.all_balances():
                rows += 1
                if not warehouses or balance.warehouse in warehouses:
                    copy.write_row(
                        (balance.item_number, balance.warehouse, str(balance.allocatable))
                    )
        for statement in AGGREGATES:
            cursor.execute(statement)
    changed = 0
    last_id = 0
    remap = mapping.applied_mapping != mapping.mapping_key()
    with connection.cursor() as cursor:
        cursor.execute(STAGED.format(only_differing="" if remap else ONLY_DIFFERING), [store.pk])
        cursor.execute("CREATE UNIQUE INDEX ON erp_staged (id)")
    while True:
        with connection.cursor() as cursor:
            cursor.execute(STAGED_CHUNK, [last_id, CHUNK])
            staged = {row[0]: row[1:] for row in cursor.fetchall()}
        if not staged:
            break
        last_id = max(staged)
        bindings = ItemBinding.objects.filter(pk__in=list(staged)).only(*LOADED)
        dirty = []
        for binding in bindings:
            price, special, stock, has_price, has_stock = staged[binding.pk]
            before = (binding.erp_price, binding.erp_special_price, binding.erp_stock)
            if has_price:
                binding.erp_price, binding.erp_special_price = price, special
            if has_stock:
                binding.erp_stock = json.loads(stock) if isinstance(stock, str) else stock
            after = (binding.erp_price, binding.erp_special_price, binding.erp_stock)
            if refresh(binding, mapping, retry_failed=True) or before != after:
                dirty.append(binding)
        save_bindings(dirty, VALUE_FIELDS)
        changed += len(dirty)
    with connection.cursor() as cursor:
        cursor.execute(STAGING[0])
    StoreSync.objects.filter(pk=mapping.pk).update(applied_mapping=mapping.mapping_key())
    return rows, changed


STAGING = (
    "DROP TABLE IF EXISTS erp_price_rows, erp_stock_rows, erp_item_prices, erp_item_stock,"
    " erp_staged",
    "CREATE TEMP TABLE erp_price_rows (item text, special boolean, valid_from text, price numeric)",
    "CREATE TEMP TABLE erp_stock_rows (item text, whlo text, qty text)",
)
AGGREGATES = (
    "CREATE TEMP TABLE erp_item_prices AS SELECT item,"
    " (array_agg(price ORDER BY valid_from DESC) FILTER (WHERE NOT special))[1] AS price,"
    " (array_agg(price ORDER BY valid_from DESC) FILTER (WHERE special))[1] AS special_price"
    " FROM erp_price_rows GROUP BY item",
    "CREATE UNIQUE INDEX ON erp_item_prices (item)",
    "CREATE TEMP TABLE erp_item_stock AS SELECT item, jsonb_object_agg(whlo, qty) AS stock"
    " FROM erp_stock_rows GROUP BY item",
    "CREATE UNIQUE INDEX ON erp_item_stock (item)",
    "ANALYZE erp_item_prices",
    "ANALYZE erp_item_stock",
)
STAGED = (
    "CREATE TEMP TABLE erp_staged AS"
    " SELECT b.id, p.price, p.special_price, s.stock, p.item IS NOT NULL AS has_price,"
    " s.item IS NOT NULL AS has_stock"
    " FROM catalog_itembinding b"
    " LEFT JOIN erp_item_prices p ON p.item = b.erp_item_number"
    " LEFT JOIN erp_item_stock s ON s.item = b.erp_item_number"
    " WHERE b.store_id = %s {only_differing}"
)
"""Each binding of the store beside its item's listed price and stock, joined once."""
STAGED_CHUNK = (
    "SELECT id, price, special_price, stock, has_price, has_stock FROM erp_staged"
    " WHERE id > %s ORDER BY id LIMIT %s"
)
ONLY_DIFFERING = (
    "AND (b.push_state IN ('failed', 'pending', 'no_erp_value')"
    " OR (p.item IS NOT NULL AND (p.price IS DISTINCT FROM b.erp_price"
    " OR p.special_price IS DISTINCT FROM b.erp_special_price))"
    " OR (s.item IS NOT NULL AND s.stock IS DISTINCT FROM b.erp_stock))"
)
"""Bindings a full read can change; all of them when the store's mapping changed."""
LOADED = ("id", "erp_item_number", "push_state", *VALUE_FIELDS, "pushed_price",
          "pushed_special_price", "pushed_quantity")  # fmt: skip


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
        valid_from = price.raw.get("FVDT", "")
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
        ).only(*LOADED)
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


def move_run(run: SyncRun, state: str, message: str, fields: dict[str, Any]) -> bool:
    """The core's state move, then: a run whose batches all ended while it queued is done."""
    moved = work.guarded_move(run, state, message, fields)
    if moved and state == SyncRun.State.PUSHING:
        store_push.close_if_complete(run.pk)
    return moved


def register_work_kind() -> None:
    work.register(
        work.WorkKind(
            model=SyncRun,
            task=RUN_TASK,
            work_states=(SyncRun.State.PENDING,),
            lease_seconds=120,
            move=move_run,
        )
    )
