"""Small bar charts drawn on the server as inline SVG: no script, no stylesheet from elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from html import escape

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from portal.flow_lag import Bucket

register = template.Library()

BAR_COLOUR = "var(--primary, #79aec8)"
EMPTY_COLOUR = "var(--hairline-color, #e8e8e8)"


@register.simple_tag
def bar_chart(
    buckets: Sequence[Bucket], unit: str = "hour", width: int = 240, height: int = 56
) -> SafeString:
    """Bars for `buckets` (oldest first), each with a tooltip; the tallest bar's value on top.
    Plain string building with one escape per title: the platform page draws a hundred."""
    if not buckets:
        return format_html("<span class='quiet'>No data.</span>")
    top = max(b.count for b in buckets)
    label_height = 12
    plot = height - label_height * 2
    slot = width / len(buckets)
    pattern = "%H:00" if unit == "hour" else "%a %d %b"
    zone = timezone.get_current_timezone()
    bars = []
    for index, bucket in enumerate(buckets):
        bar = max(1.0, plot * bucket.count / top) if top and bucket.count else 1.0
        when = bucket.start.astimezone(zone).strftime(pattern)
        title = escape(f"{when}: {bucket.count} order{'s' if bucket.count != 1 else ''}")
        colour = BAR_COLOUR if bucket.count else EMPTY_COLOUR
        bars.append(
            f'<rect x="{index * slot + 1:.1f}" y="{label_height + plot - bar:.1f}" '
            f'width="{max(slot - 2, 1):.1f}" height="{bar:.1f}" style="fill:{colour}">'
            f"<title>{title}</title></rect>"
        )
    first = buckets[0].start.astimezone(zone).strftime(pattern)
    last = "now" if unit == "hour" else "today"
    total = sum(b.count for b in buckets)
    return format_html(
        '<svg class="bar-chart" role="img" aria-label="{} orders, {} to {}" width="{}" '
        'height="{}" viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg" '
        'style="font:10px sans-serif;fill:var(--body-quiet-color, #666)">'
        '<text x="0" y="9">max {}</text>{}'
        '<text x="0" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text></svg>',
        total, first, last, width, height, width, height,
        top, mark_safe("".join(bars)),  # built above, its one text escaped
        height - 1, first, width, height - 1, last,
    )  # fmt: skip


@register.filter
def duration_words(span: timedelta | None) -> str:
    """'3 min', '1 h 20 min', '40 s': how long, the way a person says it."""
    if span is None:
        return ""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{max(seconds, 1)} s"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
