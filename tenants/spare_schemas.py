"""Spare tenant schemas, cloned from the template ahead of need, so creating a tenant is flat.

django-tenants' `clone_schema` reads the whole catalogue, so each clone costs more with every
tenant (docs/benchmarks.md: 0.7 s with 1 tenant, 5.7 s with 200). A sweep job keeps
`HUB_SPARE_SCHEMAS` clones ready; creating a tenant renames one (constant time) and clones as
before when none is ready. A spare is used only while it holds the template's migrations: one
cloned before a migration is migrated by `setup_hub` with the tenants; one that still lacks a
migration the template holds is dropped instead of used.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context

from core import sweeper

logger = logging.getLogger(__name__)

SPARE_PREFIX = "spare_"
CLONE_TASK = "tenants.clone_spare_schema"
CLONING_KEY = "tenants:cloning-spare"
CLONING_TIMEOUT_SECONDS = 300


def spare_schemas() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s ORDER BY nspname",
            [SPARE_PREFIX.replace("_", "\\_") + "%"],
        )
        return [row[0] for row in cursor.fetchall()]


def _lacks_template_migrations(spare: str) -> bool:
    """Whether the template holds a migration the spare has not recorded (one statement;
    counting rows instead would refuse a spare migrated in another deploy than the template)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT app, name FROM "
            f"{connection.ops.quote_name(settings.TENANT_BASE_SCHEMA)}.django_migrations "
            f"EXCEPT SELECT app, name FROM {connection.ops.quote_name(spare)}.django_migrations)"
        )
        return cursor.fetchone()[0]


def clone_spare() -> str:
    """One more spare schema (slow; run by a worker, never in a request)."""
    name = f"{SPARE_PREFIX}{secrets.token_hex(6)}"
    with schema_context("public"):
        CloneSchema().clone_schema(settings.TENANT_BASE_SCHEMA, name, "DATA")
    if not connection.in_atomic_block:
        # The clone fills this backend's catalogue caches with every schema it read; a fresh
        # connection next time keeps later clones from slowing down (and the memory bounded).
        connection.close()
    logger.info("spare tenant schema %s ready", name)
    return name


def take_spare(schema_name: str) -> bool:
    """Rename a ready spare to `schema_name`; False when none is ready (the caller clones)."""
    if not settings.HUB_SPARE_SCHEMAS:
        return False
    for spare in spare_schemas():
        try:
            with transaction.atomic():
                if _lacks_template_migrations(spare):
                    connection.cursor().execute(f'DROP SCHEMA "{spare}" CASCADE')
                    logger.info("dropped out-of-date spare schema %s", spare)
                    continue
                connection.cursor().execute(f'ALTER SCHEMA "{spare}" RENAME TO "{schema_name}"')
            return True
        except DatabaseError:  # another process took or dropped it first
            continue
    return False


def drop_spares(spares: list[str]) -> int:
    """Drop these spares (ones a deploy could not migrate); the sweep job clones new ones."""
    for spare in spares:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{spare}" CASCADE')
    return len(spares)


def due_spare_clones(now: datetime, stale: datetime) -> list[tuple]:
    """Sweep job: one clone at a time while fewer than `HUB_SPARE_SCHEMAS` are ready."""
    if len(spare_schemas()) >= settings.HUB_SPARE_SCHEMAS:
        return []
    return sweeper.once_every(CLONING_KEY, CLONING_TIMEOUT_SECONDS)


def clone_due_spare() -> str:
    """The task: clone one spare if still short, then let the next tick ask again."""
    try:
        if len(spare_schemas()) >= settings.HUB_SPARE_SCHEMAS:
            return "enough"
        return clone_spare()
    finally:
        cache.delete(CLONING_KEY)
