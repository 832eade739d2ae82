"""Pushing changed prices and stock to a store: batch jobs of ≤250, or single updates.

Pending bindings are taken in groups of 250 into `PushBatch` work items. A batch is sent as one
API2Cart batch job (`product.update.batch` / `product.variant.update.batch`) with an
idempotency key of its own, its job id kept before the result is read, so a retry reads the
same job instead of sending a second. Each item's outcome comes from `batch.job.result`: a
success records the values as pushed; a failure keeps the store's words on the binding and is
tried again in a later batch after the core's backoff for its failure count (the timing is the
work-item core's, as for every retry), and after `ITEM_ATTEMPTS` it stays *failed* for a
person to see.
A store whose `cart.methods` offers no batch methods gets single `product.update` calls.
Every call goes through the store's shared concurrency limit (5 per store, 10 per account).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.binding_updates import save_bindings
from catalog.bindings import foreign_items
from catalog.models import ItemBinding, PushBatch, StoreSync, SyncRun
from catalog.pricing import needs_push
from connectors.api2cart import (
    MAX_BATCH_ITEMS,
    Api2CartClient,
    BatchJobResult,
    ProductUpdate,
    VariantUpdate,
)
from connectors.errors import (
    AuthenticationError,
    PermanentError,
    RetryableError,
)
from core import keys, work
from core.dispatch import dispatch
from core.models import WorkAttempt
from tenants.models import Store
from tenants.store_clients import api2cart_for_store

logger = logging.getLogger("hub.catalog")
PUSH_TASK = "catalog.push_batch"
PENDING_TASK = "catalog.push_pending"
SINGLE_BATCH_ITEMS = 50
"""Items per batch for a store without batch methods (each one a call of its own)."""
ITEM_ATTEMPTS = 3
QUEUE_BATCHES = 8
"""Batches made per transaction when queueing."""
FIRST_POLL_SECONDS = 0.6
POLL_SECONDS = 1.0
"""A batch job's result is asked for this long after sending it, then every POLL_SECONDS; the
worker is free meanwhile, so one worker keeps many jobs in flight."""
BATCH_METHODS = ("product.update.batch", "product.variant.update.batch")
PushState = ItemBinding.PushState
OPEN_BATCH = (PushBatch.State.PENDING, PushBatch.State.SUBMITTED)


# --- Queueing ----------------------------------------------------------------------------------


def queue_pushes(store: Store, run: SyncRun | None) -> tuple[int, int]:
    """Put every pending binding of the store into batches; returns (items, batches)."""
    ItemBinding.objects.filter(
        store=store, push_state=PushState.PENDING, store_product_id=""
    ).update(
        push_state=PushState.FAILED,
        push_error="No store product id: match the store's catalog first (Store syncs › "
        "Match products by SKU).",
    )
    client = api2cart_for_store(store)
    size = MAX_BATCH_ITEMS if uses_batch_methods(store, client) else SINGLE_BATCH_ITEMS
    items = batches = 0
    for kind, variants in ((PushBatch.Kind.PRODUCTS, False), (PushBatch.Kind.VARIANTS, True)):
        while True:
            queued, made = _queue_some(store, run, kind, variants, size)
            if not made:
                break
            items += queued
            batches += made
    if run is not None:
        _close_superseded_runs(store, run)
    return items, batches


def _queue_some(
    store: Store, run: SyncRun | None, kind: str, variants: bool, size: int
) -> tuple[int, int]:
    """Up to `QUEUE_BATCHES` batches in one transaction; returns (items, batches)."""
    with transaction.atomic():
        pending = ItemBinding.objects.filter(store=store, push_state=PushState.PENDING)
        if variants:
            pending = pending.exclude(store_variant_id="")
        else:
            pending = pending.filter(store_variant_id="")
        rows = list(
            pending.select_for_update(skip_locked=True)
            .order_by("id")
            .only("id", "sku", "store_product_id", "store_variant_id", "price", "special_price",
                  "quantity", "pushed_price", "pushed_special_price", "pushed_quantity")
            [: size * QUEUE_BATCHES]
        )  # fmt: skip
        if not rows:
            return 0, 0
        groups = [rows[start : start + size] for start in range(0, len(rows), size)]
        batches = PushBatch.objects.bulk_create(
            PushBatch(run=run, store=store, kind=kind, items=[_item(b) for b in group])
            for group in groups
        )
        for group, batch in zip(groups, batches, strict=True):
            for binding in group:
                binding.batch_id, binding.push_state = batch.pk, PushState.QUEUED
        save_bindings(rows, ("push_state", "batch"))
        work.schedule_many(PushBatch, [batch.pk for batch in batches])
    return len(rows), len(batches)


def _item(binding: ItemBinding) -> dict[str, Any]:
    """What one binding sends: its store ids and only the values that differ from the last push."""
    item: dict[str, Any] = {"binding": binding.pk, "sku": binding.sku}
    if binding.store_variant_id:
        item.update(id=binding.store_variant_id, product_id=binding.store_product_id)
    else:
        item["id"] = binding.store_product_id
    for field, pushed in (("price", "pushed_price"), ("special_price", "pushed_special_price")):
        value = getattr(binding, field)
        if value is not None and value != getattr(binding, pushed):
            item[field] = str(value)
    if binding.quantity is not None and binding.quantity != binding.pushed_quantity:
        item["quantity"] = binding.quantity
    return item


def _close_superseded_runs(store: Store, run: SyncRun) -> None:
    """Older runs still *pushing* with no batch left open are finished (retries moved on)."""
    SyncRun.objects.filter(store=store, state=SyncRun.State.PUSHING).exclude(pk=run.pk).exclude(
        batches__state__in=OPEN_BATCH
    ).update(state=SyncRun.State.DONE, finished_at=timezone.now())


def uses_batch_methods(store: Store, client: Api2CartClient) -> bool:
    """Whether the store offers batch product updates (`cart.methods`, asked once and kept)."""
    mapping, _ = StoreSync.objects.get_or_create(store=store)
    if mapping.batch_updates is None:
        methods = set(client.call("cart.methods").get("method") or [])
        mapping.batch_updates = all(method in methods for method in BATCH_METHODS)
        StoreSync.objects.filter(pk=mapping.pk).update(batch_updates=mapping.batch_updates)
    return bool(mapping.batch_updates)


def push_pending(store_id: int, run_id: int | None) -> tuple[int, int]:
    """Task body: queue what became pending again (retries, values changed during a push)."""
    store = Store.objects.select_related("account").get(pk=store_id)
    run = SyncRun.objects.filter(pk=run_id).first() if run_id else None
    return queue_pushes(store, run)


# --- Sending a batch ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    index: int
    ok: bool
    error: str = ""


def push_step(batch: PushBatch) -> work.Done:
    """One attempt at a batch: send it (once), read the job's result, record each item."""
    store = Store.objects.select_related("account").get(pk=batch.store_id)
    if not (batch.job_id or batch.outcomes):
        _drop_foreign_items(store, batch)
        if not batch.items:
            return work.Done(PushBatch.State.DONE, {"finished_at": timezone.now()})
    client = api2cart_for_store(store)
    if not uses_batch_methods(store, client):
        return _send_singly(batch, client)
    if not batch.job_id:
        try:
            job_id = _submit(batch, client)
        except (AuthenticationError, RetryableError):
            raise
        except PermanentError as exc:
            message = f"{exc.message} — {exc.hint}" if exc.hint else exc.message
            settle(batch, [Outcome(i, False, message) for i in range(len(batch.items))])
            raise work.NeedsAttention(
                f"The store refused the batch: {exc.message}", hint=exc.hint
            ) from exc
        PushBatch.objects.filter(pk=batch.pk).update(
            job_id=job_id, submitted_at=timezone.now(), state=PushBatch.State.SUBMITTED
        )
        batch.job_id, batch.state = job_id, PushBatch.State.SUBMITTED
        dispatch(PUSH_TASK, batch.pk, countdown=FIRST_POLL_SECONDS)
        return work.Done(PushBatch.State.SUBMITTED)
    result = _job_result(client, batch.job_id)
    if result is None:
        dispatch(PUSH_TASK, batch.pk, countdown=POLL_SECONDS)
        return work.Done(PushBatch.State.SUBMITTED)
    by_index = {item.index: item for item in result.items}
    outcomes = []
    for index in range(len(batch.items)):
        item = by_index.get(index)
        if item is None:
            outcomes.append(Outcome(index, False, "The batch job's result does not list it."))
        elif item.status == "success":
            outcomes.append(Outcome(index, True))
        else:
            words = "; ".join(item.errors) or f"status {item.status}"
            outcomes.append(Outcome(index, False, words))
    return settle(batch, outcomes)


def _drop_foreign_items(store: Store, batch: PushBatch) -> None:
    """Ownership is checked again just before sending: an item whose store product this tenant
    does not hold on a shared store is refused for good and left out of the batch."""
    refused = foreign_items(store, batch.items)
    if not refused:
        return
    ids = [batch.items[index]["binding"] for index in refused]
    reason = next(iter(refused.values()))
    with transaction.atomic():
        ItemBinding.objects.filter(pk__in=ids, batch=batch).update(
            push_state=PushState.FAILED, push_error=reason, batch=None
        )
        batch.items = [item for index, item in enumerate(batch.items) if index not in refused]
        PushBatch.objects.filter(pk=batch.pk).update(items=batch.items, failed=len(refused))
        if batch.run_id:
            _count_on_run(batch.run_id, 0, len(refused))
    logger.warning(
        "push batch %s: %s item(s) refused, their store products are not this tenant's",
        batch.pk,
        len(refused),
    )


def _submit(batch: PushBatch, client: Api2CartClient) -> str:
    key = keys.outside_key(keys.PRICE_PUSH, batch.pk)
    if batch.kind == PushBatch.Kind.VARIANTS:
        jobs = client.update_variants_batch(
            [_variant_update(i) for i in batch.items], idempotency_key=key
        )
    else:
        jobs = client.update_products_batch(
            [_product_update(i) for i in batch.items], idempotency_key=key
        )
    return jobs[0]


def _job_result(client: Api2CartClient, job_id: str) -> BatchJobResult | None:
    """The job's result once processed; None while it still runs (code 12 or in progress)."""
    try:
        result = client.batch_job_result(job_id)
    except RetryableError as exc:
        if exc.code == "12":
            return None
        raise
    return result if result.status == "processed" or result.items else None


def _send_singly(batch: PushBatch, client: Api2CartClient) -> work.Done:
    """A store without batch methods: one update per item; a retry resumes after the last done."""
    outcomes = [Outcome(o["index"], o["ok"], o.get("error", "")) for o in batch.outcomes]
    done = {o.index for o in outcomes}
    for index, item in enumerate(batch.items):
        if index in done:
            continue
        key = keys.outside_key(keys.PRICE_PUSH, batch.pk, index)
        try:
            if batch.kind == PushBatch.Kind.VARIANTS:
                client.update_variant(_variant_update(item), idempotency_key=key)
            else:
                client.update_product(_product_update(item), idempotency_key=key)
            outcomes.append(Outcome(index, True))
        except (AuthenticationError, RetryableError):
            PushBatch.objects.filter(pk=batch.pk).update(outcomes=_as_json(batch, outcomes))
            raise
        except PermanentError as exc:
            outcomes.append(Outcome(index, False, exc.message))
    return settle(batch, outcomes)


def _values(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "price": Decimal(item["price"]) if "price" in item else None,
        "special_price": Decimal(item["special_price"]) if "special_price" in item else None,
        "quantity": Decimal(item["quantity"]) if "quantity" in item else None,
    }


def _product_update(item: dict[str, Any]) -> ProductUpdate:
    return ProductUpdate(id=item["id"], **_values(item))


def _variant_update(item: dict[str, Any]) -> VariantUpdate:
    return VariantUpdate(id=item["id"], product_id=item["product_id"], **_values(item))


# --- Recording the outcome ---------------------------------------------------------------------


def _as_json(batch: PushBatch, outcomes: Iterable[Outcome]) -> list[dict[str, Any]]:
    return [
        {"index": o.index, "sku": batch.items[o.index].get("sku", ""), "ok": o.ok, "error": o.error}
        for o in sorted(outcomes, key=lambda o: o.index)
    ]


def settle(batch: PushBatch, outcomes: list[Outcome]) -> work.Done:
    """Record every item's outcome on its binding, the batch and its run."""
    now = timezone.now()
    pushed = failed_for_good = 0
    again = False
    with transaction.atomic():
        ids = [item["binding"] for item in batch.items]
        bindings = {
            b.pk: b for b in ItemBinding.objects.select_for_update().filter(pk__in=ids, batch=batch)
        }
        for outcome in outcomes:
            item = batch.items[outcome.index]
            binding = bindings.get(item["binding"])
            if binding is None:
                continue
            binding.batch = None
            if outcome.ok:
                pushed += 1
                for field in ("price", "special_price", "quantity"):
                    if field in item:
                        setattr(binding, f"pushed_{field}", item[field])
                binding.pushed_price = _decimal(binding.pushed_price)
                binding.pushed_special_price = _decimal(binding.pushed_special_price)
                binding.pushed_at, binding.push_failures, binding.push_error = now, 0, ""
                binding.push_state = PushState.PENDING if needs_push(binding) else PushState.IN_SYNC
            else:
                binding.push_failures += 1
                binding.push_error = outcome.error[:2000]
                if binding.push_failures >= ITEM_ATTEMPTS:
                    binding.push_state = PushState.FAILED
                    failed_for_good += 1
                else:
                    binding.push_state = PushState.PENDING
            again = again or binding.push_state == PushState.PENDING
        save_bindings(
            list(bindings.values()),
            ("pushed_price", "pushed_special_price", "pushed_quantity", "pushed_at",
             "push_state", "push_failures", "push_error", "batch"),
        )  # fmt: skip
        failed = sum(1 for o in outcomes if not o.ok)
        fields = {"succeeded": pushed, "failed": failed, "finished_at": now,
                  "outcomes": _as_json(batch, outcomes)}  # fmt: skip
        if batch.run_id:
            _count_on_run(batch.run_id, pushed, failed_for_good)
        if again:
            dispatch(PENDING_TASK, batch.store_id, batch.run_id, countdown=_next_push_in(bindings))
    if failed:
        logger.info("push batch %s: %s of %s items refused", batch.pk, failed, len(outcomes))
    return work.Done(PushBatch.State.DONE, fields)


def _next_push_in(bindings: dict[int, ItemBinding]) -> float:
    """When the bindings left pending go out again: the core's backoff (`work.backoff_seconds`)
    for the fewest failures among them, so a refused item waits like any retried work item and
    a value that changed during the push (no failure) goes out in a second or two."""
    failures = min(b.push_failures for b in bindings.values() if b.push_state == PushState.PENDING)
    return work.backoff_seconds(failures)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _count_on_run(run_id: int, done: int, failed: int) -> None:
    SyncRun.objects.filter(pk=run_id).update(
        items_done=F("items_done") + done, items_failed=F("items_failed") + failed
    )
    close_if_complete(run_id)


def close_if_complete(run_id: int) -> None:
    """A pushing run whose every item has an outcome is done (batches may end before the run
    has finished queueing them, so this is checked from both sides)."""
    SyncRun.objects.filter(
        pk=run_id,
        state=SyncRun.State.PUSHING,
        items_total__lte=F("items_done") + F("items_failed"),
    ).update(state=SyncRun.State.DONE, finished_at=timezone.now())


def release_parked(batch: PushBatch, change: work.Change) -> None:
    """A batch parked (needs attention or failed): its items show the reason and wait."""
    if change.outcome == WorkAttempt.Outcome.RETRY:
        return
    ItemBinding.objects.filter(batch=batch, push_state=PushState.QUEUED).update(
        push_state=PushState.FAILED, push_error=change.message[:2000], batch=None
    )


def register_work_kind() -> None:
    work.register(
        work.WorkKind(
            model=PushBatch,
            task=PUSH_TASK,
            work_states=(PushBatch.State.PENDING, PushBatch.State.SUBMITTED),
            note=release_parked,
        )
    )


def stores_left_pending(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: pending bindings nobody queued (a lost message, a crash between steps)."""
    stores = (
        ItemBinding.objects.filter(push_state=PushState.PENDING, updated_at__lt=stale)
        .values_list("store_id", flat=True)
        .distinct()
    )
    reading = set(
        SyncRun.objects.filter(state=SyncRun.State.PENDING).values_list("store_id", flat=True)
    )
    return [(store_id, None) for store_id in stores if store_id not in reading]
