"""`manage.py create_hub_tenant --slug acme --name "Acme Ltd" --admin-email ops@acme.test`."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.provisioning import provision_tenant


class Command(BaseCommand):
    help = "Create a tenant: schema (cloned from the template), domain, roles and first admin."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument(
            "--admin-password", default="", help="Demo only; a random password is the default."
        )

    def handle(self, *args, **options) -> None:
        try:
            result = provision_tenant(
                slug=options["slug"],
                name=options["name"],
                admin_email=options["admin_email"],
                admin_password=options["admin_password"],
                actor="manage.py create_hub_tenant",
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Tenant {result.tenant.name} is ready."))
        self.stdout.write(f"  Admin:    {result.admin_url}")
        self.stdout.write(f"  User:     {result.admin_username}")
        self.stdout.write(f"  Password: {result.admin_password}  (shown once)")
