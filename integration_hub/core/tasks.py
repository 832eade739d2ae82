"""The beat tick that drives every registered sweep job."""

from __future__ import annotations

from integration_hub.celery import app
from integration_hub.core import sweeper


@app.task(name="core.sweep")
def sweep() -> dict:
    """Resend due or stuck work and start due scheduled jobs (polls, replays)."""
    return sweeper.sweep()
