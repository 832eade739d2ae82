"""From ERP values to what a store shows: the store's price list, rounding, warehouses, safety.

`refresh` recomputes a binding's store values and whether it must be pushed: a binding is
*pending* while a value the store should show differs from the value last pushed.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from catalog.models import ItemBinding, StoreSync

PushState = ItemBinding.PushState
CENT = Decimal("0.01")


def store_price(mapping: StoreSync, erp_price: Decimal | None) -> Decimal | None:
    """The ERP price rounded the store's way, half up (`.99`: the nearest whole, less a cent)."""
    if erp_price is None:
        return None
    if mapping.rounding == StoreSync.Rounding.NINETY_NINE:
        whole = erp_price.to_integral_value(rounding=ROUND_HALF_UP)
        return (max(whole, Decimal(1)) - CENT).quantize(CENT)
    step = Decimal(mapping.rounding)
    return ((erp_price / step).to_integral_value(rounding=ROUND_HALF_UP) * step).quantize(CENT)


def store_quantity(mapping: StoreSync, stock: dict[str, str]) -> int | None:
    """Available quantity summed over the mapped warehouses, less the safety stock, never < 0."""
    wanted = mapping.warehouse_list()
    values = [Decimal(qty) for whlo, qty in stock.items() if not wanted or whlo in wanted]
    if not values:
        return None
    total = sum(values, Decimal(0)).to_integral_value(rounding=ROUND_FLOOR)
    return max(int(total) - mapping.safety_stock, 0)


def needs_push(binding: ItemBinding) -> bool:
    return any(
        wanted is not None and wanted != pushed
        for wanted, pushed in (
            (binding.price, binding.pushed_price),
            (binding.special_price, binding.pushed_special_price),
            (binding.quantity, binding.pushed_quantity),
        )
    )


def refresh(binding: ItemBinding, mapping: StoreSync, *, retry_failed: bool = False) -> bool:
    """Recompute the store values and the push state; True when anything changed."""
    before = (binding.price, binding.special_price, binding.quantity, binding.push_state)
    binding.price = store_price(mapping, binding.erp_price)
    binding.special_price = (
        store_price(mapping, binding.erp_special_price) if mapping.push_special_prices else None
    )
    binding.quantity = store_quantity(mapping, binding.erp_stock)
    values_changed = before[:3] != (binding.price, binding.special_price, binding.quantity)
    if binding.push_state == PushState.QUEUED:
        pass  # the batch's outcome decides, against these new values
    elif binding.price is None and binding.quantity is None:
        binding.push_state = PushState.NO_ERP_VALUE
    elif not needs_push(binding):
        binding.push_state, binding.push_failures, binding.push_error = PushState.IN_SYNC, 0, ""
    elif binding.push_state != PushState.FAILED or values_changed or retry_failed:
        if values_changed or retry_failed:
            binding.push_failures = 0
        binding.push_state = PushState.PENDING
    return values_changed or before[3] != binding.push_state
