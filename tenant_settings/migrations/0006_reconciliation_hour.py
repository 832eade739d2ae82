import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenant_settings", "0005_personal_data_retention"),
    ]

    operations = [
        migrations.AddField(
            model_name="connectionsettings",
            name="reconciliation_hour",
            field=models.PositiveSmallIntegerField(
                blank=True,
                default=2,
                help_text="Each night at this hour (0-23, UTC) the store, hub, ERP and ShipStation orders of the last 7 days are compared. Empty: only when someone asks.",
                null=True,
                validators=[django.core.validators.MaxValueValidator(23)],
                verbose_name="Nightly reconciliation at (hour, UTC)",
            ),
        ),
    ]
