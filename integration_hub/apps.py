"""The project's own app: its system checks and the session-state proof before migrations."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import pre_migrate
from django_tenants.signals import schema_pre_migration


class HubConfig(AppConfig):
    name = "integration_hub"
    verbose_name = "Integration hub"

    def ready(self) -> None:
        from integration_hub import session_state  # noqa: F401 (registers its deploy check)
        from tenants.signals import deploy_starting

        pre_migrate.connect(prove_before_migrating, dispatch_uid="hub-session-state")
        schema_pre_migration.connect(prove_before_migrating, dispatch_uid="hub-session-state")
        # A deploy with nothing to migrate sends no migrate signal, yet reads every schema.
        deploy_starting.connect(prove_before_migrating, dispatch_uid="hub-session-state")


_proven: set[str] = set()


def prove_before_migrating(sender: Any = None, using: str | None = None, **kwargs: Any) -> None:
    """`setup_hub` (and any migration) refuses to touch a schema through a transaction pooler;
    proven once per process and database."""
    from django.db import DEFAULT_DB_ALIAS

    from integration_hub.session_state import refuse_without_session_state

    alias = using or DEFAULT_DB_ALIAS
    if alias in _proven:
        return
    _proven.add(alias)
    refuse_without_session_state("the migrations", alias)
