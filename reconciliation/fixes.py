"""The one action that fixes each finding, done by a worker (it calls the outside).

- *Import now*: the store order is read (`order.info`) and accepted like a backfilled one: open
  orders go through the pipeline, orders already done are history only.
- *Retry*: a parked order is retried where it stopped (`orders.admin_actions.retry_order`); a
  sent order ShipStation lost or holds with another total is sent again under its orderKey
  (an upsert: never a second ShipStation order).
- *Cancel in ShipStation*: `shipping.shipstation_changes.cancel_in_shipstation`.
- *Open the order*: a person decides; no work.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Q, QuerySet

from connectors.errors import NotFoundError
from core import work
from orders.admin_actions import RETRYABLE_STATES, retry_order
from orders.intake.backfill import accept_store_rows
from orders.models import Backfill, Order, OrderEvent
from reconciliation.models import Finding
from shipping.shipstation_changes import cancel_in_shipstation
from shipping.shipstation_push import shipstation_request
from tenant_settings.connection_clients import shipstation_client
from tenants.models import Store, Tenant
from tenants.store_clients import api2cart_for_store

FIXABLE = (Finding.State.OPEN, Finding.State.NEEDS_ATTENTION, Finding.State.FAILED)


def request_fixes(findings: QuerySet[Finding] | Iterable[Finding], actor: str) -> list[int]:
    """Queue the fix of each finding that has one to do (not *open the order*)."""
    ids = [
        f.pk for f in findings if f.fix != Finding.Fix.OPEN_ORDER and f.state in FIXABLE
    ]  # fmt: skip
    return work.retry_now(Finding, ids, state=Finding.State.FIXING, fixed_by=actor)


def fix(finding: Finding) -> work.Done:
    actions = {
        Finding.Fix.IMPORT: import_now,
        Finding.Fix.RETRY: retry,
        Finding.Fix.CANCEL_IN_SHIPSTATION: cancel,
    }
    if finding.fix not in actions:
        raise work.GiveUp("Nothing to do automatically: open the order.")
    return work.Done(Finding.State.FIXED, fields={"outcome": actions[finding.fix](finding)})


def import_now(finding: Finding) -> str:
    store = Store.objects.select_related("account").get(pk=finding.store_id)
    known = Order.objects.filter(
        Q(store_order_id=finding.store_order_id) | Q(store_order_id=finding.order_number),
        store_id=store.pk,
    ).first()
    if known is not None:
        return f"Already in the hub as order #{known.pk} ({known.get_state_display()})."
    client = api2cart_for_store(store)
    by_id = finding.store_order_id != finding.order_number
    try:
        order = client.order_info(
            None if by_id else finding.order_number, id=finding.store_order_id if by_id else None
        )
    except NotFoundError as exc:
        raise work.GiveUp(f"The store no longer has this order: {exc}") from exc
    accepted = accept_store_rows(
        store,
        [order.raw],
        members=list(Tenant.objects.filter(store_memberships__store=store, is_active=True)),
        tenant=Tenant.objects.get(schema_name=connection.schema_name),
        mode=Backfill.Mode.FULL,
        actor=f"reconciliation finding #{finding.pk}",
        client=client,
    )
    if not accepted.new and not accepted.existing:
        raise work.NeedsAttention(
            f"Store order {finding.order_number} could not be imported.",
            hint="It has lines without a SKU or SKUs nobody owns; fix them in the store or "
            "under SKU owners, then fix this finding again.",
        )
    imported = Order.objects.filter(store_id=store.pk, store_order_id=order.reference).first()
    if imported is not None:
        Finding.objects.filter(pk=finding.pk).update(order=imported)
    return f"Imported as order #{imported.pk if imported else '?'}."


def retry(finding: Finding) -> str:
    order = _order_of(finding)
    if order.state in RETRYABLE_STATES:
        outcome = retry_order(order, finding.fixed_by or "reconciliation")
        if not outcome.ok:
            raise work.NeedsAttention(outcome.message, hint="Open the order.")
        return outcome.message
    if not order.erp_order_number:
        raise work.NeedsAttention(
            f"{order} is {order.get_state_display()}: nothing to send again.",
            hint="Open the order.",
        )
    answer = shipstation_client().create_order(shipstation_request(order))
    Order.objects.filter(pk=order.pk).update(
        shipstation_order_id=str(answer.order_id), shipstation_order_key=answer.order_key
    )
    message = (
        f"Sent to ShipStation again under orderKey {answer.order_key}: ShipStation order "
        f"{answer.order_id}."
    )
    OrderEvent.objects.create(
        order=order, step="reconciliation", outcome=OrderEvent.Outcome.SUCCESS, message=message,
        upstream_ref=str(answer.order_id), actor=finding.fixed_by,
    )  # fmt: skip
    return message


def cancel(finding: Finding) -> str:
    order = _order_of(finding)
    message = cancel_in_shipstation(order)
    OrderEvent.objects.create(
        order=order, step="reconciliation", outcome=OrderEvent.Outcome.SUCCESS, message=message,
        actor=finding.fixed_by,
    )  # fmt: skip
    return message


def _order_of(finding: Finding) -> Order:
    if finding.order_id is None:
        raise work.GiveUp("The finding names no hub order.")
    order = Order.objects.filter(pk=finding.order_id).first()
    if order is None:
        raise work.GiveUp("The hub order is gone.")
    return order


def register_work_kind() -> None:
    work.register(
        work.WorkKind(
            model=Finding,
            task="reconciliation.fix",
            work_states=(Finding.State.FIXING,),
        )
    )
