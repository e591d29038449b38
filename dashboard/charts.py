"""Server-rendered SVG charts, each with the table and CSV that carry the same data.

No JavaScript and nothing the Content-Security-Policy forbids: colours and sizes are SVG
presentation attributes (fill, width, height), never ``style=``. Every bar, segment and dot
is an ``<a>`` to the filtered list it summarises. ``Chart.header``/``Chart.rows`` feed both
the accessible table on the page and the CSV download, so the two always match.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from dashboard import selectors
from dashboard.forms import DashboardFilters
from relationships.models import LIFECYCLE

# Every colour that carries data keeps at least 3:1 contrast against the chart background
# (white, and the map's #f8f9fa cells): WCAG 1.4.11 for graphical objects. The test
# dashboard/tests/test_charts_readable.py computes the ratios; keep it passing when you
# change a colour. (#e0a800 amber and #adb5bd grey were about 2:1 and have gone.)
COLOURS = {"good": "#198754", "fair": "#a86d00", "poor": "#dc3545", "": "#6c757d"}
TITLES = {
    "funnel": "Relationships by stage",
    "health": "Health distribution (active relationships)",
    "value": "Value over the last 12 months",
    "map": "Stakeholder map (power × interest)",
    "cascade": "Progress of the objective cascade",
    "satisfaction": "Satisfaction trend",
    "adoption": "Contact in the last 30 / 90 days, per team",
    "weekly": "Interactions logged per person per week",
}

ACCENT = "#0d6efd"
MUTED = "#6c757d"  # a month with nothing recorded: a 1-unit grey stub
SECOND = "#6f42c1"  # the second series beside ACCENT (adoption's 90 days)
DATA_COLOURS = (*COLOURS.values(), ACCENT, MUTED, SECOND)
BACKGROUNDS = ("#ffffff", "#f8f9fa")  # the card, and the map's cells
# Not data: the empty track behind a progress bar and a heat-map cell with nothing in it
# (the cell prints its count, so the number, not the shade, carries the amount).
TRACK = "#e9ecef"


def _luminance(colour: str) -> float:
    rgb = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@dataclass
class Chart:
    name: str
    title: str
    summary: str  # the aria-label: what the picture says in one sentence
    svg: SafeString
    header: list[str]
    rows: list[list]
    note: str = ""
    csv_url: str = ""
    extra: dict = field(default_factory=dict)


def list_url(filters: DashboardFilters, **params) -> str:
    """The relationship list (relationships.filters.RelationshipFilter's parameter names)
    filtered like the dashboard, plus ``params``."""
    query = {**filters.list_params(), **{k: str(v) for k, v in params.items() if v is not None}}
    url = reverse("relationships:index")
    return f"{url}?{urlencode(query)}" if query else url


def _svg(width: int, height: int, label: str, body: SafeString | str) -> SafeString:
    # role="group", not "img": an image's children are hidden from assistive technology, and
    # the bars are links a keyboard or screen-reader user must reach (axe nested-interactive).
    return format_html(
        '<svg class="chart-svg" viewBox="0 0 {} {}" role="group" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">{}</svg>',
        width,
        height,
        label,
        body,
    )


def _link(href: str, label: str, body: SafeString | str) -> SafeString:
    # The <title> names the link (and shows as a tooltip); an aria-label too would hide the
    # numbers drawn inside it from its name (axe label-content-name-mismatch).
    return format_html(
        '<a href="{}" class="chart-link"><title>{}</title>{}</a>',
        href,
        label,
        body,
    )


def _num(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        value = value.quantize(Decimal("1")) if value == value.to_integral() else value
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _join(items) -> SafeString:
    return mark_safe("".join(str(i) for i in items))  # each item built with format_html


def _compact(value) -> str:
    """A bar's amount in the few characters a bar has room for: 950, 12.5k, 1.2M."""
    number = float(value or 0)
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if abs(number) >= size:
            scaled = number / size
            return f"{scaled:.0f}{suffix}" if abs(scaled) >= 100 else f"{scaled:.1f}{suffix}"
    return f"{number:.0f}" if number == int(number) else f"{number:.1f}"


def _ticks(top: float, count: int = 4, integer: bool = True) -> list[float]:
    """Round scale steps from 0 to at least ``top``: 1, 2 or 5 × 10ⁿ apart."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1, step)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _tick_label(value: float) -> str:
    return (
        _compact(value)
        if abs(value) >= 10_000
        else _num(int(value) if value == int(value) else value)
    )


def _x_axis(
    x0: float, x1: float, y: float, ticks: list, title: str, suffix: str = ""
) -> SafeString:
    """A horizontal axis from ``x0`` (ticks[0]) to ``x1`` (ticks[-1]) with its title below."""
    span = (ticks[-1] - ticks[0]) or 1
    parts = [
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-axis"></line>', x0, x1, y, y
        )
    ]
    for t in ticks:
        x = round(x0 + (x1 - x0) * (t - ticks[0]) / span, 1)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-axis"></line>'
                '<text x="{}" y="{}" class="chart-label" text-anchor="middle">{}{}</text>',
                x,
                x,
                y,
                y + 4,
                x,
                y + 17,
                _tick_label(t),
                suffix,
            )
        )
    parts.append(
        format_html(
            '<text x="{}" y="{}" class="chart-label chart-axis-title" text-anchor="middle">'
            "{}</text>",
            round((x0 + x1) / 2, 1),
            y + 34,
            title,
        )
    )
    return _join(parts)


def _month_axis(x0: float, x1: float, y: float, title_y: float) -> SafeString:
    """The line under monthly bars or points (each month names itself) and its title."""
    return format_html(
        '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-axis"></line>'
        '<text x="{}" y="{}" class="chart-label chart-axis-title" text-anchor="middle">'
        "Month</text>",
        x0,
        x1,
        y,
        y,
        round((x0 + x1) / 2, 1),
        title_y,
    )


def _y_axis(x: float, bottom: float, top: float, ticks: list, title: str = "") -> SafeString:
    """A vertical axis at ``x`` from ``bottom`` (ticks[0]) up to ``top`` (ticks[-1]), tick
    labels to its left and, if given, its title turned along it at the far left."""
    span = (ticks[-1] - ticks[0]) or 1
    parts = [
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-axis"></line>', x, x, bottom, top
        )
    ]
    for t in ticks:
        y = round(bottom - (bottom - top) * (t - ticks[0]) / span, 1)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-axis"></line>'
                '<text x="{}" y="{}" class="chart-label" text-anchor="end">{}</text>',
                x - 4,
                x,
                y,
                y,
                x - 6,
                y + 4,
                _tick_label(t),
            )
        )
    if title:
        middle = round((bottom + top) / 2, 1)
        parts.append(
            format_html(
                '<text x="12" y="{}" class="chart-label chart-axis-title" text-anchor="middle" '
                'transform="rotate(-90 12 {})">{}</text>',
                middle,
                middle,
                title,
            )
        )
    return _join(parts)


# --- Funnel ---------------------------------------------------------------------------


def funnel_chart(figures: dict, filters: DashboardFilters) -> Chart:
    stages = [s for s in figures["portfolio"]["stages"] if s["stage"] in LIFECYCLE]
    ticks = _ticks(max((s["count"] for s in stages), default=0))
    width, row_h, label_w = 600, 44, 110
    usable = width - label_w - 70
    parts = []
    for i, stage in enumerate(stages):
        w = max(2, round(usable * stage["count"] / ticks[-1]))
        x = label_w
        y = i * row_h + 6
        label = f"{stage['label']}: {stage['count']} relationship{pluralize(stage['count'])}"
        bar = format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" rx="3" fill="{}"></rect>'
            '<text x="{}" y="{}" class="chart-label" text-anchor="end">{}</text>'
            '<text x="{}" y="{}" class="chart-value">{}</text>',
            round(x, 1),
            y,
            w,
            row_h - 12,
            ACCENT,
            label_w - 8,
            y + row_h / 2,
            stage["label"],
            label_w + w + 6,
            y + row_h / 2,
            _num(stage["count"]),
        )
        parts.append(_link(list_url(filters, stage=stage["stage"]), label, bar))
    axis_y = len(stages) * row_h + 6
    parts.append(_x_axis(label_w, label_w + usable, axis_y, ticks, "Relationships"))
    active = figures["portfolio"]["active"]
    rows = [
        [s["label"], s["count"], f"{100 * s['count'] / active:.1f}" if active else ""]
        for s in stages
    ]
    summary = "Relationships by stage: " + ", ".join(f"{s['label']} {s['count']}" for s in stages)
    return Chart(
        "funnel",
        TITLES["funnel"],
        summary,
        _svg(width, len(stages) * row_h + 50, summary, _join(parts)),
        ["Stage", "Relationships", "Share of active (%)"],
        rows,
    )


# --- Health distribution --------------------------------------------------------------


def health_chart(figures: dict, filters: DashboardFilters) -> Chart:
    buckets = figures["portfolio"]["health"]["buckets"]
    ticks = _ticks(max((b["count"] for b in buckets), default=0))
    width, height, base, left = 600, 250, 190, 60
    bar_w = (width - left - 10) / len(buckets)
    parts = [_y_axis(left, base, base - 160, ticks, "Relationships")]
    for i, b in enumerate(buckets):
        h = round(160 * b["count"] / ticks[-1]) if b["count"] else 0
        x = left + i * bar_w
        label = (
            f"Health {b['low']}–{b['high']} ({b['band']}): "
            f"{b['count']} relationship{pluralize(b['count'])}"
        )
        bar = format_html(
            '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>'
            '<rect x="{}" y="20" width="{}" height="{}" fill="transparent"></rect>'
            '<text x="{}" y="{}" class="chart-value" text-anchor="middle">{}</text>'
            '<text x="{}" y="{}" class="chart-label" text-anchor="middle">{}</text>',
            round(x + 2, 1),
            base - h,
            round(bar_w - 4, 1),
            h,
            COLOURS[b["band"]],
            round(x + 2, 1),
            round(bar_w - 4, 1),
            base - 20,
            round(x + bar_w / 2, 1),
            base - h - 4,
            b["count"],
            round(x + bar_w / 2, 1),
            base + 16,
            f"{b['low']}–{b['high']}",
        )
        # The list filters by band (good/fair/poor), the finest health filter it offers.
        parts.append(_link(list_url(filters, health=b["band"], status="active"), label, bar))
    parts.append(
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-axis"></line>'
            '<text x="{}" y="{}" class="chart-label chart-axis-title" text-anchor="middle">'
            "Health score</text>",
            left,
            width - 10,
            base,
            base,
            round((left + width - 10) / 2, 1),
            base + 40,
        )
    )
    average = figures["portfolio"]["health"]["average"]
    summary = f"Health of active relationships, average {_num(average)}: " + ", ".join(
        f"{b['low']}–{b['high']}: {b['count']}" for b in buckets
    )
    return Chart(
        "health",
        TITLES["health"],
        summary,
        _svg(width, height, summary, _join(parts)),
        ["Health from", "Health to", "Band", "Relationships"],
        [[b["low"], b["high"], b["band"], b["count"]] for b in buckets],
        note="Bars link to the list filtered by health band (good 70–100, fair 40–69, "
        "poor 0–39); the list also shows ended relationships.",
    )


# --- Value over 12 months -------------------------------------------------------------


def value_chart(figures: dict, filters: DashboardFilters) -> Chart:
    trend = figures["value_trend"]
    months, series = trend["months"], trend["series"]
    width, panel_h, left = 600, 150, 60
    bar_w = (width - left - 10) / len(months)
    parts, rows = [], []
    for si, s in enumerate(series):
        ticks = _ticks(max((float(v) for v in s["values"]), default=0), count=3, integer=False)
        y0 = si * (panel_h + 10)
        base = y0 + panel_h - 22
        plot_h = panel_h - 60  # room above the tallest bar for its amount, and the unit
        parts.append(
            format_html(
                '<text x="0" y="{}" class="chart-label chart-axis-title">{}</text>',
                y0 + 14,
                s["unit"] or "—",
            )
        )
        parts.append(_y_axis(left, base, base - plot_h, ticks))
        for mi, (month, value) in enumerate(zip(months, s["values"], strict=True)):
            h = round(plot_h * float(value) / ticks[-1]) if value else 0
            x = left + mi * bar_w
            label = f"{month:%b %Y}: {_num(value)} {s['unit']}"
            bar = format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>'
                '<text x="{}" y="{}" class="chart-value" text-anchor="middle">{}</text>',
                round(x + 2, 1),
                base - h,
                round(bar_w - 4, 1),
                max(h, 1),
                ACCENT if value else MUTED,
                round(x + bar_w / 2, 1),
                base - max(h, 1) - 4,
                _compact(value),
            )
            parts.append(_link(list_url(filters), label, bar))
            if si == len(series) - 1:
                parts.append(
                    format_html(
                        '<text x="{}" y="{}" class="chart-label" text-anchor="middle">{}</text>',
                        round(x + bar_w / 2, 1),
                        base + 16,
                        f"{month:%b}",
                    )
                )
            rows.append([f"{month:%Y-%m}", s["unit"], value])
    if series:
        base = (len(series) - 1) * (panel_h + 10) + panel_h - 22
        parts.append(_month_axis(left, width - 10, base, base + 36))
    height = max(1, len(series)) * (panel_h + 10) + 24
    summary = "Quantitative value per month over 12 months" + (
        " in " + ", ".join(s["unit"] for s in series) if series else ": none recorded"
    )
    note = "Bars open the relationship list with the same filters."
    if trend["more_units"]:
        note += " Also recorded (table and CSV only): " + ", ".join(trend["more_units"]) + "."
    return Chart(
        "value",
        TITLES["value"],
        summary,
        _svg(width, height, summary, _join(parts)),
        ["Month", "Unit", "Total"],
        rows,
        note=note,
    )


# --- Stakeholder map ------------------------------------------------------------------


def map_chart(figures: dict, filters: DashboardFilters) -> Chart:
    data = figures["map"]
    size, margin, cell = 520, 40, 96  # 5 × 96 = 480
    parts = []
    counts = {(c["power"], c["interest"]): c for c in data["cells"]}
    for power in range(1, 6):
        for interest in range(1, 6):
            x = margin + (interest - 1) * cell
            y = margin + (5 - power) * cell - margin + 4
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="map-cell"></rect>',
                    x,
                    y,
                    cell,
                    cell,
                )
            )
            c = counts.get((power, interest))
            if c and c["not_drawn"]:
                parts.append(
                    format_html(
                        # Mid-height, right: clear of the quadrant names in the corners.
                        '<text x="{}" y="{}" class="chart-label map-rest" text-anchor="end">'
                        "+{} more</text>",
                        x + cell - 4,
                        y + cell / 2 + 4,
                        c["not_drawn"],
                    )
                )
    top = max((float(d["value"]) for d in data["dots"]), default=0) or 1
    for d in data["dots"]:
        # Deterministic scatter inside the cell, so dots do not all sit on one point.
        seed = d["stakeholder_id"] * 2654435761 % 2**32
        jx, jy = (seed % 1000) / 1000, (seed // 1000 % 1000) / 1000
        cx = margin + (d["interest"] - 1) * cell + 12 + jx * (cell - 24)
        cy = margin + (5 - d["power"]) * cell - margin + 4 + 12 + jy * (cell - 24)
        r = 3 + 11 * math.sqrt(float(d["value"]) / top)  # area follows value
        label = (
            f"{d['name']}: power {d['power']}, interest {d['interest']}, "
            f"value {_num(d['value'])} {data['unit']}, health {_num(d['health'])}"
        )
        dot = format_html(
            # Opaque, so the colour keeps its contrast; the white rim separates overlaps.
            '<circle cx="{}" cy="{}" r="{}" fill="{}" stroke="#fff"></circle>',
            round(cx, 1),
            round(cy, 1),
            round(r, 1),
            COLOURS[d["band"]],
        )
        parts.append(_link(list_url(filters, q=d["name"]), label, dot))
    # The grid spans x margin…size and y 4…4 + 5 × cell. Scores 1–2 are low and 4–5 high;
    # the lines through the middle of 3 split the map into its four named quadrants.
    top_y, bottom_y, mid_x, mid_y = 4, 4 + 5 * cell, margin + 2.5 * cell, 4 + 2.5 * cell
    parts.append(
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" class="map-divider"></line>'
            '<line x1="{}" x2="{}" y1="{}" y2="{}" class="map-divider"></line>',
            mid_x,
            mid_x,
            top_y,
            bottom_y,
            margin,
            size,
            mid_y,
            mid_y,
        )
    )
    for name, x, y, anchor in (
        ("Keep satisfied", margin + 6, top_y + 18, "start"),
        ("Manage closely", size - 6, top_y + 18, "end"),
        ("Monitor", margin + 6, bottom_y - 8, "start"),
        ("Keep informed", size - 6, bottom_y - 8, "end"),
    ):
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="chart-quadrant" text-anchor="{}">{}</text>',
                x,
                y,
                anchor,
                name,
            )
        )
    for score in range(1, 6):
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="chart-label" text-anchor="middle">{}</text>'
                '<text x="{}" y="{}" class="chart-label" text-anchor="end">{}</text>',
                margin + (score - 0.5) * cell,
                bottom_y + 16,
                score,
                margin - 6,
                round(top_y + (5 - score + 0.5) * cell + 4, 1),
                score,
            )
        )
    parts.append(
        format_html(
            '<text x="{}" y="{}" class="chart-label chart-axis-title" text-anchor="middle">'
            "Interest (1 low – 5 high) →</text>"
            '<text x="12" y="{}" class="chart-label chart-axis-title" text-anchor="middle" '
            'transform="rotate(-90 12 {})">Power (1 low – 5 high) →</text>',
            mid_x,
            bottom_y + 36,
            mid_y,
            mid_y,
        )
    )
    summary = (
        f"Stakeholder map: {data['stakeholders']} stakeholder{pluralize(data['stakeholders'])} "
        "by power and interest, "
        f"{len(data['dots'])} drawn"
    )
    note = selectors.MAP_RULE.format(unit=data["unit"] or "any unit", limit=data["limit"])
    note += (
        " Quadrants: Manage closely (high power, high interest), Keep satisfied (high power, "
        "low interest), Keep informed (low power, high interest), Monitor (low, low)."
    )
    if data["not_drawn"]:
        note += (
            f" {data['not_drawn']} stakeholder{pluralize(data['not_drawn'])} "
            f"{pluralize(data['not_drawn'], 'is,are')} counted in their cells but not drawn."
        )
    rows = [
        [d["name"], d["power"], d["interest"], d["value"], d["health"], d["relationships"]]
        for d in data["dots"]
    ]
    return Chart(
        "map",
        TITLES["map"],
        summary,
        _svg(size, size + 8, summary, _join(parts)),
        ["Stakeholder", "Power", "Interest", f"Value ({data['unit']})", "Health", "Relationships"],
        rows,
        note=note,
        extra={"cells": data["cells"]},
    )


# --- Objective cascade ----------------------------------------------------------------


def cascade_chart(figures: dict, filters: DashboardFilters) -> Chart:
    rows_data = figures["cascade"]["rows"]
    width, row_h, label_w = 600, 30, 260
    parts = [
        _x_axis(
            label_w,
            width - 60,
            max(1, len(rows_data)) * row_h + 6,
            [0, 25, 50, 75, 100],
            "Progress (%)",
        )
    ]
    for i, o in enumerate(rows_data):
        y = i * row_h + 4
        w = round((width - label_w - 60) * o["progress"] / 100)
        label = f"{o['title']} ({o['level']}): {o['progress']:.0f}% progress"
        indent = 12 * o["depth"]
        bar = format_html(
            '<text x="{}" y="{}" class="chart-label">{}</text>'
            '<rect x="{}" y="{}" width="{}" height="14" fill="{}"></rect>'
            '<rect x="{}" y="{}" width="{}" height="14" fill="{}"></rect>'
            '<text x="{}" y="{}" class="chart-value">{}%</text>',
            indent,
            y + 15,
            o["title"][:38] + ("…" if len(o["title"]) > 38 else ""),
            label_w,
            y + 4,
            width - label_w - 60,
            TRACK,
            label_w,
            y + 4,
            w,
            COLOURS["good"] if o["progress"] >= 70 else ACCENT,
            width - 52,
            y + 15,
            f"{o['progress']:.0f}",
        )
        parts.append(_link(reverse("plans:objective_detail", args=[o["id"]]), label, bar))
    summary = "Objective cascade progress: " + ", ".join(
        f"{o['title']} {o['progress']:.0f}%" for o in rows_data[:8]
    )
    return Chart(
        "cascade",
        TITLES["cascade"],
        summary if rows_data else "No objectives yet",
        _svg(width, max(1, len(rows_data)) * row_h + 50, summary, _join(parts)),
        ["Objective", "Level", "Depth", "Status", "Progress (%)"],
        [[o["title"], o["level"], o["depth"], o["status"], o["progress"]] for o in rows_data],
        note="Top two levels of the cascade; progress rolls up as on the plans pages. "
        "Objectives are organisation-wide: the filters do not narrow them.",
    )


# --- Satisfaction trend ---------------------------------------------------------------


def satisfaction_chart(figures: dict, filters: DashboardFilters) -> Chart:
    points = figures["satisfaction_trend"]["points"]
    width, height, left, top_y, base = 600, 230, 60, 20, 170
    step = (width - left - 20) / max(1, len(points) - 1)

    def y(score: float) -> float:  # 1–5 scale
        return round(base - (score - 1) / 4 * (base - top_y), 1)

    parts = [
        format_html(
            '<line x1="{}" x2="{}" y1="{}" y2="{}" class="chart-grid"></line>',
            left,
            width - 10,
            y(v),
            y(v),
        )
        for v in (2, 3, 4, 5)
    ]
    parts.append(_y_axis(left, base, top_y, [1, 2, 3, 4, 5], "Score (1–5)"))
    parts.append(_month_axis(left, width - 10, base, height - 4))
    coords = [
        (round(left + i * step, 1), y(p["combined_on_five"]))
        for i, p in enumerate(points)
        if p["combined_on_five"] is not None
    ]
    if len(coords) > 1:
        parts.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"></polyline>',
                " ".join(f"{x},{yy}" for x, yy in coords),
                ACCENT,
            )
        )
    for i, p in enumerate(points):
        x = round(left + i * step, 1)
        if i % 2 == 0 or len(points) <= 6:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" class="chart-label" text-anchor="middle">{}</text>',
                    x,
                    base + 18,
                    f"{p['month']:%b}",
                )
            )
        if p["combined_on_five"] is not None:
            label = (
                f"{p['month']:%B %Y}: {p['combined_on_five']} of 5 "
                f"({p['feedback_responses']} feedback answer{pluralize(p['feedback_responses'])}, "
                f"{p['reviews']} review{pluralize(p['reviews'])})"
            )
            parts.append(
                _link(
                    reverse("reviews:index"),
                    label,
                    format_html(
                        '<circle cx="{}" cy="{}" r="5" fill="{}"></circle>'
                        '<text x="{}" y="{}" class="chart-value" text-anchor="middle">{}</text>',
                        x,
                        y(p["combined_on_five"]),
                        ACCENT,
                        x,
                        y(p["combined_on_five"]) - 9,
                        _num(float(p["combined_on_five"])),
                    ),
                )
            )
    summary = "Stakeholder satisfaction by month on a 1–5 scale: " + ", ".join(
        f"{p['month']:%b} {p['combined_on_five']}"
        for p in points
        if p["combined_on_five"] is not None
    )
    return Chart(
        "satisfaction",
        TITLES["satisfaction"],
        summary,
        _svg(width, height, summary, _join(parts)),
        [
            "Month",
            "Feedback average (0–10)",
            "Feedback answers",
            "Review overall (1–5)",
            "Reviews",
            "Combined (1–5)",
        ],
        [
            [
                f"{p['month']:%Y-%m}",
                p["feedback_average"],
                p["feedback_responses"],
                p["review_average"],
                p["reviews"],
                p["combined_on_five"],
            ]
            for p in points
        ],
        note="Feedback (0–10) is mapped onto the reviews' 1–5 scale (0 → 1, 10 → 5) and "
        "averaged with completed reviews' overall rating, weighted by the number of answers.",
    )


# --- Adoption -------------------------------------------------------------------------


def adoption_chart(figures: dict, filters: DashboardFilters) -> Chart:
    teams = figures["adoption"]
    width, row_h, label_w, legend_h = 600, 40, 140, 24
    usable = width - label_w - 60
    parts = [
        format_html(
            '<rect x="{}" y="4" width="12" height="12" fill="{}"></rect>'
            '<text x="{}" y="14" class="chart-label">Last 30 days</text>'
            '<rect x="{}" y="4" width="12" height="12" fill="{}"></rect>'
            '<text x="{}" y="14" class="chart-label">Last 90 days</text>',
            label_w,
            ACCENT,
            label_w + 16,
            label_w + 120,
            SECOND,
            label_w + 136,
        ),
        _x_axis(
            label_w,
            label_w + usable,
            max(1, len(teams)) * row_h + legend_h + 4,
            [0, 25, 50, 75, 100],
            "Active relationships contacted (%)",
        ),
    ]
    for i, t in enumerate(teams):
        y = i * row_h + 4 + legend_h
        for j, (key, colour) in enumerate((("share_30", ACCENT), ("share_90", SECOND))):
            share = t[key] or 0
            label = (
                f"{t['team']}: {share:.0f}% contacted in the last {30 if j == 0 else 90} days "
                f"({t['contacted_30' if j == 0 else 'contacted_90']} of {t['active']})"
            )
            bar = format_html(
                '<rect x="{}" y="{}" width="{}" height="14" fill="{}"></rect>'
                '<text x="{}" y="{}" class="chart-value">{}%</text>',
                label_w,
                y + j * 16,
                max(1, round(usable * share / 100)),
                colour,
                label_w + max(1, round(usable * share / 100)) + 4,
                y + j * 16 + 12,
                f"{share:.0f}",
            )
            params = {"sort": "last_contact"}
            if t["team_id"] is not None:
                params["team"] = t["team_id"]
            parts.append(_link(list_url(filters, **params), label, bar))
        parts.append(
            format_html('<text x="0" y="{}" class="chart-label">{}</text>', y + 20, t["team"][:22])
        )
    summary = "Share of active relationships contacted in the last 30 and 90 days, per team"
    return Chart(
        "adoption",
        TITLES["adoption"],
        summary,
        _svg(width, max(1, len(teams)) * row_h + legend_h + 46, summary, _join(parts)),
        [
            "Team",
            "Active",
            "Contacted in 30 days",
            "Share 30 days (%)",
            "Contacted in 90 days",
            "Share 90 days (%)",
            "Gone quiet",
        ],
        [
            [
                t["team"],
                t["active"],
                t["contacted_30"],
                t["share_30"],
                t["contacted_90"],
                t["share_90"],
                t["quiet"],
            ]
            for t in teams
        ],
        note="Bars open the team's relationships, longest without contact first.",
    )


def weekly_chart(figures: dict, filters: DashboardFilters) -> Chart:
    data = figures["weekly"]
    weeks, people = data["weeks"], data["people"]
    label_w, cell_w, cell_h, head = 150, 36, 20, 20  # head: the axis title's row
    width = label_w + cell_w * len(weeks) + 60
    height = cell_h * (len(people) + 1) + head + 8
    parts = [
        format_html(
            '<text x="{}" y="14" class="chart-label chart-axis-title" text-anchor="middle">'
            "Week starting (day/month)</text>"
            '<text x="0" y="{}" class="chart-label chart-axis-title">Person</text>'
            '<text x="{}" y="{}" class="chart-label chart-axis-title">Total</text>',
            label_w + cell_w * len(weeks) / 2,
            head + 14,
            label_w + cell_w * len(weeks) + 6,
            head + 14,
        ),
        *(
            format_html(
                '<text x="{}" y="{}" class="chart-label" text-anchor="middle">{}</text>',
                label_w + i * cell_w + cell_w / 2,
                head + 14,
                f"{week:%d/%m}",
            )
            for i, week in enumerate(weeks)
        ),
    ]
    top = data["max"] or 1
    for row, person in enumerate(people):
        y = (row + 1) * cell_h + head + 2
        parts.append(
            format_html(
                '<text x="0" y="{}" class="chart-label">{}</text>', y + 14, person["name"][:24]
            )
        )
        for i, count in enumerate(person["counts"]):
            opacity = round(0.15 + 0.85 * count / top, 2) if count else 1
            # The count is printed in its cell: the number, not the shade, carries the amount.
            # White on the darker cells (ACCENT is 4.5:1 on white), dark on the lighter.
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="{}">'
                    "<title>{}</title></rect>"
                    '<text x="{}" y="{}" class="chart-value{}" text-anchor="middle">{}</text>',
                    label_w + i * cell_w + 1,
                    y,
                    cell_w - 2,
                    cell_h - 2,
                    ACCENT if count else TRACK,
                    opacity,
                    f"{person['name']}, week of {weeks[i]:%d %b}: {count}",
                    label_w + i * cell_w + cell_w / 2,
                    y + 14,
                    " chart-value-inverse" if count and opacity >= 0.6 else "",
                    count,
                )
            )
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="chart-value">{}</text>',
                label_w + cell_w * len(weeks) + 6,
                y + 14,
                person["total"],
            )
        )
    summary = (
        f"Interactions logged per person per week, {len(people)} "
        f"{pluralize(len(people), 'person,people')} over 12 weeks"
    )
    note = "Darker cells: more interactions logged that week."
    if data["more_people"]:
        note += f" {data['more_people']} more people logged fewer (CSV has the top ones only)."
    return Chart(
        "weekly",
        TITLES["weekly"],
        summary,
        _svg(width, height, summary, _join(parts)),
        ["Person", *[f"{w:%Y-%m-%d}" for w in weeks], "Total", "Per week"],
        [[p["name"], *p["counts"], p["total"], p["per_week"]] for p in people],
        note=note,
    )


# Chart name → (builder, the selector figures it needs). The CSV view computes only those.
CHARTS: dict[str, tuple[Callable[[dict, DashboardFilters], Chart], tuple[str, ...]]] = {
    "funnel": (funnel_chart, ("portfolio",)),
    "health": (health_chart, ("portfolio",)),
    "value": (value_chart, ("value_trend",)),
    "map": (map_chart, ("map",)),
    "cascade": (cascade_chart, ("cascade",)),
    "satisfaction": (satisfaction_chart, ("satisfaction_trend",)),
    "adoption": (adoption_chart, ("adoption",)),
    "weekly": (weekly_chart, ("weekly",)),
}


def build_all(figures: dict, filters: DashboardFilters, csv_url: Callable[[str], str]) -> dict:
    """The charts whose figures were computed (deferred ones are missing)."""
    charts = {}
    for name, (builder, needs) in CHARTS.items():
        if all(key in figures for key in needs):
            chart = builder(figures, filters)
            chart.csv_url = csv_url(name)
            charts[name] = chart
    return charts


def figures_for(name: str, user, filters: DashboardFilters) -> dict:
    """Only what one chart needs (for its CSV download)."""
    needs = CHARTS[name][1]
    figures: dict = {}
    for key in needs:
        if key == "map":
            unit = selectors.value_summary(user, filters)["main_unit"]
            figures["map"] = selectors.stakeholder_map(user, filters, unit)
        else:
            figures[key] = {
                "portfolio": selectors.portfolio,
                "value_trend": selectors.value_trend,
                "cascade": selectors.objective_cascade,
                "satisfaction_trend": selectors.satisfaction_trend,
                "adoption": selectors.adoption_by_team,
                "weekly": selectors.interactions_per_week,
            }[key](user, filters)
    return figures


def figure_links(filters: DashboardFilters) -> dict[str, str]:
    """Where each headline figure leads: the matching filtered list."""
    return {
        "active": list_url(filters, status="active", sort="stage"),
        "health": list_url(filters, status="active", sort="health"),
        "quiet": list_url(filters, status="active", sort="last_contact"),
        "unmanaged": list_url(filters, status="active", manager="null"),
        "ended": list_url(filters, stage="ended"),
        "reviews": reverse("reviews:index"),
        "key": list_url(filters, sort="health"),
    }
