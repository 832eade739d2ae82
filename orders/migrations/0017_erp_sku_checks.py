# An order file's SKUs unknown to the catalog, asked of the ERP for its preview (issue 24).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0016_order_personal_data_removed"),
    ]

    operations = [
        migrations.CreateModel(
            name="ErpSkuCheck",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "attempts",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="Failed attempts since the last success or manual retry.",
                    ),
                ),
                ("next_attempt_at", models.DateTimeField(blank=True, db_index=True, null=True)),
                (
                    "lease_holder",
                    models.CharField(
                        blank=True,
                        help_text="The worker process holding the lease.",
                        max_length=100,
                    ),
                ),
                ("lease_until", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.TextField(blank=True)),
                (
                    "last_error_hint",
                    models.TextField(blank=True, help_text="What a person can do about it."),
                ),
                (
                    "failing_since",
                    models.DateTimeField(
                        blank=True,
                        help_text="The first failed attempt since the last success or manual retry; the retry schedule gives up a set time after it.",
                        null=True,
                    ),
                ),
                (
                    "failing_upstream",
                    models.CharField(
                        blank=True,
                        db_default="",
                        default="",
                        help_text="The upstream the last failed attempt was with; while its circuit breaker is open the item waits.",
                        max_length=20,
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("checking", "Asking the ERP"),
                            ("done", "Answered"),
                            ("needs_attention", "The ERP refused"),
                            ("failed", "Failed"),
                        ],
                        default="checking",
                        max_length=16,
                    ),
                ),
                ("skus", models.JSONField(default=list, help_text="The SKUs asked.")),
                (
                    "known",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="SKU → the ERP item's name, for SKUs the ERP knows.",
                    ),
                ),
                (
                    "unknown",
                    models.JSONField(
                        blank=True, default=list, help_text="SKUs the ERP does not know."
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "upload",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="erp_checks",
                        to="orders.csvimport",
                    ),
                ),
            ],
            options={
                "verbose_name": "ERP SKU check",
                "ordering": ["created_at", "id"],
            },
        ),
    ]
