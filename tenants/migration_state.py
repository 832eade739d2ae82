"""Which schemas a deploy has to migrate, asked of PostgreSQL once for all of them.

Letting `migrate_schemas` visit every tenant costs about 0.4 s a schema even when nothing is to
be applied (it builds the migration plan and renders the models' state in each); at 1,000
tenants a deploy with nothing to do would take minutes. Instead one statement reads, from every
schema's `django_migrations`, which of the tenant apps' latest migrations (the leaves of the
migration graph) are recorded, and only the schemas missing one are migrated. The public schema
is compared with the whole graph the same way `migrate` plans it, without rendering any state.

The schemas behind are then migrated by `SchemaBatchExecutor` (a django-tenants executor), which
plans once per batch of schemas instead of once per schema, while finding each schema's
`django_migrations` by name (`migrations_table_looked_up_by_name`) instead of by listing a
catalogue that grows with every tenant.
"""

from __future__ import annotations

import copy
import functools
import multiprocessing
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.sql import emit_post_migrate_signal, emit_pre_migrate_signal
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.migration import Migration
from django.db.migrations.operations import RenameModel, RunPython
from django.db.migrations.operations.base import Operation
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState
from django_tenants.migration_executors.base import MigrationExecutor as TenantMigrationExecutor
from django_tenants.migration_executors.base import run_migrations
from django_tenants.migration_executors.multiproc import MultiprocessingExecutor
from django_tenants.signals import schema_migrated, schema_pre_migration


def tenant_leaf_migrations(graph: MigrationGraph | None = None) -> set[tuple[str, str]]:
    """The latest migration of every app a tenant schema holds."""
    labels = {c.label for c in apps.get_app_configs() if c.name in settings.TENANT_APPS}
    if graph is None:
        graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return {node for node in graph.leaf_nodes() if node[0] in labels}


def public_plan() -> tuple[list, MigrationGraph]:
    """The migrations `migrate_schemas --shared` would apply to the public schema (none when it
    is current), and the graph it planned with: one read of public's `django_migrations`."""
    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    return executor.migration_plan(graph.leaf_nodes()), graph


def schemas_behind(schemas: list[str], leaves: set[tuple[str, str]] | None = None) -> list[str]:
    """The schemas among `schemas` that lack a tenant app's latest migration (or the table)."""
    if not schemas:
        return []
    leaves = sorted(tenant_leaf_migrations() if leaves is None else leaves)
    with_table = set(schemas_with_migrations_table(schemas))
    with connection.cursor() as cursor:
        counted = {}
        if with_table:
            reads = " UNION ALL ".join(
                f"SELECT %s AS schema_name, app, name FROM {connection.ops.quote_name(schema)}"
                ".django_migrations"
                for schema in sorted(with_table)
            )
            cursor.execute(
                f"SELECT schema_name, count(*) FROM ({reads}) AS recorded "
                "WHERE (app, name) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
                "GROUP BY schema_name",
                [
                    *sorted(with_table),
                    [app for app, _ in leaves],
                    [name for _, name in leaves],
                ],
            )
            counted = dict(cursor.fetchall())
    return [schema for schema in schemas if counted.get(schema, 0) < len(leaves)]


def _has_migrations_table(recorder: MigrationRecorder) -> bool:
    """`MigrationRecorder.has_table` for the schema in use, looked up by name in the catalogue's
    index instead of listing every table visible (what Django does)."""
    if recorder._has_table:
        return True
    with recorder.connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT FROM pg_class JOIN pg_namespace "
            "ON pg_namespace.oid = relnamespace WHERE relname = %s AND nspname = %s "
            "AND relkind IN ('f', 'm', 'p', 'r', 'v'))",
            [recorder.Migration._meta.db_table, recorder.connection.schema_name],
        )
        recorder._has_table = cursor.fetchone()[0]
    return recorder._has_table


@contextmanager
def migrations_table_looked_up_by_name() -> Iterator[None]:
    """While a deploy migrates, finding a schema's `django_migrations` costs an index lookup.

    Django lists the tables visible to answer it, a scan of `pg_class` that grows with every
    tenant (about 0.2 s at 600 tenants) and runs four times for each schema migrated; forked
    migration processes inherit the lookup. The answer is the same: django-tenants lists the
    tables of the one schema being migrated."""
    listing = MigrationRecorder.has_table
    MigrationRecorder.has_table = _has_migrations_table
    try:
        yield
    finally:
        MigrationRecorder.has_table = listing


class SchemaBatchExecutor(TenantMigrationExecutor):
    """django-tenants' executor for many schemas: processes as `multiprocessing` does, each one
    taking batches of schemas and planning once per set of applied migrations.

    `migrate` per schema (what django-tenants' executors run) builds the graph, renders every
    model's state twice and plans again in each schema: about 0.35 CPU-s a schema before any
    work, most of a deploy at 1,000 tenants. Here the schemas of a batch that record the same
    migrations share one plan and one rendered state; each schema still gets its own
    `pre_migrate` and `post_migrate` signals (content types, permissions, roles), its own
    transaction per migration and its own `django_migrations` rows, as `migrate` gives it.
    Where that sharing would not be exact (squashed migrations, an app with models but no
    migrations, a schema without the table) it hands the schemas to `multiprocessing`."""

    codename = "schema-batches"

    def run_migrations(self, tenants: Iterable[str] | None = None) -> None:
        schemas = list(tenants or [])
        if self.PUBLIC_SCHEMA_NAME in schemas:
            schemas.remove(self.PUBLIC_SCHEMA_NAME)
            run_migrations(self.args, self.options, self.codename, self.PUBLIC_SCHEMA_NAME)
        database = self.options.get("database") or self.TENANT_DB_ALIAS
        verbosity = int(self.options.get("verbosity", 1))
        with migrations_table_looked_up_by_name():
            exact = plans_can_be_shared()
            with_table = set(schemas_with_migrations_table(schemas)) if exact else set()
            plain = [schema for schema in schemas if schema not in with_table]
            if plain:
                MultiprocessingExecutor(self.args, self.options).run_migrations(tenants=plain)
            migrate_in_batches(
                [schema for schema in schemas if schema in with_table],
                database=database,
                verbosity=verbosity,
            )

    def run_multi_type_migrations(self, tenants: Iterable[tuple[str, str]]) -> None:
        MultiprocessingExecutor(self.args, self.options).run_multi_type_migrations(tenants)


SCHEMAS_PER_BATCH = 20


@dataclass
class SharedPlan:
    """What every schema recording the same migrations shares: the plan, the states before and
    after it (rendered once), and for a short plan each operation's states too."""

    executor: MigrationExecutor
    plan: list[tuple[Migration, bool]]
    before: ProjectState
    after: ProjectState
    steps: list[list[tuple[Operation, ProjectState, ProjectState]]] | None


_plans_of_this_process: dict[frozenset[tuple[str, str]], SharedPlan] = {}


def plans_can_be_shared() -> bool:
    """Whether one plan and state can stand for every schema recording the same migrations."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    squashed = any(migration.replaces for migration in loader.disk_migrations.values())
    unmigrated_models = any(
        list(apps.get_app_config(label).get_models()) for label in loader.unmigrated_apps
    )
    return not squashed and not unmigrated_models


def schemas_with_migrations_table(schemas: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_class JOIN pg_namespace ON pg_namespace.oid = relnamespace "
            "WHERE relname = 'django_migrations' AND relkind = 'r' AND nspname = ANY(%s)",
            [schemas],
        )
        found = {row[0] for row in cursor.fetchall()}
    return [schema for schema in schemas if schema in found]


def migrate_in_batches(
    schemas: list[str], *, database: str = DEFAULT_DB_ALIAS, verbosity: int = 0
) -> None:
    """Migrate these schemas (each holding `django_migrations`) in batches, in
    `TENANT_MULTIPROCESSING_MAX_PROCESSES` forked processes when there are several batches."""
    batches = [
        schemas[start : start + SCHEMAS_PER_BATCH]
        for start in range(0, len(schemas), SCHEMAS_PER_BATCH)
    ]
    processes = min(settings.TENANT_MULTIPROCESSING_MAX_PROCESSES, len(batches))
    with migrations_table_looked_up_by_name():
        if processes <= 1:
            plans: dict = {}
            for batch in batches:
                migrate_batch(batch, database=database, verbosity=verbosity, plans=plans)
            return
        connections[database].close()
        work = functools.partial(_migrate_batch_in_worker, database=database, verbosity=verbosity)
        context = multiprocessing.get_context("fork")
        with context.Pool(processes, initializer=_forget_plans) as pool:
            for _ in pool.imap_unordered(work, batches):
                pass


def _forget_plans() -> None:
    _plans_of_this_process.clear()


def _migrate_batch_in_worker(schemas: list[str], *, database: str, verbosity: int) -> None:
    """A pool process's batch; its connection is closed after each (the pool ends its processes
    without letting them close anything)."""
    try:
        migrate_batch(schemas, database=database, verbosity=verbosity)
    finally:
        connections[database].close()


def migrate_batch(
    schemas: list[str],
    *,
    database: str = DEFAULT_DB_ALIAS,
    verbosity: int = 0,
    plans: dict | None = None,
) -> None:
    """Read the batch's recorded migrations in one statement, then migrate schema by schema."""
    plans = _plans_of_this_process if plans is None else plans
    tenant_connection = connections[database]
    tenant_connection.set_schema_to_public()
    for schema, recorded in recorded_migrations(tenant_connection, schemas).items():
        shared = plans.get(recorded)
        if shared is None:
            shared = plans[recorded] = plan_for(tenant_connection, recorded)
        if shared.plan:
            migrate_one(tenant_connection, schema, shared, verbosity)
    tenant_connection.set_schema_to_public()


def recorded_migrations(
    tenant_connection: Any, schemas: list[str]
) -> dict[str, frozenset[tuple[str, str]]]:
    reads = " UNION ALL ".join(
        f"SELECT %s, app, name FROM {tenant_connection.ops.quote_name(schema)}.django_migrations"
        for schema in schemas
    )
    recorded: dict[str, set[tuple[str, str]]] = {schema: set() for schema in schemas}
    with tenant_connection.cursor() as cursor:
        cursor.execute(reads, schemas)
        for schema, app, name in cursor.fetchall():
            recorded[schema].add((app, name))
    return {schema: frozenset(names) for schema, names in recorded.items()}


OPERATIONS_SHARED_AT_MOST = 20


def plan_for(tenant_connection: Any, recorded: frozenset[tuple[str, str]]) -> SharedPlan:
    """Plan and render once what `migrate` would in a schema that recorded `recorded`.

    For a short plan of schema changes (a deploy's usual one or two migrations) each operation's
    states before and after are kept too, so a schema's turn is only its SQL. A data migration
    (`RunPython` gets the states' models) or a `RenameModel` (content types adds operations to
    it) is applied in each schema from the state before, as `migrate` does."""
    executor = MigrationExecutor(tenant_connection)
    executor.loader.applied_migrations = {
        key: None for key in recorded if key in executor.loader.graph.nodes
    }
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    before = executor._create_project_state(with_applied_migrations=True)
    before.apps  # noqa: B018 (rendered here once instead of in every schema)
    operations = [operation for migration, _ in plan for operation in migration.operations]
    shareable = len(operations) <= OPERATIONS_SHARED_AT_MOST and not any(
        isinstance(operation, RunPython | RenameModel) for operation in operations
    )
    steps: list[list[tuple[Operation, ProjectState, ProjectState]]] | None = (
        [] if shareable else None
    )
    state = before.clone()
    for migration, _ in plan:
        if steps is None:
            state = migration.mutate_state(state, preserve=False)
            continue
        migration_steps = []
        for operation in migration.operations:
            old = state.clone()
            operation.state_forwards(migration.app_label, state)
            migration_steps.append((operation, old, state.clone()))
        steps.append(migration_steps)
    state.clear_delayed_apps_cache()
    state.apps  # noqa: B018 (what every schema's post_migrate handlers are given)
    return SharedPlan(executor, plan, before, state, steps)


def apply_steps(
    executor: MigrationExecutor,
    migration: Migration,
    steps: list[tuple[Operation, ProjectState, ProjectState]],
) -> None:
    """`MigrationExecutor.apply_migration` with the operations' states computed beforehand:
    the same transaction, the same SQL, the row recorded inside it unless SQL was deferred."""
    recorded = False
    with executor.connection.schema_editor(atomic=migration.atomic) as editor:
        for operation, old, new in steps:
            atomic_operation = operation.atomic or (
                migration.atomic and operation.atomic is not False
            )
            if not editor.atomic_migration and atomic_operation:
                with transaction.atomic(executor.connection.alias):
                    operation.database_forwards(migration.app_label, editor, old, new)
            else:
                operation.database_forwards(migration.app_label, editor, old, new)
        if not editor.deferred_sql:
            executor.record_migration(migration)
            recorded = True
    if not recorded:
        executor.record_migration(migration)


def _own_copy(migration: Migration) -> Migration:
    copied = copy.copy(migration)
    copied.operations = list(migration.operations)
    return copied


def migrate_one(tenant_connection: Any, schema: str, shared: SharedPlan, verbosity: int) -> None:
    """`migrate` in one schema with a shared plan: its signals, its transactions, its rows."""
    schema_pre_migration.send(run_migrations, schema_name=schema)
    tenant_connection.set_schema(schema)
    # The signals may add operations to the migrations they are given (content types does after
    # a RenameModel), so each schema gets copies with lists of their own.
    plan = [(_own_copy(migration), backwards) for migration, backwards in shared.plan]
    emit_pre_migrate_signal(
        verbosity, False, tenant_connection.alias, apps=shared.before.apps, plan=plan
    )
    executor = shared.executor
    executor.connection = tenant_connection
    executor.recorder = MigrationRecorder(tenant_connection)
    if shared.steps is None:
        state = shared.before.clone()
        for migration, _ in plan:
            state = executor.apply_migration(state, migration)
    else:
        for (migration, _), steps in zip(plan, shared.steps, strict=True):
            apply_steps(executor, migration, steps)
    emit_post_migrate_signal(
        verbosity, False, tenant_connection.alias, apps=shared.after.apps, plan=plan
    )
    if verbosity:
        sys.stdout.write(f"[{SchemaBatchExecutor.codename}:{schema}] {len(plan)} applied\n")
    tenant_connection.set_schema_to_public()
    schema_migrated.send(run_migrations, schema_name=schema)
