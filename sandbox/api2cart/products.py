"""Products and variants: stock and price writes, batch jobs, `product.*` and `batch.*`."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sandbox.api2cart.shared import (
    MAX_COUNT,
    A2CError,
    Call,
    a2c_date,
    boolean,
    common_clauses,
    count_in_store,
    csv,
    date_clauses,
    decode_cursor,
    dumps,
    in_clause,
    invalid,
    method,
    money,
    need,
    not_found,
    number,
    required,
    select_fields,
    stored,
    text,
)

if TYPE_CHECKING:
    from sandbox.api2cart.fake import Api2CartFake


class ProductsMixin:
    """Product and variant writes, and the batch jobs that apply them later."""

    def refused_updates(self) -> dict[str, str]:
        """SKU → the store's refusal for every update of it (control action `refuse-updates`)."""
        return self.__dict__.setdefault("_refused_updates", {})

    def _check_refused(self, sku: str) -> None:
        refusal = self.refused_updates().get(sku)
        if refusal:
            raise A2CError(107, refusal)

    def seed_products(
        self, store: dict, count: int, prefix: str, price: Decimal, quantity: int
    ) -> dict:
        """Add `count` simple products `{prefix}{n:06d}` in one transaction (benchmarks)."""
        now = self.sandbox.now()
        created = stored(now - timedelta(days=30))
        with self.db.transaction() as conn:
            first = self.next_id(conn, "a2c_products", store["store_key"], 0)
            rows = []
            for n in range(count):
                product = SimpleNamespace(
                    sku=f"{prefix}{n:06d}", name=f"Bench item {prefix}{n:06d}", price=price,
                    weight_kg=Decimal("0.5"), owner="",
                )  # fmt: skip
                doc = self._product_doc(first + n, product, quantity, created, False)
                rows.append((store["store_key"], first + n, product.sku, product.name, created,
                             created, json.dumps(doc)))  # fmt: skip
            conn.executemany("INSERT INTO a2c_products VALUES (?,?,?,?,?,?,?)", rows)
        return {"store": store["name"], "added": count, "first_id": str(first)}

    def process_jobs(self, force: bool = False) -> int:
        """Run queued batch jobs; they stay in_progress for `batch_delay` unless forced."""
        sql = "SELECT * FROM a2c_jobs WHERE status = 'in_progress'"
        params: tuple = ()
        if not force:
            sql += " AND ready_at <= ?"
            params = (time.time(),)
        processed = 0
        with self._jobs_lock:
            jobs = self.db.query(sql, params)
            for job in jobs:
                self._run_job(job)
                processed += 1
        return processed

    def _run_job(self, job: Any) -> None:
        store = dict(
            self.db.query("SELECT * FROM a2c_stores WHERE store_key = ?", (job["store_key"],))[0]
        )
        items = []
        for index, item in enumerate(json.loads(job["payload"])):
            try:
                if job["method"] == "product.update.batch":
                    entity_id = self.update_product(store, item)
                else:
                    entity_id = self.update_variant(store, item)
                items.append(
                    {
                        "id": str(index),
                        "status": "success",
                        "entity_id": entity_id,
                        "errors": [],
                        "warnings": [],
                    }
                )
            except A2CError as exc:
                items.append(
                    {
                        "id": str(index),
                        "status": "failed",
                        "entity_id": str(item.get("id", "")),
                        "errors": [exc.message],
                        "warnings": [],
                    }
                )
        result = {
            "job_id": job["id"],
            "job_name": job["method"],
            "items_processed": len(items),
            "items_succeed": sum(1 for i in items if i["status"] == "success"),
            "items": items,
        }
        processed_at = stored(self.sandbox.now())
        self.db.execute(
            "UPDATE a2c_jobs SET status = 'processed', processed_at = ?, result = ?, doc = ? "
            "WHERE id = ?",
            (
                processed_at,
                dumps(result),
                dumps(job_doc(job["id"], job["method"], job["created_at"], processed_at)),
                job["id"],
            ),
        )

    # --- products --------------------------------------------------------------------------

    def update_product(self, store: dict, args: dict) -> str:
        product_id = need(args, "id")
        with self.db.transaction() as conn:
            product = self.load("a2c_products", store["store_key"], product_id, "Product")
            self._check_refused(product.get("u_sku") or "")
            apply_stock_and_price(product, args, self.sandbox.now())
            for field_name, target in (("sku", "u_sku"), ("model", "u_model"), ("name", "name")):
                if text(args, field_name):
                    product[target] = args[field_name]
            self.save_product(conn, store["store_key"], product)
        self.fire(store, "product", "update", product, product["id"])
        return product["id"]

    def update_variant(self, store: dict, args: dict) -> str:
        variant_id, product_id = need(args, "id"), need(args, "product_id")
        with self.db.transaction() as conn:
            child = self.load("a2c_children", store["store_key"], variant_id, "Variant")
            if child["parent_id"] != str(product_id):
                raise not_found("Product", product_id)
            self._check_refused(child.get("sku") or "")
            apply_stock_and_price(child, args, self.sandbox.now())
            if text(args, "sku"):
                child["sku"] = args["sku"]
            child["default_price"] = child["price"]
            child["inventory_level"] = child["quantity"]
            self.save_child(conn, store["store_key"], child)
            self._roll_up_parent(conn, store["store_key"], child["parent_id"])
        return child["id"]

    def _roll_up_parent(self, conn: Any, store_key: str, parent_id: str) -> None:
        """A configurable product's quantity is the sum of its children's."""
        parent = self.load("a2c_products", store_key, parent_id, "Product")
        rows = conn.execute(
            "SELECT doc FROM a2c_children WHERE store_key = ? AND parent_id = ?",
            (store_key, int(parent_id)),
        ).fetchall()
        quantity = sum(json.loads(row["doc"])["quantity"] for row in rows)
        parent["quantity"] = quantity
        parent["inventory"][0]["quantity"] = quantity
        parent["in_stock"] = quantity > 0
        self.save_product(conn, store_key, parent)


def apply_stock_and_price(doc: dict, args: dict, now: datetime) -> None:
    """Shared by product.update and product.variant.update: absolute or relative stock, prices."""
    absolute = number(args, "quantity")
    increase, reduce = number(args, "increase_quantity"), number(args, "reduce_quantity")
    if absolute is not None and (increase is not None or reduce is not None):
        raise invalid("quantity", "It cannot be combined with increase_quantity/reduce_quantity.")
    warehouse = text(args, "warehouse_id") or "1"
    inventory = doc.setdefault("inventory", [])
    entry = next((row for row in inventory if row["warehouse_id"] == warehouse), None)
    if entry is None and (absolute is not None or increase is not None or reduce is not None):
        entry = {"warehouse_id": warehouse, "quantity": 0, "in_stock": False, "priority": 0}
        inventory.append(entry)
    if entry is not None:
        if absolute is not None:
            entry["quantity"] = int(absolute)
        entry["quantity"] += int(increase or 0) - int(reduce or 0)
        entry["in_stock"] = entry["quantity"] > 0
        doc["quantity"] = sum(row["quantity"] for row in inventory)
        doc["in_stock"] = doc["quantity"] > 0
    for price_field in ("price", "cost_price"):
        value = number(args, price_field)
        if value is not None:
            if value < 0:
                raise invalid(price_field, "The price cannot be negative.")
            doc[price_field] = money(value)
    special = number(args, "special_price")
    if special is not None and "special_price" in doc and isinstance(doc["special_price"], dict):
        doc["special_price"]["value"] = money(special)
        doc["special_price"]["avail"] = special > 0
    manage = boolean(args, "manage_stock")
    if manage is not None:
        if isinstance(doc.get("manage_stock"), bool):
            doc["manage_stock"] = manage
        else:
            doc["manage_stock"] = "True" if manage else "False"
            doc["is_stock_managed"] = manage
    in_stock = boolean(args, "in_stock")
    if in_stock is not None:
        doc["in_stock"] = in_stock
    moment = a2c_date(stored(now))
    doc["modified_at" if "modified_at" in doc else "modified_time"] = moment


PRODUCT_SORT = {
    "id": "id",
    "name": "name",
    "create_at": "created_at",
    "modified_at": "modified_at",
    "sku": "sku",
}


def product_where(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = common_clauses(filters, ids_param="product_ids")
    if (sku := text(filters, "sku")) is not None:
        clauses.append("sku = ?")
        params.append(sku)
    if (value := text(filters, "find_value")) is not None:
        column = {"name": "name", "model": "sku", "sku": "sku"}.get(
            text(filters, "find_where") or "name"
        )
        if column is None:
            raise invalid("find_where", "Supported values: name, model, sku.")
        clauses.append(f"{column} = ?")
        params.append(value)
    return clauses, params


def render_product(product: dict, args: dict) -> dict:
    return select_fields(product, args, "id,name,description,price,categories_ids")


@method("product.list", paginated=True)
def product_list(fake: Api2CartFake, call: Call) -> dict:
    return fake.paged(
        call,
        "a2c_products",
        product_where,
        PRODUCT_SORT,
        "id",
        "product",
        "products_count",
        render_product,
    )


@method("product.count")
def product_count(fake: Api2CartFake, call: Call) -> dict:
    return {"products_count": count_in_store(fake, call, "a2c_products", product_where)}


@method("product.info")
def product_info(fake: Api2CartFake, call: Call) -> dict:
    product = fake.load("a2c_products", call.store["store_key"], need(call.args, "id"), "Product")
    return render_product(product, call.args)


def find_matches(value: str, candidate: str, find_params: str) -> bool:
    if find_params == "regex":
        return re.search(value, candidate) is not None
    return (
        value.lower() in re.findall(r"[\w-]+", candidate.lower())
        or value.lower() == candidate.lower()
    )


@method("product.find")
def product_find(fake: Api2CartFake, call: Call) -> dict:
    value = need(call.args, "find_value")
    where = text(call.args, "find_where") or "name"
    field_name = {
        "name": "name",
        "model": "u_model",
        "sku": "u_sku",
        "description": "description",
    }.get(where)
    if field_name is None:
        raise invalid("find_where", "Supported values: name, model, sku, description.")
    find_params = text(call.args, "find_params") or "whole_words"
    rows = fake.db.query(
        "SELECT doc FROM a2c_products WHERE store_key = ? ORDER BY id", (call.store["store_key"],)
    )
    found = []
    for row in rows:
        product = json.loads(row["doc"])
        if find_matches(value, str(product.get(field_name) or ""), find_params):
            found.append({key: product[key] for key in ("id", "name", "description", "price")})
    return {"product": found}


@method("product.update")
def product_update(fake: Api2CartFake, call: Call) -> dict:
    fake.update_product(call.store, call.args)
    return {"updated_items": 1}


@method("product.variant.update")
def product_variant_update(fake: Api2CartFake, call: Call) -> dict:
    fake.update_variant(call.store, call.args)
    return {"updated_items": 1}


CHILD_SORT = {
    "id": "id",
    "created_time": "created_at",
    "modified_time": "modified_at",
    "sku": "sku",
}


def child_where(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = date_clauses(filters, {"created": "created_at", "modified": "modified_at"})
    parents = csv(filters, "product_ids") or csv(filters, "product_id")
    if parents:
        clause, values = in_clause("parent_id", parents)
        clauses.append(clause)
        params.extend(values)
    if (sku := text(filters, "sku")) is not None:
        clauses.append("sku = ?")
        params.append(sku)
    if (value := text(filters, "find_value")) is not None:
        if (text(filters, "find_where") or "sku") != "sku":
            raise invalid("find_where", "Supported values: sku.")
        clauses.append("sku = ?")
        params.append(value)
    return clauses, params


@method("product.child_item.list", paginated=True)
def product_child_item_list(fake: Api2CartFake, call: Call) -> dict:
    page = fake.paged(
        call,
        "a2c_children",
        child_where,
        CHILD_SORT,
        "id",
        "children",
        "total_count",
        lambda child, args: select_fields(child, args, "force_all"),
    )
    filters = call.args
    if text(call.args, "page_cursor"):
        filters, _, _ = decode_cursor(call.method, call.args["page_cursor"])
    clauses, params = child_where(filters)
    where = " AND ".join(["store_key = ?", *clauses])
    total = fake.db.scalar(
        f"SELECT COUNT(*) FROM a2c_children WHERE {where}", [call.store["store_key"], *params]
    )
    page["result"]["total_count"] = total
    return page


@method("product.child_item.info")
def product_child_item_info(fake: Api2CartFake, call: Call) -> dict:
    child = fake.load("a2c_children", call.store["store_key"], need(call.args, "id"), "Child item")
    if text(call.args, "product_id") and child["parent_id"] != call.args["product_id"]:
        raise not_found("Child item", call.args["id"])
    return select_fields(child, call.args, "force_all")


@method("product.child_item.find")
def product_child_item_find(fake: Api2CartFake, call: Call) -> dict:
    value = need(call.args, "find_value")
    where = text(call.args, "find_where") or "sku"
    if where not in ("sku", "name"):
        raise invalid("find_where", "Supported values: sku, name.")
    find_params = text(call.args, "find_params") or "whole_words"
    rows = fake.db.query(
        "SELECT doc FROM a2c_children WHERE store_key = ? ORDER BY id", (call.store["store_key"],)
    )
    children = []
    for row in rows:
        child = json.loads(row["doc"])
        candidate = str(child.get(where) or "")
        hit = (
            candidate.lower() == value.lower()
            if where == "sku"
            else find_matches(value, candidate, find_params)
        )
        if hit:
            children.append(child)
    return {"children": children}


def create_job(fake: Api2CartFake, call: Call, required_keys: tuple[str, ...]) -> dict:
    payload = call.args.get("payload")
    if not isinstance(payload, list) or not payload:
        raise required("payload")
    if len(payload) > MAX_COUNT:
        raise A2CError(111, f"Too many items requested. The maximum is {MAX_COUNT} per batch.")
    for index, item in enumerate(payload):
        for key in required_keys:
            if not isinstance(item, dict) or item.get(key) in (None, ""):
                raise required(f"payload[{index}].{key}")
    created = stored(fake.sandbox.now())
    with fake.db.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO a2c_jobs (store_key, method, status, created_at, payload, ready_at)"
            " VALUES (?,?,?,?,?,?)",
            (
                call.store["store_key"],
                call.method,
                "in_progress",
                created,
                dumps(payload),
                time.time() + fake.batch_delay.total_seconds(),
            ),
        )
        job_id = cursor.lastrowid
        conn.execute(
            "UPDATE a2c_jobs SET doc = ? WHERE id = ?",
            (dumps(job_doc(job_id, call.method, created, None)), job_id),
        )
    return {"job_id": str(job_id)}


def job_doc(job_id: int, method_name: str, created: str, processed: str | None) -> dict:
    return {
        "id": str(job_id),
        "method": method_name,
        "status": "processed" if processed else "in_progress",
        "created_time": a2c_date(created),
        "processed_time": a2c_date(processed),
    }


@method("product.update.batch")
def product_update_batch(fake: Api2CartFake, call: Call) -> dict:
    return create_job(fake, call, ("id",))


@method("product.variant.update.batch")
def product_variant_update_batch(fake: Api2CartFake, call: Call) -> dict:
    return create_job(fake, call, ("id", "product_id"))


JOB_SORT = {"id": "id"}


@method("batch.job.list", paginated=True)
def batch_job_list(fake: Api2CartFake, call: Call) -> dict:
    fake.process_jobs()

    def where(filters: dict) -> tuple[list[str], list[Any]]:
        clauses, params = date_clauses(
            filters, {"created": "created_at", "processed": "processed_at"}
        )
        if ids := csv(filters, "ids"):
            clause, values = in_clause("id", ids)
            clauses.append(clause)
            params.extend(values)
        return clauses, params

    def render(job: dict, args: dict) -> dict:
        return job

    page = fake.paged(call, "a2c_jobs", where, JOB_SORT, "id", "jobs", "jobs_count", render)
    page["result"].pop("jobs_count")
    return page


@method("batch.job.result")
def batch_job_result(fake: Api2CartFake, call: Call) -> dict:
    fake.process_jobs()
    job_id = need(call.args, "id")
    rows = fake.db.query(
        "SELECT * FROM a2c_jobs WHERE store_key = ? AND CAST(id AS TEXT) = ?",
        (call.store["store_key"], job_id),
    )
    if not rows:
        raise A2CError(112, f"Job with id {job_id} not found")
    job = rows[0]
    if job["status"] != "processed":
        return {
            "job_id": job["id"],
            "job_name": job["method"],
            "status": job["status"],
            "items_processed": 0,
            "items_succeed": 0,
            "items": [],
        }
    return json.loads(job["result"])
