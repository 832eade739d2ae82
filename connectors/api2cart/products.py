"""Products and variants (child items): reads, price and stock updates, batch jobs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from connectors._http import drop_empty
from connectors.api2cart.base import FORCE_ALL, MAX_BATCH_ITEMS, Api2CartBase
from connectors.api2cart.records import (
    BatchJob,
    BatchJobResult,
    ChildItem,
    Product,
    ProductUpdate,
    VariantUpdate,
)
from connectors.api2cart.values import text
from connectors.errors import NotFoundError


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
            yield BatchJob.from_api(row)

    def batch_job_result(self, job_id: str) -> BatchJobResult:
        result = self._call("GET", "batch.job.result", params={"id": job_id})
        return BatchJobResult.from_api(result)

    def _batch(self, method: str, updates: Sequence[ProductUpdate], key: str | None) -> list[str]:
        jobs = []
        for start in range(0, len(updates), MAX_BATCH_ITEMS):
            chunk = updates[start : start + MAX_BATCH_ITEMS]
            chunk_key = None if key is None else f"{key}:{start // MAX_BATCH_ITEMS}"
            body = drop_empty(
                {"payload": [u.to_api() for u in chunk], "idempotency_key": chunk_key}
            )
            jobs.append(text(self._call("POST", method, json=body).get("job_id")))
        return jobs
