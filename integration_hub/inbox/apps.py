from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "integration_hub.inbox"
    label = "inbox"
    verbose_name = "Inbox"

    def ready(self) -> None:
        # Celery autodiscovery imports only `tasks`; the polling tasks live beside it.
        from integration_hub.inbox import tasks_polling  # noqa: F401
