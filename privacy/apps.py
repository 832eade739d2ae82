from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Personal data: retention per tenant, erasure of one customer, exports for the person.

    It sits above inbox, orders, shipping and invoicing (it reads and scrubs their rows), so
    they need no knowledge of it; the few hooks they carry are generic (the inbox cuts a done
    store order's body, an order stripped of its data takes no more store versions).
    """

    name = "privacy"
    label = "privacy"
    verbose_name = "Personal data"

    def ready(self) -> None:
        from core import sweeper
        from privacy import retention

        sweeper.register(
            sweeper.SweepJob(
                name="personal data retention",
                task="privacy.apply_retention",
                in_tenants=True,
                find=retention.due_in_tenant,
                next_due=retention.next_in_tenant,
            )
        )
        sweeper.register(
            sweeper.SweepJob(
                name="inbox body retention",
                task="privacy.cut_old_inbox_bodies",
                in_tenants=False,
                find=retention.due_in_inbox,
            )
        )
