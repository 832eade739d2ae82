"""A part of a store order split between tenants waits for the others, or was sent by one."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0002_store_status"),
    ]

    operations = [
        migrations.AlterField(
            model_name="storestatusupdate",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sent", "Sent"),
                    ("waiting_for_parts", "Waiting for the other parts"),
                    ("sent_by_other_part", "Sent by another part"),
                    ("needs_attention", "Needs attention"),
                    ("failed", "Failed"),
                ],
                default="pending",
                max_length=20,
            ),
        ),
    ]
