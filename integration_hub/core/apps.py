from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The project core: work items and their attempt history, dispatch, the sweeper.

    Installed in the public schema and in every tenant schema, so each schema keeps the attempt
    history of its own work items.
    """

    name = "integration_hub.core"
    label = "core"
    verbose_name = "Work items"
