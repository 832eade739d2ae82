from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_order_changes"),
    ]

    operations = [
        migrations.AddField(
            model_name="csvimport",
            name="done_orders",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="Orders that arrive already done: the person's choice ('policy': "
                "history or skip) and, once imported, how many there were ('to_send', "
                "'fulfilled', 'cancelled', 'refunded').",
            ),
        ),
    ]
