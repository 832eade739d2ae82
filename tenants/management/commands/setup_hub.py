"""`manage.py setup_hub`: migrate every schema and make sure the platform and template exist.

A deploy costs what it has to apply, not the number of tenants (`tenants.migration_state`):
- the public schema is migrated only when the migration graph holds something it has not
  recorded (one read of its `django_migrations`);
- one statement finds the tenant schemas behind, and only those are migrated, by django-tenants'
  executor named in `HUB_MIGRATION_EXECUTOR` when more than one is (`schema-batches` by default,
  `tenants.migration_state.SchemaBatchExecutor`: one process per core, `HUB_MIGRATION_PROCESSES`);
- spare schemas are kept; one behind is migrated like a tenant (cheaper than a new clone), and
  dropped only if that fails (a tenant took it meanwhile, or it is broken).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection
from django_tenants.management.commands import SyncCommon
from django_tenants.management.commands.migrate_schemas import (
    GET_EXECUTOR_FUNCTION,
    MigrateSchemasCommand,
)

from tenants.migration_state import (
    migrations_table_looked_up_by_name,
    public_plan,
    schemas_behind,
    tenant_leaf_migrations,
)
from tenants.models import Tenant
from tenants.platform import ensure_public_tenant
from tenants.provisioning import ensure_template_schema
from tenants.signals import deploy_starting, schemas_deployed
from tenants.spare_schemas import drop_spares, spare_schemas


class MigrateListedSchemas(MigrateSchemasCommand):
    """django-tenants' `migrate_schemas --tenant` over the schemas given, not every tenant."""

    def __init__(self, schemas: list[str]) -> None:
        super().__init__()
        self.schemas = list(schemas)

    def handle(self, *args: Any, **options: Any) -> None:
        SyncCommon.handle(self, *args, **options)
        executor = GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options)
        executor.run_migrations(tenants=list(self.schemas))


def migrate_schemas(schemas: list[str], *, verbosity: int = 0) -> None:
    """Migrate these tenant schemas, in parallel processes when there are several."""
    if not schemas:
        return
    executor = settings.HUB_MIGRATION_EXECUTOR if len(schemas) > 1 else "standard"
    with migrations_table_looked_up_by_name():
        call_command(
            MigrateListedSchemas(schemas), tenant=True, interactive=False, verbosity=verbosity,
            executor=executor,
        )  # fmt: skip
    connection.set_schema_to_public()


class Command(BaseCommand):
    help = "Migrate public and tenant schemas, create the platform tenant and the template schema."

    def handle(self, *args: Any, **options: Any) -> None:
        deploy_starting.send(self.__class__)
        with migrations_table_looked_up_by_name():
            self.deploy(max(options["verbosity"] - 1, 0))

    def deploy(self, verbosity: int) -> None:
        plan, graph = public_plan()
        if plan:
            call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        ensure_public_tenant()
        ensure_template_schema()
        leaves = tenant_leaf_migrations(graph)
        tenants = list(
            Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
        )
        behind = schemas_behind(tenants, leaves)
        migrate_schemas(behind, verbosity=verbosity)
        spares_behind = schemas_behind(spare_schemas(), leaves)
        dropped = 0
        for spare in spares_behind:
            try:
                migrate_schemas([spare], verbosity=verbosity)
            except (DatabaseError, RuntimeError):
                connection.set_schema_to_public()
                dropped += drop_spares([spare])
        schemas_deployed.send(
            self.__class__, schemas=[settings.TENANT_BASE_SCHEMA, *tenants, *spare_schemas()]
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Public schema: {len(plan)} migration(s) applied. Tenant schemas: "
                f"{len(behind)} of {len(tenants)} were behind and migrated. Spare schemas: "
                f"{len(spares_behind) - dropped} migrated, {dropped} dropped. "
                "Platform and template ready."
            )
        )
