"""`manage.py setup_hub`: migrate every schema and make sure the platform and template exist."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.platform import ensure_public_tenant
from tenants.provisioning import ensure_template_schema
from tenants.spare_schemas import drop_spares


class Command(BaseCommand):
    help = "Migrate public and tenant schemas, create the platform tenant and the template schema."

    def handle(self, *args, **options) -> None:
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
        ensure_public_tenant()
        ensure_template_schema()
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=0)
        drop_spares()  # cloned before these migrations; the sweeper clones fresh ones
        self.stdout.write(self.style.SUCCESS("Schemas migrated; platform and template ready."))
