"""Store orders as this tenant sees them: one part per tenant, with its pipeline state."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import WorkItem

# Tenant rows pointing at a public Store use DO_NOTHING: the database constraint keeps them
# valid, and Django must not cascade across schemas (it would look for tenant tables in public).


class SalesChannel(models.Model):
    """A shop the tenant sells through, as the tenant names it ("Shopify UK", "Etsy").

    Order files name the shop they came from, and an order from a file is known by its channel
    and its number: every Shopify shop starts at #1001, so a number alone says nothing.
    """

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Order(WorkItem):
    """The tenant's part of a store order, moving through the pipeline's states.

    Its state is written only by `orders.state`.
    """

    class State(models.TextChoices):
        ROUTED = "routed", "Routed"
        CUSTOMER_LINKED = "customer_linked", "Customer linked"
        IN_ERP = "in_erp", "In ERP"
        SENT_TO_SHIPSTATION = "sent_to_shipstation", "Sent to ShipStation"
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped", "Shipped"
        INVOICED = "invoiced", "Invoiced"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        HISTORY = "history", "History only (never sent)"

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Store webhook"
        POLL = "poll", "Store polling"
        API = "api", "Order API"
        CSV = "csv", "CSV upload"
        MANUAL = "manual", "Entered by hand"
        BACKFILL = "backfill", "Store backfill"

    store = models.ForeignKey(
        "tenants.Store",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    store_order_id = models.CharField(max_length=100, help_text="The store's own order id.")
    order_number = models.CharField(max_length=100, db_index=True)
    sales_channel = models.ForeignKey(
        SalesChannel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="The shop an order file said the order came from; none for store, API and "
        "typed-in orders.",
    )
    needs_shipping = models.BooleanField(
        default=True,
        help_text="False for orders with nothing to ship (digital goods, pick-up): they may have "
        "no ship-to and are never sent to ShipStation.",
    )
    ordered_at = models.DateTimeField(null=True, blank=True)
    customer_email = models.EmailField(blank=True)
    currency = models.CharField(max_length=3, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    subtotal = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="This part's lines."
    )
    shipping_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="This part's share of the store order's shipping (docs/adr-0006).",
    )
    tax_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="This part's share of the store order's tax (docs/adr-0006).",
    )
    discount_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="This part's share of the store order's discount (docs/adr-0006).",
    )
    state = models.CharField(
        max_length=24, choices=State.choices, default=State.ROUTED, db_index=True
    )
    state_message = models.TextField(blank=True)
    store_customer_id = models.CharField(max_length=100, blank=True)
    ship_to = models.JSONField(default=dict, blank=True)
    payload = models.JSONField(
        default=dict, blank=True, help_text="The authoritative order as received; replayable."
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    request_hash = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the API request body, for key reuse."
    )
    erp_customer_number = models.CharField("ERP customer (CUNO)", max_length=10, blank=True)
    erp_temporary_order_number = models.CharField(
        "ERP batch order (temporary ORNO)", max_length=10, blank=True
    )
    erp_order_number = models.CharField("ERP order (ORNO)", max_length=10, blank=True)
    erp_batch_check_since = models.DateTimeField(
        "M3 batch orders to check since",
        null=True,
        blank=True,
        help_text="Set when an AddBatchHead for this order got no answer: M3 may hold an open "
        "batch order under its CUOR that the hub cannot list or delete; cleared when a person "
        "has checked M3.",
    )
    shipstation_order_key = models.CharField("ShipStation orderKey", max_length=100, blank=True)
    shipstation_order_id = models.CharField("ShipStation order id", max_length=20, blank=True)
    other_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="This part's share of what the store's total holds beyond lines, discount, "
        "shipping and tax (fees, rounding); negative only when the store's numbers do not add "
        "up (docs/adr-0006).",
    )
    prices_include_tax = models.BooleanField(
        null=True,
        blank=True,
        help_text="Whether the store's line prices include tax, decided from this order's own "
        "numbers (docs/adr-0006); unknown for orders that carry no tax.",
    )
    money_note = models.TextField(
        blank=True, help_text="How the hub read the store's money, and what did not add up."
    )
    refunded_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=0,
        help_text="What the store has given back on this order (the store's refunds).",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    personal_data_removed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the shopper's name, address, e-mail, phone and the raw store payload "
        "were removed (retention or an erasure request); amounts, lines and references stay.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["erp_batch_check_since"],
                condition=Q(erp_batch_check_since__isnull=False),
                name="order_erp_batch_check",
            ),
            # The retention job's question, "which done orders still hold personal data?",
            # answered from the few rows that do (privacy.retention).
            models.Index(
                fields=["updated_at"],
                condition=Q(personal_data_removed_at__isnull=True)
                & Q(state__in=["invoiced", "cancelled", "failed", "history"]),
                name="order_personal_data_kept",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "store_order_id"], name="unique_order_per_store"
            ),
            models.UniqueConstraint(
                fields=["source", "store_order_id"],
                condition=Q(store__isnull=True) & ~Q(source="csv"),
                name="unique_storeless_order",
            ),
            models.UniqueConstraint(
                fields=["sales_channel", "order_number"],
                condition=Q(sales_channel__isnull=False),
                name="unique_order_per_sales_channel",
            ),
        ]
        permissions = [
            ("retry_order", "Can retry an order"),
            ("replay_order", "Can replay an order from its stored payload"),
            ("cancel_order", "Can cancel an order in the hub"),
        ]

    def __str__(self) -> str:
        return f"Order {self.order_number}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    sku = models.CharField(max_length=128)
    name = models.CharField(max_length=300, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        help_text="As the store reports it: with tax when the order's prices include tax.",
    )
    discount_amount = models.DecimalField(
        max_digits=14, decimal_places=4, default=0, help_text="The line's own discount."
    )
    tax_amount = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="The line's tax as the store reports it, when it does.",
    )
    tax_rate = models.DecimalField(
        "Tax rate (%)", max_digits=7, decimal_places=4, null=True, blank=True
    )
    erp_item_number = models.CharField(max_length=15, blank=True)
    store_line_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The store's own id of this line (API2Cart order_product_id), for shipments.",
    )

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="unique_order_line")
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"


class OrderEvent(models.Model):
    """One step of an order's timeline, with the upstream's ids and words."""

    class Outcome(models.TextChoices):
        INFO = "info", "Info"
        SUCCESS = "success", "Success"
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    step = models.CharField(max_length=40)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.INFO)
    message = models.TextField(blank=True)
    upstream_ref = models.CharField(max_length=100, blank=True)
    actor = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.step}: {self.message}"[:120]


class OrderChange(WorkItem):
    """A change the store made to an order after the hub accepted it, and what the hub did.

    Detected by comparing each new store version with the last one kept (`orders.changes`);
    acted on by where the order is, as a work item, so a ShipStation or ERP outage delays the
    action but never loses it.
    """

    class Kind(models.TextChoices):
        CANCELLED = "cancelled", "Cancelled by the store"
        REFUNDED = "refunded", "Refunded"
        SHIP_TO = "ship_to", "Ship-to changed"
        LINES = "lines", "Lines changed"
        PAID = "paid", "Paid"
        STATUS = "status", "Store status changed"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    summary = models.TextField(help_text="What changed, from what, to what.")
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    outcome = models.TextField(blank=True, help_text="What the hub did about it.")
    digest = models.CharField(max_length=64, help_text="The change's identity: one row each.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "digest"], name="unique_order_change")
        ]
        permissions = [("resolve_order_change", "Can mark an order change as handled")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"[:120]


class CustomerLink(models.Model):
    """A store customer (or guest e-mail) known as an ERP customer number."""

    class Origin(models.TextChoices):
        FOUND = "found", "Found in the ERP"
        CREATED = "created", "Created in the ERP"
        DEFAULT = "default", "Store default customer"
        MANUAL = "manual", "Set by staff"

    store = models.ForeignKey(
        "tenants.Store",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
    )
    store_customer_id = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    erp_customer_number = models.CharField("ERP customer (CUNO)", max_length=10)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "store_customer_id"],
                condition=~Q(store_customer_id=""),
                name="unique_customer_link_by_id",
            ),
            models.UniqueConstraint(
                fields=["store", "email"],
                condition=Q(store_customer_id=""),
                name="unique_customer_link_by_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_customer_id or self.email} → {self.erp_customer_number}"


class NewCustomerGuard(models.Model):
    """Held by the worker linking a new shopper (by the search key it writes on the customer)
    while it looks the customer up in the ERP and creates it; no lock or transaction is held
    meanwhile. Another worker finding the guard live leaves that shopper's orders for a moment;
    one finding it expired (its holder crashed) takes it over and looks the customer up again
    by the search key before creating it, so a customer is created once."""

    search_key = models.CharField(max_length=10, unique=True)
    held_by = models.CharField(max_length=100)
    held_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.search_key} held by {self.held_by}"


class CsvImport(WorkItem):
    """An uploaded order file: mapped by a person, then imported order by order (each bad order
    refused with its problems, the rest imported), or whole or not at all when the person asks.

    A workbook (.xlsx) is first read into rows by a worker (`reading`); a CSV file is read as it
    is uploaded. Small files are imported while the person waits, large ones by a worker.
    """

    class State(models.TextChoices):
        READING = "reading", "Reading the workbook"
        MAPPING = "mapping", "Waiting for its column mapping"
        QUEUED = "queued", "Queued"
        DONE = "done", "Imported"
        REJECTED = "rejected", "Rejected (nothing imported)"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.CharField(max_length=150)
    file_name = models.CharField(max_length=255)
    content = models.BinaryField(editable=False)
    rows = models.PositiveIntegerField(default=0, help_text="Data rows in the file.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    mapping = models.JSONField(
        default=dict, blank=True, help_text="Field path → position of its column in the file."
    )
    mapped_as = models.CharField(max_length=200, blank=True)
    sales_channel = models.ForeignKey(
        SalesChannel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The shop the file came from (a mapped column may name others per order).",
    )
    all_or_nothing = models.BooleanField(
        default=False, help_text="Import nothing when any order has a problem."
    )
    date_order = models.CharField(
        max_length=12,
        blank=True,
        choices=[("day_first", "Day first"), ("month_first", "Month first")],
        help_text="How dates such as 03/04/2025 are read; blank: detected from the column.",
    )
    orders_created = models.PositiveIntegerField(default=0)
    lines_created = models.PositiveIntegerField(default=0)
    orders_refused = models.PositiveIntegerField(
        default=0, help_text="Orders not imported because of a problem (in the bad-rows file)."
    )
    orders_known = models.PositiveIntegerField(
        default=0, help_text="Orders skipped because the hub already has them (same channel)."
    )
    problems = models.JSONField(default=list, blank=True)
    problem_rows = models.JSONField(
        default=dict, blank=True, help_text="Row number → its problems, for the bad-rows file."
    )
    done_orders = models.JSONField(
        default=dict,
        blank=True,
        help_text="Orders that arrive already done: the person's choice ('policy': history or "
        "skip) and, once imported, how many there were ('to_send', 'fulfilled', 'cancelled', "
        "'refunded').",
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "CSV import"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_state_display()})"


class CsvMapping(models.Model):
    """A column mapping a tenant saved, offered again for files with the same headers."""

    name = models.CharField(max_length=100, unique=True)
    headers = models.JSONField(default=list, help_text="The headers of the file it was made for.")
    headers_key = models.CharField(max_length=64, db_index=True)
    columns = models.JSONField(default=dict, help_text="Field path → the file's header.")
    saved_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "CSV mapping"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ErpSkuCheck(WorkItem):
    """SKUs of an order file that no catalog binding knows, asked of the ERP in bulk by a worker
    while the person looks at the file's preview; the preview fills in from the answers."""

    class State(models.TextChoices):
        CHECKING = "checking", "Asking the ERP"
        DONE = "done", "Answered"
        NEEDS_ATTENTION = "needs_attention", "The ERP refused"
        FAILED = "failed", "Failed"

    upload = models.ForeignKey(CsvImport, on_delete=models.CASCADE, related_name="erp_checks")
    state = models.CharField(max_length=16, choices=State.choices, default=State.CHECKING)
    skus = models.JSONField(default=list, help_text="The SKUs asked.")
    known = models.JSONField(
        default=dict, blank=True, help_text="SKU → the ERP item's name, for SKUs the ERP knows."
    )
    unknown = models.JSONField(default=list, blank=True, help_text="SKUs the ERP does not know.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "ERP SKU check"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{len(self.skus)} SKU(s) of {self.upload}: {self.get_state_display()}"


class Backfill(WorkItem):
    """A store's history brought into the hub: the orders created in a date range.

    First counted (a dry run a person confirms), then imported page by page; the position (the
    platform window and the page cursor) is saved with each page's orders, so a crashed worker's
    backfill resumes where it was, and intake being idempotent by store and order id, a page
    read twice creates nothing twice.
    """

    class State(models.TextChoices):
        COUNTING = "counting", "Counting (dry run)"
        COUNTED = "counted", "Counted: waiting for confirmation"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Done"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        FULL = "full", "Full pipeline (orders already done: history only)"
        HISTORY = "history", "History only (nothing sent to the ERP or ShipStation)"

    store = models.ForeignKey("tenants.Store", on_delete=models.DO_NOTHING, related_name="+")
    created_from = models.DateTimeField()
    created_to = models.DateTimeField()
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.FULL)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.COUNTING, db_index=True
    )
    requested_by = models.CharField(max_length=150, blank=True)
    orders_total = models.PositiveIntegerField(default=0, help_text="Store orders in range.")
    orders_known = models.PositiveIntegerField(default=0, help_text="Already in the hub.")
    orders_done = models.PositiveIntegerField(
        default=0, help_text="Already fulfilled, cancelled or refunded in the store."
    )
    reach_from = models.DateTimeField(
        null=True, blank=True, help_text="The oldest creation date the platform lists."
    )
    unreachable = models.TextField(blank=True, help_text="Ranges the platform cannot list.")
    window_index = models.PositiveIntegerField(default=0)
    cursor = models.TextField(blank=True, help_text="The next page of the current window.")
    orders_read = models.PositiveIntegerField(default=0)
    orders_new = models.PositiveIntegerField(default=0)
    orders_existing = models.PositiveIntegerField(default=0)
    orders_refused = models.PositiveIntegerField(
        default=0, help_text="Orders not imported (unreadable, lines without SKU, not ours)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Backfill {self.created_from:%Y-%m-%d} to {self.created_to:%Y-%m-%d}"
