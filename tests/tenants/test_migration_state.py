"""A deploy migrates only the schemas behind, found with one statement for all of them."""

from __future__ import annotations

from django.db import connection

from tenants.migration_state import schemas_behind, tenant_leaf_migrations


def test_current_schemas_are_not_behind_and_one_statement_says_so(
    acme, globex, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        assert schemas_behind(["acme", "globex", "tenant_template"]) == []


def test_a_schema_missing_a_latest_migration_or_the_table_is_behind(acme, globex):
    app, name = sorted(tenant_leaf_migrations())[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM acme.django_migrations WHERE app = %s AND name = %s", [app, name]
        )
        cursor.execute("CREATE SCHEMA never_migrated")
    assert schemas_behind(["acme", "globex", "never_migrated"]) == ["acme", "never_migrated"]


def test_the_latest_migrations_are_the_tenant_apps_leaves():
    apps_with_leaves = {app for app, _ in tenant_leaf_migrations()}
    assert {"orders", "shipping", "invoicing", "tenant_settings", "auth"} <= apps_with_leaves
    assert "tenants" not in apps_with_leaves  # a shared app: its tables live in public only


def test_the_deploys_table_lookup_answers_as_djangos_listing_does(acme):
    from django.db.migrations.recorder import MigrationRecorder

    from tenants.migration_state import migrations_table_looked_up_by_name

    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA without_migrations")
    answers = {}
    for schema in ("public", "acme", "without_migrations"):
        connection.set_schema(schema, include_public=False)
        listed = MigrationRecorder(connection).has_table()
        with migrations_table_looked_up_by_name():
            looked_up = MigrationRecorder(connection).has_table()
        answers[schema] = (listed, looked_up)
    connection.set_schema_to_public()
    assert answers == {
        "public": (True, True),
        "acme": (True, True),
        "without_migrations": (False, False),
    }
    assert MigrationRecorder.has_table.__module__ == "django.db.migrations.recorder"
