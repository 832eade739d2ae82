from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    label = "inbox"
    verbose_name = "Inbox"

    def ready(self) -> None:
        from core import sweeper
        from inbox import polling, processing

        processing.register_kind()
        sweeper.register(
            sweeper.SweepJob(
                name="store polls",
                task="inbox.poll_store",
                in_tenants=False,
                find=lambda now, stale: [(pk,) for pk in polling.claim_due_polls(now)],
            )
        )
        sweeper.register(
            sweeper.SweepJob(
                name="failed-webhook replays",
                task="inbox.replay_failed_webhooks",
                in_tenants=False,
                find=lambda now, stale: [(pk,) for pk in polling.accounts_due_for_replay()],
            )
        )
