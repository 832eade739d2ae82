"""Creating a tenant renames a spare schema cloned ahead, so its cost does not grow with tenants;
an out-of-date spare is dropped, never used."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from tenants.provisioning import provision_tenant
from tenants.spare_schemas import clone_spare, due_spare_clones, spare_schemas


def test_a_new_tenant_takes_a_ready_spare_and_is_complete(db, settings):
    settings.HUB_SPARE_SCHEMAS = 2
    spare = clone_spare()
    assert spare in spare_schemas()

    made = provision_tenant(slug="sparetaker", name="Spare Taker", admin_email="a@spare.test")

    assert spare not in spare_schemas() and not schema_exists(spare)
    with schema_context(made.tenant.schema_name):
        assert Group.objects.filter(name="Tenant admin").exists()
        admin = get_user_model().objects.get(username="a@spare.test")
        assert admin.groups.filter(name="Tenant admin").exists()


def test_an_out_of_date_spare_is_dropped_and_the_tenant_cloned(db, settings):
    settings.HUB_SPARE_SCHEMAS = 2
    spare = clone_spare()
    with connection.cursor() as cursor:  # as if the template was migrated after the clone
        table = f'"{spare}".django_migrations'
        cursor.execute(f"DELETE FROM {table} WHERE id = (SELECT max(id) FROM {table})")

    made = provision_tenant(slug="freshclone", name="Fresh Clone", admin_email="a@fresh.test")

    assert not schema_exists(spare)
    assert schema_exists(made.tenant.schema_name)
    with schema_context(made.tenant.schema_name):
        assert Group.objects.filter(name="Tenant admin").exists()


def test_the_sweeper_asks_for_one_clone_at_a_time_until_enough_are_ready(db, settings):
    settings.HUB_SPARE_SCHEMAS = 1
    from django.core.cache import cache

    from tenants.spare_schemas import CLONING_KEY

    cache.delete(CLONING_KEY)
    assert due_spare_clones(None, None) == [()]
    assert due_spare_clones(None, None) == []  # a clone is already under way
    cache.delete(CLONING_KEY)
    clone_spare()
    assert due_spare_clones(None, None) == []
