"""`manage.py setup_hub`: migrate every schema and make sure the platform and template exist.

Only the schemas behind are migrated (`tenants.migration_state`): one statement finds them, so a
deploy with nothing to apply costs the same with 5 tenants or 1,000. When every tenant is behind
(a new migration), they are migrated by django-tenants' executor named in
`HUB_MIGRATION_EXECUTOR` (`multiprocessing` by default: one process per core). Spare schemas
that hold the template's migrations are kept; only those behind are dropped.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.migration_state import schemas_behind
from tenants.models import Tenant
from tenants.platform import ensure_public_tenant
from tenants.provisioning import ensure_template_schema
from tenants.spare_schemas import drop_spares, spare_schemas


class Command(BaseCommand):
    help = "Migrate public and tenant schemas, create the platform tenant and the template schema."

    def handle(self, *args, **options) -> None:
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        ensure_public_tenant()
        ensure_template_schema()
        tenants = list(
            Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
        )
        behind = schemas_behind(tenants)
        if len(behind) == len(tenants) and len(behind) > 1:
            call_command(
                "migrate_schemas", tenant=True, interactive=False, verbosity=0,
                executor=settings.HUB_MIGRATION_EXECUTOR,
            )  # fmt: skip
        else:
            for schema in behind:
                call_command(
                    "migrate_schemas", tenant=True, schema_name=schema, interactive=False,
                    verbosity=0,
                )  # fmt: skip
        dropped = drop_spares(schemas_behind(spare_schemas()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Schemas migrated ({len(behind)} of {len(tenants)} tenant schemas were behind; "
                f"{dropped} spare schema(s) dropped); platform and template ready."
            )
        )
