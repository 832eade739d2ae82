"""Products and variants (child items): reads, price and stock updates, batch jobs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors._http import drop_empty
from connectors.api2cart.base import FORCE_ALL, MAX_BATCH_ITEMS, Api2CartBase
from connectors.api2cart.values import (
    _bool,
    _decimal,
    _json_value,
    _list,
    _obj,
    _str,
    parse_a2c_datetime,
)
from connectors.errors import NotFoundError


@dataclass(frozen=True)
class InventoryLevel:
    warehouse_id: str
    quantity: Decimal
    in_stock: bool


def _inventory(rows: Any) -> tuple[InventoryLevel, ...]:
    return tuple(
        InventoryLevel(
            _str(r.get("warehouse_id")),
            _decimal(r.get("quantity")) or Decimal(0),
            _bool(r.get("in_stock")),
        )
        for r in (_obj(row) for row in _list(rows))
    )


@dataclass(frozen=True)
class Product:
    """A product; SKUs read as `u_sku`/`u_model` and are written as `sku`/`model` (§7.4)."""

    id: str
    name: str
    sku: str
    model: str
    price: Decimal | None
    quantity: Decimal | None
    inventory: tuple[InventoryLevel, ...]
    created_at: datetime | None
    modified_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Product:
        return cls(
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            sku=_str(data.get("u_sku")),
            model=_str(data.get("u_model")),
            price=_decimal(data.get("price")),
            quantity=_decimal(data.get("quantity")),
            inventory=_inventory(data.get("inventory")),
            created_at=parse_a2c_datetime(data.get("create_at")),
            modified_at=parse_a2c_datetime(data.get("modified_at")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class ChildItem:
    """A variant (`product.child_item.*`)."""

    id: str
    parent_id: str
    sku: str
    name: str
    price: Decimal | None
    quantity: Decimal | None
    inventory: tuple[InventoryLevel, ...]
    modified_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ChildItem:
        return cls(
            id=_str(data.get("id")),
            parent_id=_str(data.get("parent_id")),
            sku=_str(data.get("sku")),
            name=_str(data.get("name")),
            price=_decimal(data.get("default_price", data.get("price"))),
            quantity=_decimal(data.get("inventory_level", data.get("quantity"))),
            inventory=_inventory(data.get("inventory")),
            modified_at=parse_a2c_datetime(data.get("modified_time")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class BatchJob:
    id: str
    method: str
    status: str
    created_at: datetime | None
    processed_at: datetime | None

    @property
    def is_processed(self) -> bool:
        return self.status == "processed"


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    """Position of the item in the submitted payload."""
    status: str
    entity_id: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class BatchJobResult:
    job_id: str
    status: str
    items_processed: int
    items_succeed: int
    items: tuple[BatchItemResult, ...]


@dataclass(frozen=True)
class ProductUpdate:
    """Price and stock change for a product (`product.update`, or one batch item).

    Prefer `increase_quantity`/`reduce_quantity` over `quantity` where concurrent writers
    exist (SPEC advice); never send `quantity` together with a relative change.
    """

    id: str
    price: Decimal | None = None
    special_price: Decimal | None = None
    quantity: Decimal | None = None
    increase_quantity: Decimal | None = None
    reduce_quantity: Decimal | None = None
    warehouse_id: str | None = None
    manage_stock: bool | None = None
    in_stock: bool | None = None
    store_id: str | None = None

    def __post_init__(self) -> None:
        if self.quantity is not None and (
            self.increase_quantity is not None or self.reduce_quantity is not None
        ):
            raise ValueError("Send either an absolute quantity or a relative change, not both")

    def to_api(self) -> dict[str, Any]:
        return {k: _json_value(v) for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class VariantUpdate(ProductUpdate):
    """Price and stock change for a variant; API2Cart needs the parent `product_id` too."""

    product_id: str = ""


class ProductsMixin(Api2CartBase):
    """Products and variants: reads, updates one by one or in batch jobs, and the jobs."""

    # Products

    def products(
        self,
        *,
        modified_from: datetime | None = None,
        created_from: datetime | None = None,
        sku: str | None = None,
        product_ids: Iterable[str] = (),
    ) -> Iterator[Product]:
        params = {
            **self._dates(modified_from, None, created_from, None),
            "sku": sku,
            "product_ids": ",".join(product_ids) or None,
        }
        for row in self._cursor_pages("product.list", params, "product"):
            yield Product.from_api(row)

    def product_info(self, product_id: str) -> Product:
        params = {"id": product_id, "params": FORCE_ALL}
        return Product.from_api(self._call("GET", "product.info", params=params))

    def find_products(self, value: str, *, where: str = "model") -> list[Product]:
        """`product.find` (by `model` = SKU by default); empty list when nothing matches.

        Matches carry only id, name and price; fetch the rest with `product_info`.
        """
        params = {"find_value": value, "find_where": where}
        try:
            result = self._call("GET", "product.find", params=params)
        except NotFoundError:
            return []
        return [Product.from_api(p) for p in result.get("product") or []]

    def child_items(
        self,
        *,
        product_id: str | None = None,
        sku: str | None = None,
        modified_from: datetime | None = None,
    ) -> Iterator[ChildItem]:
        params = {
            **self._dates(modified_from, None, None, None),
            "product_id": product_id,
            "sku": sku,
        }
        for row in self._cursor_pages("product.child_item.list", params, "children"):
            yield ChildItem.from_api(row)

    def child_item_info(self, product_id: str, child_id: str) -> ChildItem:
        """`product.child_item.info`: one variant of a product; NotFoundError when unknown."""
        params = {"product_id": product_id or None, "id": child_id, "params": FORCE_ALL}
        return ChildItem.from_api(self._call("GET", "product.child_item.info", params=params))

    def find_child_items(self, value: str, *, where: str = "sku") -> list[ChildItem]:
        params = {"find_value": value, "find_where": where}
        try:
            result = self._call("GET", "product.child_item.find", params=params)
        except NotFoundError:
            return []
        return [ChildItem.from_api(c) for c in result.get("children") or []]

    def update_product(self, update: ProductUpdate, *, idempotency_key: str | None = None) -> int:
        body = drop_empty({**update.to_api(), "idempotency_key": idempotency_key})
        return int(self._call("PUT", "product.update", json=body).get("updated_items") or 0)

    def update_variant(self, update: VariantUpdate, *, idempotency_key: str | None = None) -> int:
        if not update.product_id:
            raise ValueError("A variant update needs the parent product_id")
        body = drop_empty({**update.to_api(), "idempotency_key": idempotency_key})
        return int(self._call("PUT", "product.variant.update", json=body).get("updated_items") or 0)

    def update_products_batch(
        self, updates: Sequence[ProductUpdate], *, idempotency_key: str | None = None
    ) -> list[str]:
        """`product.update.batch`, 250 items per job; returns the job ids to poll."""
        return self._batch("product.update.batch", updates, idempotency_key)

    def update_variants_batch(
        self, updates: Sequence[VariantUpdate], *, idempotency_key: str | None = None
    ) -> list[str]:
        """`product.variant.update.batch`, 250 items per job; returns the job ids to poll."""
        return self._batch("product.variant.update.batch", updates, idempotency_key)

    def batch_jobs(
        self, *, ids: Iterable[str] = (), created_from: datetime | None = None
    ) -> Iterator[BatchJob]:
        params = {
            "ids": ",".join(ids) or None,
            **self._dates(None, None, created_from, None),
        }
        for row in self._cursor_pages("batch.job.list", params, "jobs", force_all=False):
            yield BatchJob(
                id=_str(row.get("id")),
                method=_str(row.get("method")),
                status=_str(row.get("status")),
                created_at=parse_a2c_datetime(row.get("created_time")),
                processed_at=parse_a2c_datetime(row.get("processed_time")),
            )

    def batch_job_result(self, job_id: str) -> BatchJobResult:
        result = self._call("GET", "batch.job.result", params={"id": job_id})
        return BatchJobResult(
            job_id=_str(result.get("job_id")),
            status=_str(result.get("status") or "processed"),
            items_processed=int(result.get("items_processed") or 0),
            items_succeed=int(result.get("items_succeed") or 0),
            items=tuple(
                BatchItemResult(
                    index=int(item.get("id") or 0),
                    status=_str(item.get("status")),
                    entity_id=_str(item.get("entity_id")),
                    errors=tuple(str(e) for e in item.get("errors") or []),
                    warnings=tuple(str(w) for w in item.get("warnings") or []),
                )
                for item in result.get("items") or []
            ),
        )

    def _batch(self, method: str, updates: Sequence[ProductUpdate], key: str | None) -> list[str]:
        jobs = []
        for start in range(0, len(updates), MAX_BATCH_ITEMS):
            chunk = updates[start : start + MAX_BATCH_ITEMS]
            chunk_key = None if key is None else f"{key}:{start // MAX_BATCH_ITEMS}"
            body = drop_empty(
                {"payload": [u.to_api() for u in chunk], "idempotency_key": chunk_key}
            )
            jobs.append(_str(self._call("POST", method, json=body).get("job_id")))
        return jobs
