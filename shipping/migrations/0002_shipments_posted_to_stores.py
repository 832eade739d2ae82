from django.db import migrations


class Migration(migrations.Migration):
    """The placeholder shipment table never held rows; the reworked one replaces it."""

    dependencies = [
        ("shipping", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="Shipment"),
    ]
