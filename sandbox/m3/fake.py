"""Fake Infor ION API Gateway + M3 m3api-rest, faithful to contracts/infor-m3.md.

Paths (after the sandbox URL):
- `/ion/{TI}/as/token.oauth2`: password, client_credentials and refresh_token grants.
- `/ion/{TI}/as/revoke_token.oauth2`: POST form (or GET query) `token=...`.
- `/ion/{TI}/M3/m3api-rest/v2/execute/{PGM}/{TRX};matrix?FIELDS` (v2 envelope, 400 on NOK),
  `/ion/{TI}/M3/m3api-rest/execute/{PGM}/{TRX};matrix?FIELDS` (v1 MIRecord envelope) and
  `POST /ion/{TI}/M3/m3api-rest/v2/execute` (bulk: many transactions of one program).

Every TI is a separate M3 with its own customers, items, orders and tokens. The business rules
live in this package's program modules (`transactions.py` explains them). Control actions
(tests and the `sandbox` CLI): `set-price`, `set-stock`, `deliver` (creates the delivery,
tracking number and the invoice, as M3's invoicing would once a delivery is reported), `pay`,
`set-token-lifetime`. The `m3` faults `error_top_level`, `error_in_200`, `bulk_stop_after`,
`string_flags` and `no_rows_error` make it answer in the other shapes of contract §3.4
(`answers.py`); with none set it answers as before.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from sandbox import demo_data
from sandbox.core import (
    ControlError,
    Sandbox,
    SandboxRequest,
    SandboxResponse,
)
from sandbox.demo_data import DemoTenant

# Importing a module registers its @transaction functions in TRANSACTIONS.
from sandbox.m3 import customers, deliveries, items, order_changes  # noqa: F401
from sandbox.m3.answers import (
    ANSWER_FAULTS,
    NO_ROWS_CODE,
    NO_ROWS_MESSAGE,
    AnswerShape,
    bulk_job_id,
    not_processed,
)
from sandbox.m3.events import deliver_order, pay_invoice, set_price, set_stock, undelivered_orders
from sandbox.m3.invoices import invoice_rows
from sandbox.m3.items import bulk_items, bulk_prices, bulk_stocks
from sandbox.m3.onboarding import answer, create_tenant, new_tenant, saved_tenants
from sandbox.m3.orders import confirmed_orders, duplicate_order, seed_orders
from sandbox.m3.seed import SCHEMA, seed_tenant
from sandbox.m3.transactions import (
    FIELDS,
    PROGRAMS,
    TRANSACTIONS,
    M3Context,
    M3Error,
    Record,
    check_inputs,
    warehouses,
)

DEFAULT_TOKEN_LIFETIME = 7200
REFRESH_TOKEN_LIFETIME = 8 * 3600
DEFAULT_MAXRECS = 100
NOK = "ServerReturnedNOK"
NOT_FOUND = "TransactionNotFound"


class GatewayError(Exception):
    """An HTTP-level answer from the ION gateway or token server (not an M3 NOK)."""

    def __init__(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("error_description") or body.get("error"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def oauth_error(status: int, error: str, description: str) -> GatewayError:
    headers = {"WWW-Authenticate": 'Basic realm="ION"'} if status == 401 else {}
    return GatewayError(status, {"error": error, "error_description": description}, headers)


class M3Fake:
    """The `m3` upstream: ION token server, API gateway and one M3 per demo tenant."""

    name = "m3"
    prefix = "/ion/"
    extra_faults = ANSWER_FAULTS

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.db = sandbox.db
        self.tenants: dict[str, DemoTenant] = {t.erp_tenant: t for t in demo_data.TENANTS}

    # --- Fake protocol -------------------------------------------------------------------------

    def create_schema(self) -> None:
        with self.db.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def seed(self) -> None:
        self.tenants.update({t.erp_tenant: t for t in saved_tenants(self.db)})
        if self.db.scalar("SELECT COUNT(*) FROM m3_items"):
            return
        with self.db.transaction() as conn:
            for tenant in self.tenants.values():
                seed_tenant(M3Context(conn, tenant, self.sandbox.now()))

    def handle(self, req: SandboxRequest) -> SandboxResponse:
        parts = req.path.removeprefix(self.prefix).split("/")
        tenant = self.tenants.get(parts[0])
        try:
            if tenant is None:
                raise GatewayError(404, {"error": f"Unknown ION tenant {parts[0]!r}"})
            route = parts[1:]
            if route == ["as", "token.oauth2"]:
                return self.token(req, tenant)
            if route == ["as", "revoke_token.oauth2"]:
                return self.revoke(req, tenant)
            if route[:2] == ["M3", "m3api-rest"]:
                self.authorize(req, tenant)
                self._count("calls")
                return self.m3api(req, tenant, route[2:])
            raise GatewayError(404, {"error": f"No ION API serves {req.path}"})
        except GatewayError as error:
            return SandboxResponse(error.status, error.body, error.headers)

    def control(self, action: str, payload: dict) -> dict:
        actions = {
            "set-price": self._control_set_price,
            "set-stock": self._control_set_stock,
            "deliver": self._control_deliver,
            "pay": self._control_pay,
            "set-token-lifetime": self._control_token_lifetime,
            "seed-items": lambda payload: self._control_bulk(payload, bulk_items),
            "set-prices": lambda payload: self._control_bulk(payload, bulk_prices),
            "set-stocks": lambda payload: self._control_bulk(payload, bulk_stocks),
            "duplicate-order": lambda payload: self._control_bulk(payload, duplicate_order),
            "seed-orders": lambda payload: self._control_bulk(payload, seed_orders),
            "add-tenant": self._control_add_tenant,
            "ionapi": self._control_ionapi,
        }
        if action not in actions:
            raise ControlError(f"Unknown m3 action {action!r}; known: {', '.join(actions)}")
        return actions[action](payload)

    def status(self) -> dict[str, int]:
        def count(sql: str) -> int:
            return int(self.db.scalar(sql) or 0)

        return {
            "erp_orders": count("SELECT COUNT(*) FROM m3_orders WHERE orno IS NOT NULL"),
            "erp_batch_orders_open": count("SELECT COUNT(*) FROM m3_orders WHERE orno IS NULL"),
            "erp_customers": count("SELECT COUNT(*) FROM m3_customers WHERE template = 0"),
            "erp_customers_created": count(
                "SELECT COUNT(*) FROM m3_customers WHERE created_by_api = 1"
            ),
            "deliveries": count("SELECT COUNT(*) FROM m3_deliveries"),
            "invoices": count("SELECT COUNT(*) FROM m3_invoices"),
            "invoices_paid": count("SELECT COUNT(*) FROM m3_invoices WHERE rafc = '0'"),
            "token_requests": self._counter("token_requests"),
            "calls": self._counter("calls"),
            "calls_by_transaction": self._counters("call:"),
        }

    # --- ION authorisation server --------------------------------------------------------------

    def token(self, req: SandboxRequest, tenant: DemoTenant) -> SandboxResponse:
        """OAuth2 token endpoint; client credentials in the body or an HTTP Basic header."""
        if req.method != "POST":
            raise oauth_error(405, "invalid_request", "The token endpoint only accepts POST")
        self._count("token_requests")
        form = req.form()
        self._authenticate_client(req, form, tenant)
        grant = form.get("grant_type", "")
        if grant == "password":
            if (form.get("username"), form.get("password")) != (
                tenant.service_account_key,
                tenant.service_account_secret,
            ):
                raise oauth_error(400, "invalid_grant", "Invalid service account credentials")
            return SandboxResponse(body=self._issue(tenant, with_refresh=True))
        if grant == "client_credentials":
            return SandboxResponse(body=self._issue(tenant, with_refresh=False))
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if not self._valid_token(refresh, "refresh", tenant):
                raise oauth_error(400, "invalid_grant", "Invalid or expired refresh token")
            return SandboxResponse(body=self._issue(tenant, refresh_token=refresh))
        if not grant:
            raise oauth_error(400, "invalid_request", "Missing grant_type")
        raise oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant!r}")

    def revoke(self, req: SandboxRequest, tenant: DemoTenant) -> SandboxResponse:
        """Revoke an access or refresh token; unknown tokens are accepted (RFC 7009)."""
        form = req.form() if req.method == "POST" else {}
        token = form.get("token") or req.arg("token") or ""
        if req.method == "POST":
            self._authenticate_client(req, form, tenant)
        if not token:
            raise oauth_error(400, "invalid_request", "Missing token")
        self.db.execute("UPDATE m3_tokens SET revoked = 1 WHERE token = ? AND ti = ?",
                        (token, tenant.erp_tenant))  # fmt: skip
        return SandboxResponse(200, None)

    def authorize(self, req: SandboxRequest, tenant: DemoTenant) -> None:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self._valid_token(token.strip(), "access", tenant):
            raise GatewayError(
                401,
                {"error": "invalid_token", "error_description": "Missing, invalid or expired "
                 "bearer token for tenant " + tenant.erp_tenant},
                {"WWW-Authenticate": 'Bearer realm="ION", error="invalid_token"'},
            )  # fmt: skip

    def _authenticate_client(
        self, req: SandboxRequest, form: dict[str, str], tenant: DemoTenant
    ) -> None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise oauth_error(401, "invalid_client", "Malformed Basic header") from None
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, client_secret = unquote(basic_id), unquote(basic_secret)
        if (client_id, client_secret) != (tenant.client_id, tenant.client_secret):
            raise oauth_error(401, "invalid_client", "Client authentication failed")

    def _issue(
        self, tenant: DemoTenant, *, with_refresh: bool = True, refresh_token: str = ""
    ) -> dict[str, Any]:
        lifetime = self._token_lifetime()
        now = self.sandbox.now().timestamp()
        access = secrets.token_urlsafe(32)
        rows = [(access, "access", now + lifetime)]
        if with_refresh and not refresh_token:
            refresh_token = secrets.token_urlsafe(32)
            rows.append((refresh_token, "refresh", now + REFRESH_TOKEN_LIFETIME))
        with self.db.transaction() as conn:
            for token, kind, expires_at in rows:
                conn.execute(
                    "INSERT INTO m3_tokens(token, kind, ti, client_id, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (token, kind, tenant.erp_tenant, tenant.client_id, expires_at),
                )
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
        }
        if refresh_token:
            body["refresh_token"] = refresh_token
        return body

    def _valid_token(self, token: str, kind: str, tenant: DemoTenant) -> bool:
        row = self.db.query(
            "SELECT expires_at FROM m3_tokens WHERE token = ? AND kind = ? AND ti = ? "
            "AND revoked = 0",
            (token, kind, tenant.erp_tenant),
        )
        return bool(row) and row[0]["expires_at"] > self.sandbox.now().timestamp()

    def _token_lifetime(self) -> int:
        value = self.db.scalar("SELECT value FROM m3_settings WHERE key = 'token_lifetime'")
        return int(value) if value else DEFAULT_TOKEN_LIFETIME

    # --- m3api-rest ----------------------------------------------------------------------------

    def m3api(self, req: SandboxRequest, tenant: DemoTenant, route: list[str]) -> SandboxResponse:
        if route[:1] == ["v2"] and route[1:2] == ["execute"]:
            if len(route) == 2:
                if req.method != "POST":
                    raise GatewayError(405, {"error": "Bulk execute is a POST request"})
                return self.bulk(req, tenant)
            return self.single(req, tenant, route[2:], version=2)
        if route[:1] == ["execute"] and len(route) > 1:
            return self.single(req, tenant, route[1:], version=1)
        raise GatewayError(404, {"error": f"No m3api-rest resource {'/'.join(route)}"})

    def single(
        self, req: SandboxRequest, tenant: DemoTenant, route: list[str], *, version: int
    ) -> SandboxResponse:
        """One transaction from GET `.../{PGM}/{TRX};matrix?FIELDS`."""
        if req.method not in ("GET", "HEAD"):
            raise GatewayError(405, {"error": "Execute a transaction with GET"})
        if len(route) != 2:
            raise GatewayError(404, {"error": "Expected .../execute/{PROGRAM}/{TRANSACTION}"})
        program = route[0]
        trx, _, matrix_text = route[1].partition(";")
        self._count(f"call:{program}/{trx}")
        matrix = parse_matrix(matrix_text)
        inputs = {
            key.upper(): values[-1].strip()
            for key, values in req.query.items()
            if not key.startswith("_") and values and values[-1].strip()
        }
        if matrix.get("cono"):
            inputs.setdefault("CONO", matrix["cono"])
        answers = self.answer_shape()
        try:
            records = self.run(tenant, program, trx, inputs, max_records(matrix))
            if version == 2 and answers.answers_no_rows(trx, records):
                raise M3Error(NO_ROWS_CODE, NO_ROWS_MESSAGE)
        except M3Error as error:
            return self.error_response(program, trx, error, version)
        records = shape(records, matrix)
        if version == 1:
            return SandboxResponse(body=v1_envelope(program, trx, records, matrix))
        body = v2_envelope([{"transaction": trx, "records": records}])
        return SandboxResponse(body=answers.flags(body))

    def answer_shape(self) -> AnswerShape:
        """The v2 answer shapes the `m3` faults ask for right now (`answers.py`)."""
        return AnswerShape.from_faults(self.sandbox.faults.get(self.name))

    def bulk(self, req: SandboxRequest, tenant: DemoTenant) -> SandboxResponse:
        """Many transactions of one program; each succeeds or fails on its own (HTTP 200)."""
        try:
            body = req.json()
        except ValueError as exc:
            raise GatewayError(400, {"error": str(exc)}) from None
        if not isinstance(body, dict) or not isinstance(body.get("transactions"), list):
            raise GatewayError(400, {"error": "Body must be {program, transactions: [...]}"})
        program = str(body.get("program") or "")
        first = {str(t.get("transaction")) for t in body["transactions"] if isinstance(t, dict)}
        self._count(f"call:{program}/bulk {'+'.join(sorted(first))}")
        options = {key: values[-1] for key, values in req.query.items() if values}
        answers = self.answer_shape()
        if program not in PROGRAMS:
            return SandboxResponse(
                body=answers.flags(
                    v2_envelope(
                        [],
                        termination=(f"Program {program or '(none)'} not found", NOT_FOUND),
                    )
                )
            )
        results = []
        for index, entry in enumerate(body["transactions"]):
            entry = entry if isinstance(entry, dict) else {}
            trx = str(entry.get("transaction") or "")
            if answers.stops_before(index):
                results.append(not_processed(trx))
                continue
            record = entry.get("record") if isinstance(entry.get("record"), dict) else {}
            inputs = {
                str(key).upper(): str(value).strip()
                for key, value in record.items()
                if value is not None and str(value).strip()
            }
            if options.get("cono"):
                inputs.setdefault("CONO", options["cono"])
            matrix = {"maxrecs": options.get("maxrecs", ""), "excludempty": "false"}
            columns = entry.get("selectedColumns")
            if isinstance(columns, list) and columns:
                matrix["returncols"] = ",".join(str(column) for column in columns)
            try:
                records = self.run(tenant, program, trx, inputs, max_records(matrix))
                if answers.answers_no_rows(trx, records):
                    raise M3Error(NO_ROWS_CODE, NO_ROWS_MESSAGE)
                results.append({"transaction": trx, "records": shape(records, matrix)})
            except M3Error as error:
                results.append({"transaction": trx, **v2_error(program, trx, error)})
        answer = v2_envelope(results)
        if answer.get("nrOfNotProcessedTransactions"):
            answer["bulkJobId"] = bulk_job_id()
        return SandboxResponse(body=answers.flags(answer))

    def run(
        self, tenant: DemoTenant, program: str, trx: str, inputs: Record, rows: int = 0
    ) -> list[Record]:
        """Check and run one transaction in its own database transaction; a list may stop at
        `rows` (0: all), as M3 stops reading at `maxrecs`."""
        transaction = TRANSACTIONS.get((program, trx))
        if transaction is None:
            message = (
                f"Transaction {trx} not found in program {program}"
                if program in PROGRAMS
                else f"Program {program} not found"
            )
            raise M3Error("", message, "")
        kept: M3Error | None = None
        with self.db.transaction() as conn:
            ctx = M3Context(conn, tenant, self.sandbox.now(), max_records=rows)
            check_inputs(ctx, transaction, inputs)
            try:
                records = transaction.run(ctx, inputs)
            except M3Error as error:
                if not error.keep_changes:
                    raise
                kept = error
        if kept:
            raise kept
        return records

    def error_response(
        self, program: str, trx: str, error: M3Error, version: int
    ) -> SandboxResponse:
        error_type = NOT_FOUND if (program, trx) not in TRANSACTIONS else NOK
        if version == 2:
            details = v2_error(program, trx, error)
            envelope = v2_envelope([{"transaction": trx, **details}])
            status, body = self.answer_shape().single_error(envelope, details)
            return SandboxResponse(status, body)
        if error_type == NOT_FOUND:
            return SandboxResponse(
                body={"ErrorMessage": {"@type": NOT_FOUND, "Message": error.message}}
            )
        body = {"Program": program, "Transaction": trx, "@type": NOK, "@code": error.code,
                "Message": error.message}  # fmt: skip
        if error.field:
            body["@field"] = error.field
        return SandboxResponse(body=body)

    # --- control actions -----------------------------------------------------------------------

    def _tenant_for_item(self, sku: Any) -> DemoTenant:
        if not isinstance(sku, str) or not sku:
            raise ControlError("Give the item number as 'sku'")
        rows = self.db.query("SELECT ti FROM m3_items WHERE itno = ?", (sku,))
        if not rows:
            raise ControlError(f"No M3 has an item {sku!r}")
        return self.tenants[rows[0]["ti"]]

    def _control_set_price(self, payload: dict) -> dict:
        tenant = self._tenant_for_item(payload.get("sku"))
        amount = control_decimal(payload, "amount")
        with self.db.transaction() as conn:
            return set_price(M3Context(conn, tenant, self.sandbox.now()), payload["sku"], amount)

    def _control_set_stock(self, payload: dict) -> dict:
        tenant = self._tenant_for_item(payload.get("sku"))
        quantity = control_decimal(payload, "qty")
        whlo = str(payload.get("warehouse") or tenant.warehouse)
        if whlo not in warehouses(tenant):
            known = ", ".join(warehouses(tenant))
            raise ControlError(f"{tenant.erp_tenant} has no warehouse {whlo!r}; known: {known}")
        with self.db.transaction() as conn:
            ctx = M3Context(conn, tenant, self.sandbox.now())
            return set_stock(ctx, payload["sku"], whlo, quantity)

    def _control_bulk(self, payload: dict, action: Any) -> dict:
        """Bulk item, price and stock changes for one tenant's M3 (`items.py`)."""
        tenant = next((t for t in self.tenants.values() if t.slug == payload.get("tenant")), None)
        if tenant is None:
            known = ", ".join(t.slug for t in self.tenants.values())
            raise ControlError(f"Unknown tenant {payload.get('tenant')!r}; tenants: {known}")
        with self.db.transaction() as conn:
            return action(M3Context(conn, tenant, self.sandbox.now()), payload)

    def _control_add_tenant(self, payload: dict) -> dict:
        """A new ION tenant with items for a store's SKUs (`store`) or the `items` given."""
        tenant = new_tenant(payload, self.tenants)
        wanted = payload.get("items") or []
        if payload.get("store"):
            store = self.sandbox.fakes.get("api2cart")
            if store is None:
                raise ControlError("The api2cart fake is not running, so 'store' cannot be read")
            wanted = store.control("store-items", {"store": payload["store"]})["items"]
        if not isinstance(wanted, list) or not all(isinstance(i, dict) for i in wanted):
            raise ControlError("'items' must be a list of {sku, name, price, weight, quantity}")
        with self.db.transaction() as conn:
            created = create_tenant(M3Context(conn, tenant, self.sandbox.now()), wanted)
        self.tenants[tenant.erp_tenant] = tenant
        return answer(tenant, self.sandbox.base_url, created)

    def _control_ionapi(self, payload: dict) -> dict:
        """The `.ionapi` file of a tenant (slug or ION tenant id), to download again."""
        wanted = payload.get("tenant")
        for tenant in self.tenants.values():
            if wanted in (tenant.slug, tenant.erp_tenant):
                return demo_data.ionapi_for(tenant, self.sandbox.base_url)
        known = ", ".join(t.slug for t in self.tenants.values())
        raise ControlError(f"Unknown tenant {wanted!r}; tenants: {known}")

    def _control_deliver(self, payload: dict) -> dict:
        """Deliver one confirmed order (by ORNO or CUOR) or every undelivered one."""
        order_ref = payload.get("order")
        if not order_ref and not payload.get("all"):
            raise ControlError("Give 'order' (ORNO or CUOR) or 'all': true")
        delivered = []
        with self.db.transaction() as conn:
            for tenant in self.tenants.values():
                ctx = M3Context(conn, tenant, self.sandbox.now())
                for order in undelivered_orders(ctx):
                    if order_ref and str(order_ref) not in (order["orno"], order["cuor"]):
                        continue
                    delivered.append(
                        deliver_order(
                            ctx,
                            order,
                            tracking=str(payload.get("tracking") or ""),
                            carrier=str(payload.get("carrier") or ""),
                        )
                    )
            if order_ref and not delivered:
                if self._find_order(conn, str(order_ref)):
                    raise ControlError(
                        f"Order {order_ref} has nothing left to deliver (delivered, or every "
                        "line deleted)"
                    )
                raise ControlError(f"No confirmed order {order_ref!r} in any M3")
        return {"delivered": delivered}

    def _find_order(self, conn: Any, order_ref: str) -> bool:
        for tenant in self.tenants.values():
            ctx = M3Context(conn, tenant, self.sandbox.now())
            if confirmed_orders(ctx, "AND (orno = ? OR cuor = ?)", (order_ref, order_ref)):
                return True
        return False

    def _control_pay(self, payload: dict) -> dict:
        """Pay one invoice (IVNO), the invoices of one order (ORNO/CUOR), or all open ones."""
        invoice_ref = payload.get("invoice")
        order_ref = payload.get("order")
        if not invoice_ref and not order_ref and not payload.get("all"):
            raise ControlError("Give 'invoice' (IVNO), 'order' (ORNO or CUOR) or 'all': true")
        paid = []
        with self.db.transaction() as conn:
            for tenant in self.tenants.values():
                ctx = M3Context(conn, tenant, self.sandbox.now())
                where, params = "AND rafc != '0'", ()
                if invoice_ref:
                    where, params = "AND ivno = ?", (str(invoice_ref),)
                elif order_ref:
                    where = (
                        "AND rafc != '0' AND orno IN (SELECT orno FROM m3_orders "
                        "WHERE ti = m3_invoices.ti AND (orno = ? OR cuor = ?))"
                    )
                    params = (str(order_ref), str(order_ref))
                for row in invoice_rows(ctx, where, params):
                    if row["rafc"] == "0":
                        raise ControlError(f"Invoice {invoice_ref} is already paid")
                    paid.append(pay_invoice(ctx, row))
        if (invoice_ref or order_ref) and not paid:
            raise ControlError(f"No open invoice for {invoice_ref or order_ref!r}")
        return {"paid": paid}

    def _control_token_lifetime(self, payload: dict) -> dict:
        seconds = payload.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 1:
            raise ControlError("'seconds' must be a number of seconds, at least 1")
        self.db.execute(
            "INSERT INTO m3_settings(key, value) VALUES ('token_lifetime', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(int(seconds)),),
        )
        return {"token_lifetime": int(seconds)}

    def _count(self, name: str) -> None:
        self.db.execute(
            "INSERT INTO m3_counters(name, value) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (f"stat:{name}",),
        )

    def _counters(self, prefix: str) -> dict[str, int]:
        """Counters whose name starts with `prefix`, by the rest of their name."""
        rows = self.db.query(
            "SELECT name, value FROM m3_counters WHERE name LIKE ?", (f"stat:{prefix}%",)
        )
        return {row[0].removeprefix(f"stat:{prefix}"): int(row[1]) for row in rows}

    def _counter(self, name: str) -> int:
        return int(self.db.scalar("SELECT value FROM m3_counters WHERE name = ?",
                                  (f"stat:{name}",)) or 0)  # fmt: skip


def control_decimal(payload: dict, key: str) -> Decimal:
    try:
        value = Decimal(str(payload[key]))
    except (KeyError, InvalidOperation):
        raise ControlError(f"'{key}' must be a number") from None
    if not value.is_finite() or value < 0:
        raise ControlError(f"'{key}' must be a number of zero or more")
    return value


# --- envelopes and matrix options ---------------------------------------------------------------


def parse_matrix(text: str) -> dict[str, str]:
    """`maxrecs=10;returncols=A,B;excludempty=true` → {"maxrecs": "10", ...}."""
    options = {}
    for part in text.split(";"):
        key, _, value = part.partition("=")
        if key.strip():
            options[key.strip().lower()] = unquote(value.strip())
    return options


def max_records(matrix: dict[str, str]) -> int:
    """The `maxrecs` asked for (0 = all; missing or unreadable: M3's default)."""
    try:
        return int(matrix.get("maxrecs") or DEFAULT_MAXRECS)
    except ValueError:
        return DEFAULT_MAXRECS


def shape(records: list[Record], matrix: dict[str, str]) -> list[Record]:
    """Apply maxrecs (0 = all), returncols and excludempty to a transaction's output."""
    maxrecs = max_records(matrix)
    if maxrecs > 0:
        records = records[:maxrecs]
    columns = [c.strip().upper() for c in matrix.get("returncols", "").split(",") if c.strip()]
    if columns:
        records = [{c: record[c] for c in columns if c in record} for record in records]
    if matrix.get("excludempty", "").lower() == "true":
        records = [{k: v for k, v in record.items() if v != ""} for record in records]
    return records


def v2_error(program: str, trx: str, error: M3Error) -> dict[str, str]:
    error_type = NOT_FOUND if (program, trx) not in TRANSACTIONS else NOK
    return {
        "errorMessage": error.message,
        "errorType": error_type,
        "errorCode": error.code,
        "errorField": error.field,
    }


def v2_envelope(
    results: list[dict[str, Any]], termination: tuple[str, str] | None = None
) -> dict[str, Any]:
    failed = sum(1 for result in results if "errorType" in result)
    skipped = sum(1 for result in results if result.get("notProcessed"))
    body: dict[str, Any] = {
        "results": results,
        "wasTerminated": termination is not None,
        "nrOfSuccessfullTransactions": len(results) - failed - skipped,
        "nrOfFailedTransactions": failed,
    }
    if skipped:
        body["nrOfNotProcessedTransactions"] = skipped
    if termination:
        body["terminationReason"], body["terminationErrorType"] = termination
    return body


def v1_envelope(
    program: str, trx: str, records: list[Record], matrix: dict[str, str]
) -> dict[str, Any]:
    """The legacy MIRecord/NameValue envelope, with fixed-width (blank-padded) values."""

    def padded(name: str, value: str) -> str:
        kind, length, _ = FIELDS.get(name, ("A", 0, name))
        return value.ljust(length) if kind == "A" else value

    body: dict[str, Any] = {"Program": program, "Transaction": trx}
    if matrix.get("metadata", "").lower() == "true":
        names = list(dict.fromkeys(name for record in records for name in record))
        body["Metadata"] = {
            "Field": [
                {
                    "@name": name,
                    "@type": FIELDS.get(name, ("A",))[0],
                    "@length": str(FIELDS.get(name, ("A", 0))[1]),
                    "@description": FIELDS.get(name, ("A", 0, name))[2],
                }
                for name in names
            ]
        }
    body["MIRecord"] = [
        {
            "RowIndex": str(index),
            "NameValue": [{"Name": k, "Value": padded(k, v)} for k, v in record.items()],
        }
        for index, record in enumerate(records)
    ]
    return body
