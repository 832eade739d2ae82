"""Creating a tenant: schema cloned from the template (or a spare clone renamed,
`spare_schemas`), domain, roles and a first admin."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from tenants.activity import record_activity
from tenants.models import Domain, Tenant, schema_name_for, validate_tenant_slug
from tenants.spare_schemas import take_spare

logger = logging.getLogger(__name__)


def portal_url(slug: str) -> str:
    """A tenant's portal: the slug as a subdomain of `HUB_PUBLIC_URL` (its scheme, host and
    port); when that names an IP address, of `HUB_BASE_DOMAIN` on the same scheme and port."""
    public = urlsplit(settings.HUB_PUBLIC_URL)
    host = public.hostname or settings.HUB_BASE_DOMAIN
    try:
        ip_address(host)
    except ValueError:
        pass
    else:
        host = settings.HUB_BASE_DOMAIN
    netloc = f"{slug}.{host}" + (f":{public.port}" if public.port else "")
    path = public.path.rstrip("/")
    return urlunsplit((public.scheme or "http", netloc, f"{path}/admin/", "", ""))


@dataclass(frozen=True)
class ProvisionedTenant:
    tenant: Tenant
    domain: str
    admin_username: str
    admin_password: str

    @property
    def admin_url(self) -> str:
        return portal_url(self.tenant.slug)


def ensure_template_schema() -> Tenant:
    """The migrated schema new tenants are cloned from; created (by migrating) on first use."""
    template = Tenant.objects.filter(schema_name=settings.TENANT_BASE_SCHEMA).first()
    if template is None:
        template = Tenant(
            schema_name=settings.TENANT_BASE_SCHEMA,
            slug="tenant-template",
            name="Template for new tenants",
            is_template=True,
            is_active=False,
        )
        template.save(verbosity=0)
    elif not schema_exists(template.schema_name):
        template.create_schema(check_if_exists=True, verbosity=0)
    return template


def check_new_slug(slug: str) -> None:
    validate_tenant_slug(slug)
    schema = schema_name_for(slug)
    if (
        Tenant.objects.filter(slug=slug).exists()
        or Tenant.objects.filter(schema_name=schema).exists()
    ):
        raise ValidationError(f"A tenant with the slug '{slug}' already exists.")
    if Domain.objects.filter(domain=f"{slug}.{settings.HUB_BASE_DOMAIN}").exists():
        raise ValidationError(f"The domain {slug}.{settings.HUB_BASE_DOMAIN} is already in use.")


def provision_tenant(
    *, slug: str, name: str, admin_email: str, admin_password: str = "", actor: str = ""
) -> ProvisionedTenant:
    """Create a ready tenant; the admin password is generated unless given (demo only)."""
    check_new_slug(slug)
    ensure_template_schema()
    tenant = Tenant(schema_name=schema_name_for(slug), slug=slug, name=name)
    try:
        if take_spare(tenant.schema_name):
            tenant.auto_create_schema = False
        tenant.save(verbosity=0)
        domain = Domain.objects.create(
            domain=f"{slug}.{settings.HUB_BASE_DOMAIN}", tenant=tenant, is_primary=True
        )
        password = admin_password or secrets.token_urlsafe(12)
        with schema_context(tenant.schema_name), transaction.atomic():
            admin = get_user_model().objects.create_user(
                username=admin_email, email=admin_email, password=password, is_staff=True
            )
            admin.groups.add(Group.objects.get(name="Tenant admin"))
    except Exception:
        logger.exception("Provisioning tenant %s failed; removing its schema", slug)
        connection.set_schema_to_public()
        if tenant.pk:
            tenant.delete(force_drop=True)
        raise
    record_activity(
        "tenant.provisioned",
        actor=actor or "system",
        obj=tenant,
        tenant=tenant,
        message=f"Schema {tenant.schema_name}, domain {domain.domain}, admin {admin_email}.",
    )
    return ProvisionedTenant(tenant, domain.domain, admin_email, password)
