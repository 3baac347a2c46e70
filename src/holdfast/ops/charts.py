"""Inline SVG charts for the operator's report: bars (with a threshold line or an
expected band) and lines. Pure functions from numbers to SVG text; every label is
escaped, so text from the data cannot inject markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 20, 30, 70
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _frame(name: str, title: str, body: list[str], y_max: float, legend: list[str]) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" data-chart="{escape(name)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="18" class="chart-title">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="#9ca3af"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#9ca3af"/>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(_fmt(value))}</text>"
        )
        if i:
            parts.append(
                f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                'stroke="#e5e7eb"/>'
            )
    parts.extend(body)
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)


def empty_chart(name: str, title: str, note: str = "no data yet") -> str:
    """A chart frame that says why it is empty."""
    return (
        f'<svg class="chart" data-chart="{escape(name)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} 80" width="{WIDTH}" height="80" role="img">'
        f'<text x="{LEFT}" y="18" class="chart-title">{escape(title)}</text>'
        f'<text x="{LEFT}" y="50" class="tick">{escape(note)}</text></svg>'
    )


def _x_label(x: float, label: str) -> str:
    short = label if len(label) <= 18 else label[:17] + "…"
    y = HEIGHT - BOTTOM + 12
    return (
        f'<text x="{x:.1f}" y="{y}" class="tick" text-anchor="end" '
        f'transform="rotate(-35 {x:.1f} {y})">{escape(short)}</text>'
    )


def bar_chart(
    name: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    threshold: float | None = None,
    threshold_label: str = "",
    bands: Sequence[tuple[float, float] | None] | None = None,
    highlight: Sequence[bool] | None = None,
) -> str:
    """Vertical bars; an optional horizontal threshold line and a per-bar expected band."""
    if not values:
        return empty_chart(name, title)
    tops = [*values, threshold or 0, *[(b[1] if b else 0) for b in (bands or [])]]
    y_max = (max(tops) or 1.0) * 1.1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(values)
    bar_w = max(step * 0.7, 1.0)
    body: list[str] = []

    def y_of(v: float) -> float:
        return TOP + plot_h - plot_h * max(v, 0) / y_max

    for i, value in enumerate(values):
        x = LEFT + i * step + (step - bar_w) / 2
        band = bands[i] if bands else None
        if band:
            body.append(
                f'<rect class="band" x="{x - 2:.1f}" y="{y_of(band[1]):.1f}" '
                f'width="{bar_w + 4:.1f}" height="{y_of(band[0]) - y_of(band[1]):.1f}" '
                'fill="#bbf7d0" opacity="0.7"/>'
            )
        color = "#dc2626" if highlight and highlight[i] else PALETTE[0]
        body.append(
            f'<rect class="bar" x="{x:.1f}" y="{y_of(value):.1f}" width="{bar_w:.1f}" '
            f'height="{TOP + plot_h - y_of(value):.1f}" fill="{color}">'
            f"<title>{escape(labels[i])}: {escape(_fmt(value))}</title></rect>"
        )
        if len(values) <= 40:
            body.append(_x_label(x + bar_w / 2, labels[i]))
    legend = []
    if threshold is not None:
        y = y_of(threshold)
        body.append(
            f'<line class="threshold" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
            f'y2="{y:.1f}" stroke="#dc2626" stroke-dasharray="6 4"/>'
        )
        legend.append(
            f'<text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end" class="tick" '
            f'fill="#dc2626">{escape(threshold_label)}</text>'
        )
    return _frame(name, title, body, y_max, legend)


def line_chart(
    name: str,
    title: str,
    x_labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    thresholds: Sequence[tuple[float, str]] = (),
) -> str:
    """One polyline per series over shared x labels (None = no point)."""
    points = [v for values in series.values() for v in values if v is not None]
    if not points or not x_labels:
        return empty_chart(name, title)
    y_max = (max([*points, *[t for t, _ in thresholds]]) or 1.0) * 1.1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(x_labels) - 1, 1)
    body: list[str] = []

    def xy(i: int, v: float) -> tuple[float, float]:
        x = LEFT + (i * step if len(x_labels) > 1 else plot_w / 2)
        return x, TOP + plot_h - plot_h * max(v, 0) / y_max

    legend: list[str] = []
    for k, (label, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        coords = [xy(i, v) for i, v in enumerate(values) if v is not None]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            body.append(
                f'<polyline class="series" points="{path}" fill="none" stroke="{color}" '
                'stroke-width="2"/>'
            )
        for x, y in coords:
            body.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
        lx = LEFT + 10 + (k % 4) * 140
        ly = HEIGHT - 10 - 14 * (k // 4)
        legend.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{ly}" class="tick">{escape(label[:20])}</text>'
        )
    for value, label in thresholds:
        _, y = xy(0, value)
        body.append(
            f'<line class="threshold" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
            f'y2="{y:.1f}" stroke="#dc2626" stroke-dasharray="6 4"/>'
            f'<text x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end" class="tick" '
            f'fill="#dc2626">{escape(label)}</text>'
        )
    n = len(x_labels)
    for i, label in enumerate(x_labels):
        if n <= 12 or i % max(n // 12, 1) == 0:
            body.append(_x_label(xy(i, 0)[0], label))
    return _frame(name, title, body, y_max, legend)
