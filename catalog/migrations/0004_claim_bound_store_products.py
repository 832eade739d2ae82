"""Existing bindings on shared stores name their store product on the tenant's SKU claims.

Pushes to a shared store now need the tenant's claim to name the product they write (README,
"Prices and stock to the stores"). Claims made before knew only the SKU; this fills in the product
each bound SKU already pointed at, where no other claim holds it, so pushes go on after the
upgrade. A later match against the store's catalog settles any claim it contradicts.
"""

from django.db import IntegrityError, connection, migrations, transaction


def claim_bound_products(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    SkuOwnership = apps.get_model("tenants", "SkuOwnership")
    StoreMembership = apps.get_model("tenants", "StoreMembership")
    ItemBinding = apps.get_model("catalog", "ItemBinding")
    tenant = Tenant.objects.filter(schema_name=connection.schema_name).first()
    if tenant is None:  # the provisioning template and spare schemas hold no bindings
        return
    for binding in ItemBinding.objects.exclude(store_product_id="").iterator():
        if StoreMembership.objects.filter(store_id=binding.store_id).count() < 2:
            continue
        claim = SkuOwnership.objects.filter(
            store_id=binding.store_id,
            sku_key=binding.sku.strip().casefold(),
            tenant_id=tenant.pk,
            store_product_id="",
        )
        try:
            with transaction.atomic():
                claim.update(
                    store_product_id=binding.store_product_id,
                    store_variant_id=binding.store_variant_id,
                )
        except IntegrityError:
            continue  # another claim holds that product: the next match decides


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_push_queue_index_and_applied_mapping"),
        ("tenants", "0005_sku_ownership_keys_and_products"),
    ]

    operations = [migrations.RunPython(claim_bound_products, migrations.RunPython.noop)]
