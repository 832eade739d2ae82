"""A deploy (`setup_hub`) costs what it has to apply: with nothing to do it sends the same few
statements however many tenants there are; a schema behind is migrated alone; spare schemas
are kept while current and migrated, not dropped, when behind."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.signals import schema_migrated
from django_tenants.utils import schema_context, schema_exists

from tenant_settings import roles
from tenants.migration_state import public_plan, schemas_behind
from tenants.models import Tenant
from tenants.provisioning import provision_tenant
from tenants.spare_schemas import clone_spare, spare_schemas, take_spare


@pytest.fixture
def migrated_schemas(settings):
    """The schemas django-tenants migrates during the test (its own signal, sent per schema)."""
    settings.HUB_MIGRATION_EXECUTOR = "standard"  # no forked processes inside a test
    migrated: list[str] = []

    def record(sender, schema_name: str, **kwargs) -> None:
        migrated.append(schema_name)

    schema_migrated.connect(record, weak=False)
    yield migrated
    schema_migrated.disconnect(record)


def setup_hub() -> tuple[str, int]:
    """Run the command; what it said and how many statements it sent."""
    out = io.StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command("setup_hub", stdout=out)
    return out.getvalue(), len(queries)


def test_nothing_to_do_migrates_nothing_and_costs_the_same_with_one_tenant_more(
    acme, globex, migrated_schemas
):
    said, statements = setup_hub()
    assert "Public schema: 0 migration(s) applied" in said
    assert "Tenant schemas: 0 of" in said
    assert migrated_schemas == []
    assert statements <= 25

    provision_tenant(slug="onemore", name="One More", admin_email="a@onemore.test")
    migrated_schemas.clear()  # creating the tenant recorded its (cloned) migrations
    _, statements_after = setup_hub()

    assert migrated_schemas == []
    assert statements_after == statements


def test_public_is_planned_only_when_it_misses_a_migration(db):
    assert public_plan()[0] == []
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM public.django_migrations WHERE id = "
            "(SELECT max(id) FROM public.django_migrations) RETURNING app, name"
        )
        missing = cursor.fetchone()
    plan, _ = public_plan()
    assert [(migration.app_label, migration.name) for migration, _ in plan] == [missing]


def test_only_the_schema_behind_is_migrated(acme, globex, migrated_schemas):
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA latecomer")
    Tenant(schema_name="latecomer", slug="latecomer", name="Latecomer").save(verbosity=0)
    assert schemas_behind(["acme", "globex", "latecomer"]) == ["latecomer"]

    said, _ = setup_hub()

    assert migrated_schemas == ["latecomer"]
    assert "Tenant schemas: 1 of" in said
    assert schemas_behind(["acme", "globex", "latecomer", "tenant_template"]) == []


def test_a_current_spare_is_kept_and_one_behind_is_migrated_and_used(
    db, settings, migrated_schemas
):
    settings.HUB_SPARE_SCHEMAS = 2
    current = clone_spare()
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA spare_behind")

    said, _ = setup_hub()

    assert migrated_schemas == ["spare_behind"]
    assert "Spare schemas: 1 migrated, 0 dropped" in said
    assert {current, "spare_behind"} <= set(spare_schemas())
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA "{current}" CASCADE')
    assert take_spare("from_spare")  # the migrated spare holds every migration the template has
    assert schema_exists("from_spare") and not schema_exists("spare_behind")


def test_a_spare_holding_more_than_the_template_is_used(db, settings):
    """A spare migrated in another deploy may record a shared app's migration the template
    never recorded; only a migration it lacks makes it unusable."""
    settings.HUB_SPARE_SCHEMAS = 1
    spare = clone_spare()
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{spare}".django_migrations (app, name, applied) '
            "VALUES ('tenants', '9999_recorded_elsewhere', now())"
        )
    assert take_spare("richer_spare")
    assert schema_exists("richer_spare") and not schema_exists(spare)


def schema_layout(schema: str) -> tuple[list[str], list[str], dict[str, int]]:
    """A schema's tables and index definitions (its name taken out), and its roles' sizes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema])
        tables = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s ORDER BY 1",
            [f"{schema}.", schema],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f'SELECT g.name, count(gp.id) FROM "{schema}".auth_group g LEFT JOIN '
            f'"{schema}".auth_group_permissions gp ON gp.group_id = g.id GROUP BY g.name'
        )
        roles = dict(cursor.fetchall())
    return tables, indexes, roles


def test_schemas_behind_together_share_one_plan_and_end_as_the_template(
    acme, migrated_schemas, settings
):
    """The `schema-batches` executor: two schemas that recorded nothing are migrated in one
    batch (in this process: one batch) and end with the template's tables, indexes and roles."""
    settings.HUB_MIGRATION_EXECUTOR = "schema-batches"
    with connection.cursor() as cursor:
        for schema in ("batch_one", "batch_two"):
            cursor.execute(f"CREATE SCHEMA {schema}")
            cursor.execute(
                f"CREATE TABLE {schema}.django_migrations "
                "(LIKE public.django_migrations INCLUDING ALL)"
            )
            Tenant(schema_name=schema, slug=schema.replace("_", "-"), name=schema).save(verbosity=0)

    said, _ = setup_hub()

    assert sorted(migrated_schemas) == ["batch_one", "batch_two"]
    assert "Tenant schemas: 2 of" in said
    template = schema_layout("tenant_template")
    assert schema_layout("batch_one") == template
    assert schema_layout("batch_two") == template
    assert schemas_behind(["batch_one", "batch_two"]) == []


def test_a_short_plan_is_applied_from_shared_states_and_ends_as_before(
    acme, globex, migrated_schemas, settings
):
    """The usual deploy: two schemas one new field and one new model behind. The operations'
    states are computed once and each schema runs only its SQL and its post_migrate handlers."""
    settings.HUB_MIGRATION_EXECUTOR = "schema-batches"
    before = {schema: schema_layout(schema) for schema in ("acme", "globex")}
    for schema in ("acme", "globex"):
        for app, target in (
            ("invoicing", "0003_store_status_waits_for_parts"),
            ("orders", "0018_backfill"),
        ):
            call_command(
                "migrate_schemas", app, target, schema_name=schema, interactive=False,
                verbosity=0,
            )  # fmt: skip
    assert schemas_behind(["acme", "globex"]) == ["acme", "globex"]
    assert schema_layout("acme") != before["acme"]
    migrated_schemas.clear()

    said, _ = setup_hub()

    assert sorted(migrated_schemas) == ["acme", "globex"]
    assert "Tenant schemas: 2 of" in said
    assert {schema: schema_layout(schema) for schema in ("acme", "globex")} == before
    assert schemas_behind(["acme", "globex"]) == []


def test_a_change_to_the_roles_reaches_every_tenant_without_a_migration(
    acme, globex, migrated_schemas, monkeypatch
):
    changed = {**roles.ROLE_PERMISSIONS, roles.VIEWER: ("orders.view_order",)}
    monkeypatch.setattr(roles, "ROLE_PERMISSIONS", changed)

    setup_hub()

    assert migrated_schemas == []
    for schema in ("acme", "globex", "tenant_template"):
        with schema_context(schema):
            viewer = Group.objects.get(name=roles.VIEWER)
            assert list(viewer.permissions.values_list("codename", flat=True)) == ["view_order"]
            assert roles.roles_are_current()
