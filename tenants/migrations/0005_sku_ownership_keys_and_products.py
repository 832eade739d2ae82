"""SKU ownership compared case-insensitively, and the store product each owned SKU names."""

from django.db import migrations, models


def fill_keys(apps, schema_editor):
    """Key every claim; of claims differing only in letter case the first one made stays."""
    SkuOwnership = apps.get_model("tenants", "SkuOwnership")
    seen: set[tuple[int, str]] = set()
    for row in SkuOwnership.objects.order_by("id").only("id", "store_id", "sku"):
        key = row.sku.strip().casefold()
        if (row.store_id, key) in seen:
            row.delete()
            continue
        seen.add((row.store_id, key))
        SkuOwnership.objects.filter(pk=row.pk).update(sku_key=key)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_tenant_shipstation_webhook_token")]

    operations = [
        migrations.AddField(
            model_name="skuownership",
            name="sku_key",
            field=models.CharField(default="", editable=False, max_length=128),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="skuownership",
            name="store_product_id",
            field=models.CharField(
                blank=True, editable=False, help_text="Set from the store's catalog.", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="skuownership",
            name="store_variant_id",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="skuownership", name="unique_store_sku"),
        migrations.AddConstraint(
            model_name="skuownership",
            constraint=models.UniqueConstraint(
                fields=("store", "sku_key"), name="unique_store_sku_key"
            ),
        ),
        migrations.AddConstraint(
            model_name="skuownership",
            constraint=models.UniqueConstraint(
                condition=models.Q(("store_product_id", ""), _negated=True),
                fields=("store", "store_product_id", "store_variant_id"),
                name="one_owner_per_store_product",
            ),
        ),
    ]
