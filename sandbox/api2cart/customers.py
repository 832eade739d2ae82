"""The `customer.*` methods."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sandbox.api2cart.shared import (
    A2CError,
    Call,
    boolean,
    common_clauses,
    count_in_store,
    csv,
    invalid,
    method,
    need,
    select_fields,
    text,
)

if TYPE_CHECKING:
    from sandbox.api2cart.fake import Api2CartFake


CUSTOMER_SORT = {
    "created_time": "created_at",
    "modified_time": "modified_at",
    "id": "id",
    "email": "email",
}


def customer_where(filters: dict) -> tuple[list[str], list[Any]]:
    clauses, params = common_clauses(filters, ids_param="ids")
    if (value := text(filters, "find_value")) is not None:
        where = text(filters, "find_where") or "email"
        if where != "email":
            raise invalid("find_where", "Supported values: email.")
        clauses.append("email = ?")
        params.append(value)
    if not boolean(filters, "include_guests", False):
        clauses.append("json_extract(doc, '$.is_guest') = 0")
    return clauses, params


def render_customer(customer: dict, args: dict) -> dict:
    return select_fields(customer, args, "id,email,first_name,last_name")


@method("customer.list", paginated=True)
def customer_list(fake: Api2CartFake, call: Call) -> dict:
    return fake.paged(
        call,
        "a2c_customers",
        customer_where,
        CUSTOMER_SORT,
        "created_time",
        "customer",
        "customers_count",
        render_customer,
    )


@method("customer.count")
def customer_count(fake: Api2CartFake, call: Call) -> dict:
    return {"customers_count": count_in_store(fake, call, "a2c_customers", customer_where)}


@method("customer.info")
def customer_info(fake: Api2CartFake, call: Call) -> dict:
    customer = fake.load(
        "a2c_customers", call.store["store_key"], need(call.args, "id"), "Customer"
    )
    return render_customer(customer, call.args)


@method("customer.find")
def customer_find(fake: Api2CartFake, call: Call) -> dict:
    value = need(call.args, "find_value")
    fields = csv(call.args, "find_where") or ["email"]
    for field_name in fields:
        if field_name not in ("email", "id", "first_name", "last_name", "phone"):
            raise invalid(
                "find_where", "Supported values: email, id, first_name, last_name, phone."
            )
    rows = fake.db.query(
        "SELECT doc FROM a2c_customers WHERE store_key = ? ORDER BY id", (call.store["store_key"],)
    )
    regex = text(call.args, "find_params") == "regex"
    for row in rows:
        customer = json.loads(row["doc"])
        for field_name in fields:
            candidate = str(customer.get(field_name) or "")
            hit = re.search(value, candidate) if regex else candidate.lower() == value.lower()
            if hit:
                return {key: customer[key] for key in ("id", "email", "first_name", "last_name")}
    raise A2CError(112, f"Customer with {fields[0]} {value} not found")
