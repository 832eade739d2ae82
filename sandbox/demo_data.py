"""The sandbox's demo world, shared by the fakes and by the hub's demo set-up.

Deterministic (seeded) so tests, the demo and the docs all see the same SKUs, keys and customers.
Two tenants (acme, globex), each with its own M3 (ION tenant) and ShipStation account, and two
API2Cart stores: `northwind` is shared by both tenants, `acme-outlet` serves acme only.
A store's `profile` picks the platform habits the API2Cart fake reproduces (`clean`, `ebay`,
`amazon`, `walmart`; `sandbox/api2cart/profiles.py`); the control action `store-settings`
changes it on a running sandbox.
SKU ownership on the shared store follows the SKU prefix (AC- is acme's, GX- is globex's).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

API2CART_API_KEY = "sbx-a2c-account-key-7f3e"


@dataclass(frozen=True)
class DemoStore:
    name: str
    display_name: str
    cart_id: str
    url: str
    store_key: str
    members: tuple[str, ...]
    supports_webhooks: bool = True
    profile: str = "clean"
    """The platform profile shaping the fake's answers (`sandbox/api2cart/profiles.py`)."""


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    erp_tenant: str
    company: str
    division: str
    warehouse: str
    sku_prefix: str
    shipstation_key: str
    shipstation_secret: str
    default_customer: str
    client_id: str = field(default="")
    client_secret: str = field(default="")
    service_account_key: str = field(default="")
    service_account_secret: str = field(default="")


STORES = (
    DemoStore(
        name="northwind",
        display_name="Northwind Market",
        cart_id="Shopify",
        url="https://northwind-market.myshopify.com",
        store_key="sbx-store-northwind-91c2",
        members=("acme", "globex"),
    ),
    DemoStore(
        name="acme-outlet",
        display_name="Acme Outlet",
        cart_id="Woocommerce",
        url="https://outlet.acme.example",
        store_key="sbx-store-acme-outlet-4d7a",
        members=("acme",),
    ),
)

TENANTS = (
    DemoTenant(
        slug="acme",
        name="Acme Ltd",
        erp_tenant="ACME_TST",
        company="100",
        division="AAA",
        warehouse="100",
        sku_prefix="AC",
        shipstation_key="sbx-ss-acme-key",
        shipstation_secret="sbx-ss-acme-secret",
        default_customer="ACWEB00001",
        client_id="ACME_TST~sbxClientA",
        client_secret="sbx-client-secret-acme",
        service_account_key="ACME_TST#sbxServiceAcme",
        service_account_secret="sbx-service-secret-acme",
    ),
    DemoTenant(
        slug="globex",
        name="Globex Corporation",
        erp_tenant="GLOBEX_TST",
        company="200",
        division="GLX",
        warehouse="200",
        sku_prefix="GX",
        shipstation_key="sbx-ss-globex-key",
        shipstation_secret="sbx-ss-globex-secret",
        default_customer="GXWEB00001",
        client_id="GLOBEX_TST~sbxClientG",
        client_secret="sbx-client-secret-globex",
        service_account_key="GLOBEX_TST#sbxServiceGlobex",
        service_account_secret="sbx-service-secret-globex",
    ),
)

WAREHOUSES_PER_TENANT = 2


def customer_template(slug: str) -> str:
    """The ERP customer (CUTM) new web shoppers are created from in the tenant's M3."""
    return f"{tenant(slug).sku_prefix}TEMPLATE"


def tenant(slug: str) -> DemoTenant:
    return next(t for t in TENANTS if t.slug == slug)


def store(name: str) -> DemoStore:
    return next(s for s in STORES if s.name == name)


def ionapi_file(slug: str, sandbox_url: str) -> dict[str, str]:
    """A complete `.ionapi` file for a demo tenant, pointing at the sandbox's ION endpoints."""
    return ionapi_for(tenant(slug), sandbox_url)


def ionapi_for(t: DemoTenant, sandbox_url: str) -> dict[str, str]:
    """The `.ionapi` file of any ION tenant of the sandbox (a demo one or one added later)."""
    base = sandbox_url.rstrip("/")
    return {
        "ti": t.erp_tenant,
        "cn": f"Integration hub ({t.name})",
        "dt": "12",
        "ci": t.client_id,
        "cs": t.client_secret,
        "iu": f"{base}/ion",
        "pu": f"{base}/ion/{t.erp_tenant}/as/",
        "oa": "authorization.oauth2",
        "ot": "token.oauth2",
        "or": "revoke_token.oauth2",
        "ev": "U147858101",
        "v": "1.0",
        "saak": t.service_account_key,
        "sask": t.service_account_secret,
    }


@dataclass(frozen=True)
class DemoVariant:
    sku: str
    options: tuple[tuple[str, str], ...]
    price: Decimal


@dataclass(frozen=True)
class DemoProduct:
    owner: str
    sku: str
    name: str
    price: Decimal
    weight_kg: Decimal
    variants: tuple[DemoVariant, ...]

    @property
    def sellable_skus(self) -> tuple[str, ...]:
        """SKUs that appear on order lines: the variants, or the product itself when it has none."""
        return tuple(v.sku for v in self.variants) or (self.sku,)


_NOUNS = (
    "Anvil",
    "Rocket Skates",
    "Widget",
    "Gear Kit",
    "Hammer",
    "Toolbox",
    "Lamp",
    "Backpack",
    "Kettle",
    "Jacket",
    "Boots",
    "Helmet",
    "Tent",
    "Drill",
    "Bottle",
    "Cable",
    "Bench",
    "Crate",
)
_ADJECTIVES = (
    "Classic",
    "Pro",
    "Compact",
    "Heavy-Duty",
    "Lite",
    "Deluxe",
    "Eco",
    "Turbo",
    "Mini",
    "Max",
)
_COLOURS = ("Red", "Blue", "Black", "Green")
_SIZES = ("S", "M", "L", "XL")


@cache
def products(owner: str) -> tuple[DemoProduct, ...]:
    """About 150 sellable SKUs per tenant: parents with 0, 2 or 4 variants."""
    t = tenant(owner)
    rng = random.Random(f"catalog-{owner}")
    items: list[DemoProduct] = []
    for n in range(60):
        sku = f"{t.sku_prefix}-{1001 + n}"
        price = Decimal(rng.randrange(499, 24999)) / 100
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {1001 + n}"
        kind = rng.choice(("plain", "colour", "size"))
        variants: tuple[DemoVariant, ...] = ()
        if kind == "colour":
            variants = tuple(
                DemoVariant(f"{sku}-{c[:3].upper()}", (("Colour", c),), price)
                for c in rng.sample(_COLOURS, 2)
            )
        elif kind == "size":
            variants = tuple(
                DemoVariant(f"{sku}-{s}", (("Size", s),), price + Decimal(i))
                for i, s in enumerate(_SIZES)
            )
        weight = Decimal(rng.randrange(1, 200)) / 10
        items.append(DemoProduct(owner, sku, name, price, weight, variants))
    return tuple(items)


def store_products(store_name: str) -> tuple[DemoProduct, ...]:
    """What a store sells: every product of each member tenant."""
    return tuple(p for member in store(store_name).members for p in products(member))


def sku_owner(store_name: str, sku: str) -> str | None:
    """The tenant owning a SKU on a store (the routing index the hub's demo seeds)."""
    for p in store_products(store_name):
        if sku == p.sku or sku in p.sellable_skus:
            return p.owner
    return None


@dataclass(frozen=True)
class DemoPerson:
    first_name: str
    last_name: str
    email: str
    company: str
    address1: str
    city: str
    postcode: str
    country: str
    phone: str


_FIRST = (
    "Ada",
    "Brian",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Liam",
    "Maya",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
)
_LAST = (
    "Lovelace",
    "Kernighan",
    "Martin",
    "Ivanov",
    "Garcia",
    "Haddad",
    "Hopper",
    "Tanaka",
    "Moreau",
    "Berg",
    "Novak",
    "Walsh",
    "Patel",
    "Holm",
    "Petrova",
    "Novotny",
)
_STREETS = ("High St", "Rue Neuve", "Main St")
_CITIES = (
    ("Leeds", "LS1 4AP", "GB"),
    ("Lyon", "69002", "FR"),
    ("Malmo", "211 22", "SE"),
    ("Austin", "78701", "US"),
    ("Denver", "80202", "US"),
    ("Porto", "4000-322", "PT"),
)


@cache
def store_customers(store_name: str) -> tuple[DemoPerson, ...]:
    """Forty shoppers per store; the first half also exist as customers in their tenants' M3."""
    rng = random.Random(f"customers-{store_name}")
    people = []
    for n in range(40):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, postcode, country = rng.choice(_CITIES)
        people.append(
            DemoPerson(
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}{n}@{store_name}.shop.example",
                company=rng.choice(("", "", f"{last} Trading")),
                address1=f"{rng.randrange(1, 300)} {rng.choice(_STREETS)}",
                city=city,
                postcode=postcode,
                country=country,
                phone=f"+1555{rng.randrange(1000000, 9999999)}",
            )
        )
    return tuple(people)


def erp_known_customers(tenant_slug: str) -> tuple[DemoPerson, ...]:
    """Shoppers that already exist in a tenant's M3 (matched by e-mail): half of each store's."""
    return tuple(
        person
        for s in STORES
        if tenant_slug in s.members
        for person in store_customers(s.name)[:20]
    )
