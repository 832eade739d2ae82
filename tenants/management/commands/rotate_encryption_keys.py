"""`manage.py rotate_encryption_keys`: run after prepending a new key to HUB_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand

from tenants.activity import record_activity
from tenants.key_rotation import rotate_encryption_keys


class Command(BaseCommand):
    help = "Re-encrypt every stored credential with the first key of HUB_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        done = rotate_encryption_keys()
        total = sum(done.values())
        record_activity(
            "credentials.rotated",
            actor="manage.py rotate_encryption_keys",
            message=f"{total} rows re-encrypted in {len(done)} schemas.",
        )
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} rows in {len(done)} schemas."))
        self.stdout.write(
            "Remove the old key from HUB_ENCRYPTION_KEYS once every process restarted."
        )
