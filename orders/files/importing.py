"""Importing orders from a person's file (CSV, TSV or .xlsx), order by order.

Every order of the file is checked in memory with the order API's rules (`orders.files.checking`)
before anything is written, so a person fixing a file sees every problem at once. By default
the good orders are imported and each bad one is refused whole, with its problems (row, column,
what to do) and its rows in the bad-rows file; "all or nothing" imports nothing when any order
has a problem. The orders to import are written with a few bulk INSERTs in one transaction
(`orders.intake.accept.accept_new_orders`), and then go through the normal pipeline.

Every file comes from a sales channel (the shop it was exported from): the one the person names
for the upload, or per order a mapped column. An order is known by its channel and number, so
two shops' #1001 are two orders, and an order the hub already has is skipped and counted, never
refused: importing the same file again changes nothing.

An upload is a `CsvImport` work item: a workbook is first read into rows by a worker (its zip
alone is checked in the web request), a CSV file as it is uploaded, both within the limits of
`orders.files.reading`; it then waits for its column mapping (`orders.files.mapping`), and is
imported while the person waits (small files) or by a worker, reporting its progress.

An order the file says is already done (fulfilled, cancelled, refunded: its status columns, read
by `orders.changes.versions.store_lifecycle`; any "Cancelled at" value means cancelled) is never
sent to the ERP or ShipStation: as the person chose for the import, it is kept as history only
or skipped. A skipped order is not written, so it is not checked beyond its rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Func, Value
from django.db.models.functions import Lower
from django.utils import timezone

from catalog.models import ItemBinding
from core import work
from core.spreadsheets import csv_bytes
from orders.changes.versions import CANCELLED, FULFILLED, OPEN, REFUNDED
from orders.erp.batch_orders import bound_items
from orders.files.checking import (
    CatalogNames,
    ColumnReading,
    DraftOrder,
    FileLayout,
    OrderRules,
    Problem,
    Progress,
    cell_at,
    check_orders,
    group_rows,
    incoming_order,
    mapping_problems,
    unnamed_lines,
)
from orders.files.joining import NOT_A_PAIR, join_files
from orders.files.mapping import FIELDS_BY_PATH, Mapping, missing_required, suggest
from orders.files.reading import (
    CONTROL_OR_BREAK,
    Limits,
    Row,
    UnreadableFile,
    check_size,
    check_workbook,
    is_excel,
    read_rows,
    workbook_as_csv,
)
from orders.files.values import DateReading, strip_text_marker
from orders.intake.accept import (
    DONE_ORDER_POLICIES,
    HISTORY,
    SKIP,
    accept_new_orders,
    done_orders_policy,
)
from orders.models import CsvImport, Order, OrderLine, SalesChannel
from tenant_settings.models import ConnectionSettings
from tenants.activity import record_activity

__all__ = ["Problem", "incoming_order"]

logger = logging.getLogger("hub.csv_import")

PREVIEW_ROWS = 5
DEFAULT_CHANNEL = "Order files"
"""The sales channel of files whose upload names none (and of files imported before channels)."""
RACE_RETRIES = 3
"""Times an import is written again when other imports created some of its orders meanwhile."""


FATES = {HISTORY: "kept as history only (never sent)", SKIP: "skipped (not imported)"}
"""What becomes of orders that arrive already done, by the import's choice."""


@dataclass(frozen=True)
class Arrivals:
    """How many of a file's orders are to send, and how many arrived already done."""

    to_send: int = 0
    fulfilled: int = 0
    cancelled: int = 0
    refunded: int = 0

    @classmethod
    def of(cls, lifecycles: Iterable[str]) -> Arrivals:
        counts = dict.fromkeys((OPEN, FULFILLED, CANCELLED, REFUNDED), 0)
        for lifecycle in lifecycles:
            counts[lifecycle] += 1
        return cls(counts[OPEN], counts[FULFILLED], counts[CANCELLED], counts[REFUNDED])

    @classmethod
    def from_json(cls, saved: dict[str, Any]) -> Arrivals:
        return cls(**{name: int(saved.get(name) or 0) for name in cls.__dataclass_fields__})

    def as_json(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @property
    def done(self) -> int:
        return self.fulfilled + self.cancelled + self.refunded

    def done_text(self) -> str:
        """'3 already done (1 fulfilled, 1 cancelled, 1 refunded)'."""
        kinds = ", ".join(
            f"{count} {name}"
            for name, count in (
                (FULFILLED, self.fulfilled),
                (CANCELLED, self.cancelled),
                (REFUNDED, self.refunded),
            )
            if count
        )
        return f"{self.done} already done ({kinds})"

    def preview(self, policy: str) -> str:
        """The groups as the preview shows them, before the import."""
        if not self.done:
            return f"{self.to_send} to send, none already done."
        return f"{self.to_send} to send, {self.done_text()} → {FATES[policy]}."

    def outcome(self, policy: str) -> str:
        """What the import did with the orders already done; "" when there were none."""
        if not self.done:
            return ""
        return f"{self.done_text()}: {FATES[policy]}."


@dataclass(frozen=True)
class ImportOptions:
    """What the person chose for an import."""

    done_orders: str = HISTORY
    all_or_nothing: bool = False
    channel: str = DEFAULT_CHANNEL
    """The sales channel of the orders whose rows name none."""
    date_order: str = ""
    """How dates such as 03/04/2025 are read; "" detects it from the column."""


def counted(count: int, what: str) -> str:
    return f"{count} {what}" if count == 1 else f"{count} {what}s"


@dataclass
class ImportResult:
    problems: list[Problem] = field(default_factory=list)
    orders: int = 0
    lines: int = 0
    refused: int = 0
    """Orders (and rows belonging to no order) refused because of a problem."""
    known: int = 0
    """Orders skipped because the hub has them already."""
    arrivals: Arrivals = Arrivals()
    done_orders: str = HISTORY

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rejected(self) -> bool:
        """Nothing was imported because of problems (all or nothing, or every order bad)."""
        return bool(self.problems) and not self.orders

    @property
    def errors(self) -> list[str]:
        return [str(problem) for problem in sorted(self.problems)]

    @property
    def summary(self) -> str:
        said = [f"Imported {self.orders} orders ({self.lines} lines)."]
        said.append(self.arrivals.outcome(self.done_orders))
        if self.known:
            said.append(f"{self.known} skipped: the hub has them already.")
        if self.refused:
            said.append(f"{self.refused} refused: see the problems and the bad rows.")
        return " ".join(text for text in said if text)


class Channels:
    """The tenant's sales channels by name (case aside); a name the file brings is created
    when one of its orders is written."""

    def __init__(self) -> None:
        self.by_name = {channel.name.casefold(): channel for channel in SalesChannel.objects.all()}

    def find(self, name: str) -> SalesChannel | None:
        return self.by_name.get(name.strip().casefold())

    def get_or_create(self, name: str) -> SalesChannel:
        found = self.find(name)
        if found is None:
            found = SalesChannel.objects.create(name=name.strip()[:100])
            self.by_name[found.name.casefold()] = found
        return found


def sales_channel_named(name: str) -> SalesChannel:
    """The tenant's sales channel of this name (case aside), created when there is none."""
    return Channels().get_or_create(name)


@dataclass
class Plan:
    """A file read into orders and checked: what would be imported, skipped and refused."""

    drafts: list[DraftOrder] = field(default_factory=list)
    file_problems: list[Problem] = field(default_factory=list)
    """Problems of the file as a whole (unreadable, the mapping): nothing can be imported."""
    loose: list[Problem] = field(default_factory=list)
    """Problems of rows that belong to no order (no order number)."""
    reading: ColumnReading | None = None
    channels: Channels | None = None
    options: ImportOptions = ImportOptions()

    @property
    def problems(self) -> list[Problem]:
        refused = [problem for draft in self.drafts if draft.refused for problem in draft.problems]
        return [*self.file_problems, *self.loose, *refused]

    @property
    def refused(self) -> int:
        return sum(draft.refused for draft in self.drafts) + len({p.row for p in self.loose})

    @property
    def known(self) -> int:
        return sum(draft.known is not None for draft in self.drafts)

    @property
    def to_write(self) -> list[DraftOrder]:
        return [draft for draft in self.drafts if draft.to_write]

    def arrivals(self) -> Arrivals:
        """The orders written or skipped as already done (not those known or refused)."""
        return Arrivals.of(
            draft.lifecycle for draft in self.drafts if draft.known is None and not draft.refused
        )


def plan_import(
    data: bytes,
    mapping: Mapping,
    options: ImportOptions | None = None,
    *,
    check: bool = True,
    progress: Progress | None = None,
) -> Plan:
    """The file's orders: those already known (same sales channel and number), those already
    done that the import skips, and, when `check`, every other one checked (ready to write, or
    refused with its problems). Without `check` a mapping that lacks required fields is used
    as far as it goes (the preview's counts)."""
    options = options or ImportOptions()
    try:
        header, rows = read_rows(data)
        problems = mapping_problems(header, mapping)
        if problems and check:
            return Plan(file_problems=problems, options=options)
        layout = FileLayout(header, mapping)
        drafts, loose = group_rows(rows, layout, progress=progress)
    except UnreadableFile as error:
        return Plan(file_problems=[Problem(error.row, "", error.message)], options=options)
    if options.done_orders == SKIP:
        for draft in drafts:
            draft.skipped = draft.lifecycle != OPEN
    channels = Channels()
    mark_known(drafts, channels, options.channel)
    reading = ColumnReading.of(drafts, layout, options.date_order)
    if check:
        rules = OrderRules(reading, layout, options.channel, catalog_names(unnamed_lines(drafts)))
        check_orders(drafts, rules, progress=progress)
    return Plan(drafts, [], loose, reading, channels, options)


def catalog_names(keys: set[str]) -> CatalogNames:
    """Name key → the SKUs of the tenant's catalog sold under that name: the names the lines of
    its orders carried for SKUs bound in Catalog › Item bindings (a binding keeps no name of
    its own). One query, made only for files with lines without a SKU."""
    if not keys:
        return {}
    spaceless = Func(F("name"), Value(r"\s+"), Value(""), Value("g"), function="regexp_replace")
    rows = (
        OrderLine.objects.annotate(name_key=Lower(spaceless))
        .filter(name_key__in=keys, sku__in=ItemBinding.objects.values("sku"))
        .values_list("name_key", "sku")
        .distinct()
    )
    found: CatalogNames = defaultdict(set)
    for key, sku in rows:
        found[key].add(sku)
    return found


def mark_known(drafts: list[DraftOrder], channels: Channels, default_channel: str) -> int:
    """Note the hub's order of each order's sales channel and number; one query per channel.
    Returns how many were newly found."""
    wanted: dict[int, dict[str, DraftOrder]] = defaultdict(dict)
    for draft in drafts:
        channel = channels.find(draft.channel or default_channel)
        if channel is not None and draft.known is None:
            wanted[channel.pk][draft.number] = draft
    found = 0
    for channel_id, by_number in wanted.items():
        for number, pk in Order.objects.filter(
            sales_channel_id=channel_id, order_number__in=list(by_number)
        ).values_list("order_number", "pk"):
            by_number[number].known = pk
            found += 1
    return found


def count_arrivals(upload: CsvImport) -> Arrivals | None:
    """The preview's groups: the file's orders to send and those already done, by its mapping's
    order number and status columns; None when the mapping has no usable order number."""
    found = inspect_upload(upload, check=False)
    return found.arrivals if found else None


class ImportRaced(Exception):
    """Other imports kept creating this file's orders while it was written."""


def import_orders(
    data: bytes,
    mapping: Mapping,
    *,
    actor: str,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check the whole file, then create every good order in one transaction: each bad order
    is refused with its problems, or, all or nothing, nothing is created when any is bad.

    Orders the hub has already are skipped; orders already done are created as history only
    (never scheduled), or left out when `done_orders` is SKIP; the result counts them all."""
    options = options or ImportOptions()
    plan = plan_import(data, mapping, options, progress=progress)
    result = ImportResult(
        problems=plan.problems,
        refused=plan.refused,
        known=plan.known,
        done_orders=options.done_orders,
    )
    if plan.file_problems or (options.all_or_nothing and result.problems):
        return result
    written = write_with_retries(plan, actor=actor, progress=progress)
    result.orders = len(written)
    result.lines = sum(len(draft.incoming.lines) for draft in written if draft.incoming)
    result.known = plan.known
    result.arrivals = plan.arrivals()
    return result


def write_with_retries(
    plan: Plan, *, actor: str, progress: Progress | None = None
) -> list[DraftOrder]:
    """Write the plan's orders; those another import created meanwhile are found (unique per
    sales channel and number), counted as known and left out, and the rest written again."""
    for _ in range(RACE_RETRIES):
        drafts = plan.to_write
        channels = plan.channels or Channels()
        try:
            with transaction.atomic():
                write_orders(drafts, channels, plan.options.channel, actor, progress)
            return drafts
        except IntegrityError:
            plan.channels = Channels()  # a channel may have been created meanwhile too
            if not mark_known(drafts, plan.channels, plan.options.channel):
                raise
    raise ImportRaced("other imports kept creating this file's orders; upload it again.")


def write_orders(
    drafts: list[DraftOrder],
    channels: Channels,
    default_channel: str,
    actor: str,
    progress: Progress | None,
) -> list[Order]:
    """The orders, their lines and events in a few bulk INSERTs (intake's), each with its sales
    channel and whether it needs shipping: the unique order per channel and number is checked
    by those INSERTs, in the same transaction."""
    incomings = [
        replace(
            draft.incoming,
            sales_channel_id=channels.get_or_create(draft.channel or default_channel).pk,
            needs_shipping=draft.needs_shipping,
        )
        for draft in drafts
        if draft.incoming is not None
    ]
    if progress:
        progress("writing orders", 0, len(incomings))
    return accept_new_orders(
        incomings,
        actor=actor,
        progress=(lambda done: progress("writing orders", done, len(incomings)))
        if progress
        else None,
    )


# What the preview says before anything is imported


@dataclass(frozen=True)
class Inspection:
    """The preview's account of a file: how many orders are new, known, already done and (for
    files checked on the page) refused, and what the hub decided or will do about its values."""

    orders: int
    new: int
    known: int
    refused: int | None
    """None when the file is too large to check on the page (the import checks it)."""
    arrivals: Arrivals
    dates: DateReading | None
    without_email: int
    without_shipping: int
    new_channels: tuple[str, ...]
    unknown_skus: tuple[tuple[str, tuple[str, ...]], ...]
    """SKUs no catalog binding knows, with the orders that have them."""
    problems: tuple[Problem, ...] = ()
    skus_by_name: tuple[tuple[str, str, str], ...] = ()
    """Lines without a SKU that got one by their name: (order, name, SKU)."""
    ambiguous_skus: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """SKUs bound to different ERP items in the tenant's stores, with those items: the ERP step
    refuses their orders (an order from a file has no store to decide)."""

    def counts_text(self) -> str:
        said = [counted(self.orders, "order"), f"{self.new} new"]
        if self.known:
            said.append(f"{self.known} already in the hub (skipped)")
        if self.refused:
            said.append(f"{self.refused} refused")
        return ", ".join(said) + "."


def inspect_upload(
    upload: CsvImport, options: ImportOptions | None = None, *, check: bool = False
) -> Inspection | None:
    """What the preview shows, with the upload's mapping as far as it goes (every order checked
    when `check` and the mapping is complete); None without a usable order number column."""
    try:
        header, _ = read_rows(bytes(upload.content))
    except UnreadableFile:
        return None
    mapping = {
        path: index
        for path, index in upload.mapping.items()
        if path in FIELDS_BY_PATH and isinstance(index, int) and 0 <= index < len(header)
    }
    if "order_number" not in mapping:
        return None
    check = check and not missing_required(mapping)
    plan = plan_import(bytes(upload.content), mapping, options, check=check)
    if plan.file_problems:
        return None
    fresh = [draft for draft in plan.drafts if draft.known is None]
    new = [draft for draft in fresh if not draft.refused]
    channels = plan.channels or Channels()
    skus = skus_of(new)
    bound = bound_items(skus)
    return Inspection(
        orders=len(plan.drafts),
        new=len(new),
        known=plan.known,
        refused=plan.refused if check else None,
        arrivals=plan.arrivals(),
        dates=plan.reading.dates if plan.reading else None,
        without_email=sum(1 for draft in new if not draft.value("email")),
        without_shipping=sum(1 for draft in new if not draft.needs_shipping),
        new_channels=tuple(
            sorted({d.channel for d in fresh if d.channel and channels.find(d.channel) is None})
        ),
        unknown_skus=tuple((sku, orders) for sku, orders in skus.items() if sku not in bound),
        problems=tuple(sorted(plan.problems)) if check else (),
        skus_by_name=tuple(
            (draft.number, name, sku) for draft in new for _, name, sku in draft.named_skus
        ),
        ambiguous_skus=tuple(
            (sku, tuple(sorted(bound[sku]))) for sku in skus if len(bound.get(sku, ())) > 1
        ),
    )


def skus_of(drafts: list[DraftOrder]) -> dict[str, tuple[str, ...]]:
    """Each SKU of these orders (sorted), with the orders that have it."""
    sku = FIELDS_BY_PATH["lines.sku"]
    orders_of: dict[str, list[str]] = defaultdict(list)
    for draft in drafts:
        for _, values in draft.lines:
            code = strip_text_marker(values.get(sku, "")).strip()
            if code and draft.number not in orders_of[code]:
                orders_of[code].append(draft.number)
    return {code: tuple(orders_of[code]) for code in sorted(orders_of)}


def customer_policy_text() -> str:
    """How orders without an e-mail get their ERP customer, in the tenant's words."""
    found = ConnectionSettings.objects.first()
    if found is None:
        return "by the tenant's customer policy (Connection settings)"
    if found.missing_customer_policy == ConnectionSettings.MissingCustomerPolicy.DEFAULT:
        customer = found.erp_default_customer or "(not set yet)"
        return f"the default ERP customer {customer}, as the customer policy says"
    return (
        "a new ERP customer from the template, one per buyer name and postcode, as the "
        "customer policy says"
    )


def sku_policy_text() -> str:
    """What happens to SKUs no catalog binding knows, by the tenant's setting."""
    found = ConnectionSettings.objects.first()
    if found is None or found.sku_is_erp_item:
        return (
            "they are sent to the ERP as item numbers; an item the ERP does not know stops its "
            "order there (needs attention)."
        )
    return (
        "the tenant's settings take no SKU as an ERP item number, so their orders stop at the "
        "ERP step until the SKUs are bound in Catalog › Item bindings."
    )


# An upload's life: kept with a suggested mapping, mapped by a person, imported.


ABANDONED_AFTER = timedelta(days=7)
"""An upload whose mapping nobody confirmed is deleted after this (at the next upload)."""


def receive_file(
    data: bytes, *, file_name: str, actor: str, second: bytes | None = None, second_name: str = ""
) -> CsvImport:
    """Keep an uploaded file until a person confirms its mapping; raises `UnreadableFile`.

    A CSV file is read here, within the limits. A workbook only has its zip checked here (its
    directory: cheap); it is kept as it came and a worker reads it (`read_workbook`), so no web
    request ever parses a sheet. Its page follows the worker, then shows the preview. A second
    file (Etsy's orders beside its order items) is joined with the first into one CSV file
    (`orders.files.joining`), both read here within the limits.
    """
    limits = Limits.current()
    check_size(data, limits)
    file_name = clean_file_name(file_name)
    if second is not None:
        check_size(second, limits)
        if is_excel(data) or is_excel(second):
            raise UnreadableFile(f"{NOT_A_PAIR} Two files are joined as CSV only.")
        data = join_files(data, second, limits)
        file_name = clean_file_name(f"{file_name} + {second_name}")
    if is_excel(data):
        check_workbook(data, limits)
        upload = _keep(data, file_name=file_name, actor=actor, state=CsvImport.State.READING)
        work.schedule(upload)
        return upload
    header, rows = read_rows(data, limits)
    count = sum(1 for _ in rows)
    suggestion = suggest(header)
    return _keep(
        data,
        file_name=file_name,
        actor=actor,
        state=CsvImport.State.MAPPING,
        rows=count,
        mapping=suggestion.mapping,
        mapped_as=suggestion.source[:200],
    )


def _keep(data: bytes, *, file_name: str, actor: str, **fields: Any) -> CsvImport:
    CsvImport.objects.filter(
        state=CsvImport.State.MAPPING, created_at__lt=timezone.now() - ABANDONED_AFTER
    ).delete()
    return CsvImport.objects.create(uploaded_by=actor, file_name=file_name, content=data, **fields)


def clean_file_name(name: str) -> str:
    """The upload's name as the hub shows and stores it: no control characters."""
    return CONTROL_OR_BREAK.sub("", name)[:255] or "orders"


def read_workbook(upload: CsvImport) -> None:
    """The worker's step for a workbook: its first sheet read into rows (kept as CSV) within
    the limits, counted, and its mapping suggested; or, at the first breach or when it cannot
    be read, the upload rejected with the reason (and the workbook dropped)."""
    reporter = ProgressReporter(upload)
    try:
        content = workbook_as_csv(
            bytes(upload.content), progress=lambda rows: reporter("reading the workbook", rows, 0)
        )
        header, rows = read_rows(content)
        count = sum(1 for _ in rows)
    except UnreadableFile as error:
        problem = str(Problem(error.row, "", error.message))
        work.guarded_move(
            upload,
            CsvImport.State.REJECTED,
            "",
            {
                "content": b"",
                "problems": [problem],
                "problem_rows": {},
                "finished_at": timezone.now(),
            },
        )
        record_activity(
            "order.csv_rejected",
            actor=upload.uploaded_by,
            obj=upload,
            outcome="failure",
            message=f"{upload.file_name}: unreadable, nothing imported.",
        )
        return
    finally:
        reporter.clear()
    suggestion = suggest(header)
    work.guarded_move(
        upload,
        CsvImport.State.MAPPING,
        "",
        {
            "content": content,
            "rows": count,
            "mapping": suggestion.mapping,
            "mapped_as": suggestion.source[:200],
        },
    )


def is_read(upload: CsvImport) -> bool:
    """The upload is kept as rows (CSV): a workbook is, once a worker has read it."""
    start = bytes(upload.content[:4])
    return bool(start) and not is_excel(start)


def preview(upload: CsvImport, rows: int = PREVIEW_ROWS) -> tuple[list[str], list[Row]]:
    """The file's header and its first data rows, for the mapping page: from the rows kept (a
    workbook's as its worker read them), never from a workbook."""
    if not is_read(upload):
        raise UnreadableFile(
            upload.problems[0]
            if upload.problems
            else "The workbook could not be read; upload it again, or save it as CSV UTF-8."
        )
    header, data_rows = read_rows(bytes(upload.content))
    first = []
    for row in data_rows:
        first.append(row)
        if len(first) == rows:
            break
    return header, first


CONFIRMABLE = (CsvImport.State.MAPPING, CsvImport.State.REJECTED, CsvImport.State.FAILED)


class AlreadyStarted(Exception):
    """Somebody confirmed this upload's mapping already (another tab, a double click)."""


def done_orders_choice(upload: CsvImport) -> str:
    """What this import does with orders already done: the person's choice, else the tenant's
    default."""
    chosen = (upload.done_orders or {}).get("policy")
    return chosen if chosen in DONE_ORDER_POLICIES else done_orders_policy()


def confirm_mapping(
    upload: CsvImport,
    mapping: Mapping,
    *,
    mapped_as: str,
    right_now: bool,
    done_orders: str | None = None,
    channel: SalesChannel | None = None,
    all_or_nothing: bool = False,
    date_order: str = "",
) -> CsvImport:
    """Import the file with this mapping: its orders from `channel` (the default channel when
    not given) unless a column names theirs, orders already done kept as history or skipped
    (`done_orders`; the tenant's default when not given), order by order or `all_or_nothing`:
    now, in this process, or by a worker.

    Either way it runs as the work item's attempt, so one runner only, with its attempt
    history; a web process that dies midway leaves it leased, and the sweeper hands it to a
    worker once the lease expires.
    """
    if upload.state not in CONFIRMABLE:
        raise AlreadyStarted(upload.get_state_display())
    fields = {
        "mapping": mapping,
        "mapped_as": mapped_as[:200],
        "sales_channel": channel,
        "all_or_nothing": all_or_nothing,
        "date_order": date_order,
        "done_orders": {
            "policy": done_orders if done_orders in DONE_ORDER_POLICIES else done_orders_policy()
        },
        "problems": [],
        "problem_rows": {},
        "orders_created": 0,
        "lines_created": 0,
        "orders_refused": 0,
        "orders_known": 0,
        "finished_at": None,
        "attempts": 0,
        "last_error": "",
        "last_error_hint": "",
    }
    if not work.guarded_move(upload, CsvImport.State.QUEUED, "", fields):
        raise AlreadyStarted("started meanwhile")
    if right_now:
        run_csv_import(upload.pk)
    else:
        work.schedule(upload)
    upload.refresh_from_db()
    return upload


def import_options(upload: CsvImport) -> ImportOptions:
    """The person's choices for this upload (the tenant's defaults where none was made)."""
    channel = upload.sales_channel
    return ImportOptions(
        done_orders=done_orders_choice(upload),
        all_or_nothing=upload.all_or_nothing,
        channel=channel.name if channel else DEFAULT_CHANNEL,
        date_order=upload.date_order,
    )


def register_work_kind() -> None:
    """An uploaded workbook and a confirmed file are work items: a killed worker's reading or
    import (one transaction, rolled back) is simply run again once its lease has expired."""
    work.register(
        work.WorkKind(
            model=CsvImport,
            task="orders.import_csv_file",
            work_states=(CsvImport.State.READING, CsvImport.State.QUEUED),
            needs_attention=CsvImport.State.FAILED,
            failed=CsvImport.State.FAILED,
            age_field="created_at",
            max_attempts=3,
        )
    )


def run_csv_import(import_id: int) -> str:
    """Read an uploaded workbook (`read_workbook`), or import a confirmed file: its good orders
    in one transaction, each bad one refused with its problems (or, all or nothing, nothing)."""
    return work.process(CsvImport, import_id, _step)


def _step(upload: CsvImport) -> None:
    if upload.state == CsvImport.State.READING:
        read_workbook(upload)
    else:
        _import(upload)


def _import(upload: CsvImport) -> None:
    """The orders and the import's result commit together: a worker killed midway leaves
    neither, and the file is simply imported again."""
    reporter = ProgressReporter(upload)
    options = import_options(upload)
    with transaction.atomic():
        result = import_orders(
            bytes(upload.content),
            upload.mapping,
            actor=upload.uploaded_by,
            options=options,
            progress=reporter,
        )
        outcome = {} if result.rejected else result.arrivals.as_json()
        work.guarded_move(
            upload,
            CsvImport.State.REJECTED if result.rejected else CsvImport.State.DONE,
            "",
            {
                "problems": result.errors,
                "problem_rows": problem_rows(result.problems),
                "orders_created": result.orders,
                "lines_created": result.lines,
                "orders_refused": result.refused,
                "orders_known": result.known,
                "done_orders": {"policy": options.done_orders, **outcome},
                "finished_at": timezone.now(),
            },
        )
        record_activity(
            "order.csv_rejected" if result.rejected else "order.csv_imported",
            actor=upload.uploaded_by,
            obj=upload,
            outcome="failure" if result.rejected else "success",
            message=f"{upload.file_name}: {result.orders} orders ({result.lines} lines), "
            f"{result.refused} refused, {result.known} already known, "
            f"{len(result.problems)} problem(s). "
            f"{result.arrivals.outcome(options.done_orders)}".strip(),
        )
    reporter.clear()


# Progress: the import runs in one transaction, so its progress cannot be read from its row
# until it commits; it is kept in the cache (per schema) while it runs.


def _progress_key(pk: int) -> str:
    return f"csv-import-progress:{pk}"


class ProgressReporter:
    """Tells the cache how far an import is; an unreachable cache only loses the display."""

    def __init__(self, upload: CsvImport) -> None:
        self.key = _progress_key(upload.pk)
        self.rows = upload.rows

    def __call__(self, phase: str, done: int, total: int) -> None:
        self._write({"phase": phase, "done": done, "total": total or self.rows})

    def clear(self) -> None:
        try:
            cache.delete(self.key)
        except Exception:
            logger.warning("cache unreachable; import progress not cleared")

    def _write(self, value: dict[str, Any]) -> None:
        try:
            cache.set(self.key, value, timeout=3600)
        except Exception:
            logger.warning("cache unreachable; import progress not shown")


def status(upload: CsvImport) -> dict[str, Any]:
    """What the import page shows and polls: its state and, while it runs, how far it is."""
    leased = bool(upload.lease_until and upload.lease_until > timezone.now())
    reading = upload.state == CsvImport.State.READING
    running = reading or upload.state == CsvImport.State.QUEUED
    now: dict[str, Any] = {}
    if running:
        try:
            now = cache.get(_progress_key(upload.pk)) or {}
        except Exception:
            now = {}
    phase = now.get("phase") or ("starting" if leased else "waiting for a worker")
    done, total = now.get("done", 0), now.get("total") or upload.rows
    if not running:
        text = upload.get_state_display()
    elif reading:
        text = f"Reading the workbook: {done:,} rows so far" if done else f"Reading ({phase})"
    elif done:
        text = f"Importing: {phase}, {done:,} of {total:,}"
    else:
        text = f"Importing: {phase} ({upload.rows:,} rows)"
    return {
        "state": upload.state,
        "finished": not running,
        "phase": phase if running else "",
        "done": done if running else upload.rows,
        "total": total,
        "text": text,
        "orders_created": upload.orders_created,
        "lines_created": upload.lines_created,
        "orders_refused": upload.orders_refused,
        "orders_known": upload.orders_known,
        "problems": len(upload.problems),
    }


def result_text(upload: CsvImport) -> str:
    """What the import did: imported, refused, skipped as known (once it has run)."""
    if upload.state not in (CsvImport.State.DONE, CsvImport.State.REJECTED):
        return "—"
    said = [f"{upload.orders_created} imported ({upload.lines_created} lines)"]
    said.append(f"{upload.orders_refused} refused")
    said.append(f"{upload.orders_known} skipped as already in the hub")
    return ", ".join(said) + "."


def done_orders_outcome(upload: CsvImport) -> str:
    """What an import did with the orders already done, or what it will do with them."""
    saved = upload.done_orders or {}
    policy = done_orders_choice(upload)
    if upload.state != CsvImport.State.DONE:
        return f"Orders already done will be {FATES[policy]}."
    if "to_send" not in saved:  # imported before the hub counted them
        return "—"
    return Arrivals.from_json(saved).outcome(policy) or "None: every order was to send."


def problem_rows(problems: list[Problem]) -> dict[str, list[str]]:
    """Row number (as text, a JSON key) → what is wrong in it."""
    rows: dict[str, list[str]] = {}
    for problem in sorted(problems):
        if problem.row:
            rows.setdefault(str(problem.row), []).append(problem.in_row)
    return rows


def bad_rows_file(upload: CsvImport) -> bytes:
    """Every row of the orders that have a problem, as CSV with a Problem column.

    Whole orders, so a fixed file holds each order complete; the Problem cell names the row
    it had in the uploaded file.
    """
    said = {int(row): "; ".join(texts) for row, texts in upload.problem_rows.items()}
    if not is_read(upload):  # nothing was read: the problems are the whole file's
        return csv_bytes([["Problem"], *([problem] for problem in upload.problems)])
    header, rows = read_rows(bytes(upload.content))
    number_index = upload.mapping.get("order_number")
    listed = list(rows)
    bad_orders = {
        strip_text_marker(cell_at(cells, number_index))
        for number, cells in listed
        if number in said and number_index is not None
    } - {""}
    out = [[*header, "Problem"]]
    for number, cells in listed:
        order = strip_text_marker(cell_at(cells, number_index))
        if number not in said and order not in bad_orders:
            continue
        padded = cells + [""] * (len(header) - len(cells))
        problem = said.get(number, "(another row of this order has a problem)")
        out.append([*padded, f"Row {number}: {problem}"])
    return csv_bytes(out)
