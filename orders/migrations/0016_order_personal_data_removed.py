from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0015_work_failing_since"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="personal_data_removed_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the shopper's name, address, e-mail, phone and the raw store payload were removed (retention or an erasure request); amounts, lines and references stay.",
                null=True,
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(
                    ("personal_data_removed_at__isnull", True),
                    ("state__in", ["invoiced", "cancelled", "failed", "history"]),
                ),
                fields=["updated_at"],
                name="order_personal_data_kept",
            ),
        ),
    ]
