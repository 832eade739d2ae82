import logging
from typing import Any

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The project core: work items and their attempt history, dispatch, the sweeper.

    Installed in the public schema and in every tenant schema, so each schema keeps the attempt
    history of its own work items.
    """

    name = "core"
    label = "core"
    verbose_name = "Work items"

    def ready(self) -> None:
        from celery.signals import after_setup_logger, after_setup_task_logger

        from core.redaction import add_to_handlers

        def redact_celery_handlers(logger: logging.Logger, **kwargs: Any) -> None:
            """Celery replaces the root logger's handlers in a worker; they redact too."""
            add_to_handlers(logger)

        after_setup_logger.connect(redact_celery_handlers, weak=False)
        after_setup_task_logger.connect(redact_celery_handlers, weak=False)

        from core import sweeper, work

        for in_tenants in (False, True):
            sweeper.register(
                sweeper.SweepJob(
                    name="attempt history pruning" + (" (tenants)" if in_tenants else ""),
                    task="core.prune_attempts",
                    in_tenants=in_tenants,
                    find=work.due_attempt_pruning,
                    next_due=work.next_attempt_pruning,
                )
            )
