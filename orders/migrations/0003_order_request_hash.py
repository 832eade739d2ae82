from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_customerlink_orderevent_order_attempts_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="request_hash",
            field=models.CharField(
                blank=True,
                help_text="SHA-256 of the API request body, for key reuse.",
                max_length=64,
            ),
        ),
    ]
