from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

STATE_BADGES = {
    "overdue": "text-bg-danger",
    "due": "text-bg-warning",
    "scheduled": "text-bg-light",
    "completed": "text-bg-success",
    "cancelled": "text-bg-secondary",
}


@register.filter
def state_badge(state: str) -> str:
    return STATE_BADGES.get(state, "text-bg-light")


@register.simple_tag
def sparkline(
    values, label: str = "", low: int = 1, high: int = 5, width: int = 96, height: int = 24
) -> SafeString:
    """An inline SVG line of ratings, drawn on the server (the CSP allows no scripts and no
    style attributes; colours come from CSS via currentColor)."""
    values = [v for v in values if v is not None]
    description = f"{label}: {', '.join(str(v) for v in values)}" if values else f"{label}: none"
    if not values:
        return format_html('<span class="text-body-secondary" title="{}">—</span>', description)
    pad = 3
    span = max(high - low, 1)

    def y(value) -> float:
        return round(pad + (high - value) / span * (height - 2 * pad), 1)

    if len(values) == 1:
        points = [(width / 2, y(values[0]))]
    else:
        step = (width - 2 * pad) / (len(values) - 1)
        points = [(round(pad + i * step, 1), y(v)) for i, v in enumerate(values)]
    line = " ".join(f"{x},{py}" for x, py in points)
    last_x, last_y = points[-1]
    return format_html(
        '<svg class="sparkline" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{d}"><title>{d}</title>'
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{p}"/>'
        '<circle cx="{x}" cy="{y}" r="2.5" fill="currentColor"/>{dots}</svg>',
        w=width,
        h=height,
        d=description,
        p=line,
        x=last_x,
        y=last_y,
        dots=format_html_join(
            "", '<circle cx="{}" cy="{}" r="1.2" fill="currentColor"/>', points[:-1]
        ),
    )


@register.inclusion_tag("reviews/_relationship_reviews.html", takes_context=True)
def relationship_reviews(context, relationship):
    """The reviews block for the relationship page: ``{% relationship_reviews relationship %}``.

    The caller has already checked that the user may see ``relationship``.
    """
    from reviews.views import relationship_reviews_context

    request = context["request"]
    return {
        **relationship_reviews_context(request, relationship),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }
