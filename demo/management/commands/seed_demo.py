"""`manage.py seed_demo`: the demo tenants, stores and credentials, pointing at the sandbox."""

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from demo.seed import seed_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo platform admin, tenants acme and globex, and stores."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-webhooks",
            action="store_true",
            help="Do not register the stores' webhooks (when the sandbox is not running).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("setup_hub", verbosity=0)
        logins = seed_demo(register=not options["no_webhooks"])
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at:"))
        for login in logins:
            self.stdout.write(f"  {login.where:45} {login.username:20} {login.password}")
