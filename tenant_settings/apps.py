from django.apps import AppConfig


class TenantSettingsConfig(AppConfig):
    """A tenant's own settings: ERP and ShipStation connections, users' roles and API tokens."""

    name = "tenant_settings"
    verbose_name = "Tenant settings"

    def ready(self) -> None:
        from tenant_settings import roles  # noqa: F401  (post_migrate seeding)
