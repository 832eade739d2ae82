"""Alert delivery runs in workers, after commit, never inside the flow that raised the alert."""

from __future__ import annotations

from celery import shared_task

from alerts import services


@shared_task(name=services.DELIVER_TASK, acks_late=True)
def deliver_alert(alert_id: int) -> str:
    return services.deliver(alert_id)


@shared_task(name="alerts.send_digests", acks_late=True)
def send_alert_digests() -> int:
    return services.send_digests()
