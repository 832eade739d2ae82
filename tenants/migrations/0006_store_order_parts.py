"""The parts of store orders split between tenants: their progress, and who writes the status."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0005_sku_ownership_keys_and_products"),
    ]

    operations = [
        migrations.CreateModel(
            name="StoreOrderPart",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "store_order_id",
                    models.CharField(help_text="The store's own order id.", max_length=100),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("routed", "Routed"),
                            ("partially_shipped", "Partially shipped"),
                            ("shipped", "Shipped"),
                            ("invoiced", "Invoiced"),
                            ("cancelled", "Cancelled"),
                            ("history", "History only (never sent)"),
                        ],
                        default="routed",
                        max_length=20,
                    ),
                ),
                (
                    "status_claimed_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="When this part took the writing of the store order's status (one part does).",
                        null=True,
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "store",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.store",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "verbose_name": "store order part",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("store", "store_order_id", "tenant"), name="unique_store_order_part"
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status_claimed_at__isnull", False)),
                        fields=("store", "store_order_id"),
                        name="one_status_writer_per_store_order",
                    ),
                ],
            },
        ),
    ]
