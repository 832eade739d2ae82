"""The platform index's "Needs attention" panel: disconnected stores and stuck inbox items."""

from __future__ import annotations

from django import template

from inbox.models import InboxItem
from tenants.models import Store

register = template.Library()


@register.inclusion_tag("admin/inbox/needs_attention.html")
def needs_attention_panel() -> dict:
    stores = Store.objects.filter(status=Store.Status.DISCONNECTED).order_by("-status_changed_at")
    counts = {
        state: InboxItem.objects.filter(state=state).count()
        for state in (InboxItem.State.NEEDS_ATTENTION, InboxItem.State.FAILED)
    }
    return {
        "disconnected_stores": list(stores[:20]),
        "disconnected_total": stores.count(),
        "needs_attention": counts[InboxItem.State.NEEDS_ATTENTION],
        "failed": counts[InboxItem.State.FAILED],
    }
