"""Server-rendered SVG charts: craving and mood over time, and simple labelled bars.

Lines differ by style (solid with circles, dashed with squares) and are named in a legend, so no
meaning rests on colour. Every chart also has a text alternative on its page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 260, 44, 44, 28, 36


def _x(i: int, n: int) -> float:
    return LEFT + (W - LEFT - RIGHT) * (i / max(n - 1, 1))


def _y(value: float, low: float, high: float) -> float:
    return TOP + (H - TOP - BOTTOM) * (1 - (value - low) / (high - low))


def craving_mood(check_ins: list[dict[str, Any]]) -> Markup:
    """``check_ins`` oldest first (as the API gives them), drawn left to right."""
    points = list(check_ins)
    n = len(points)
    craving = [(_x(i, n), _y(p["craving"], 0, 10)) for i, p in enumerate(points)]
    mood = [(_x(i, n), _y(p["mood"], 1, 5)) for i, p in enumerate(points)]
    parts = [f'<svg class="wp-chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-title">',
             '<title id="chart-title">Craving (0 to 10) and mood (1 to 5) at each check-in, oldest on the left</title>',
             '<rect x="0" y="0" width="100%" height="100%" fill="#fff"/>']
    for v in (0, 5, 10):
        y = _y(v, 0, 10)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dfe1e2"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12">{v}</text>')
    for v in (1, 3, 5):
        parts.append(f'<text x="{W - RIGHT + 8}" y="{_y(v, 1, 5) + 4:.1f}" font-size="12">{v}</text>')
    parts.append(f'<text x="{LEFT - 8}" y="16" text-anchor="end" font-size="12">craving</text>')
    parts.append(f'<text x="{W - RIGHT + 8}" y="16" font-size="12">mood</text>')
    if n:
        first, last = _day(points[0]), _day(points[-1])
        if first == last:  # all on one day: the times tell them apart
            first, last = _day(points[0], "%-d %b %H:%M"), _day(points[-1], "%H:%M")
        parts.append(f'<text x="{LEFT}" y="{H - 10}" font-size="12">{escape(first)}</text>')
        parts.append(f'<text x="{W - RIGHT}" y="{H - 10}" text-anchor="end" font-size="12">{escape(last)}</text>')
    parts.append(_line(craving, "#1a4480", ""))
    parts.append(_line(mood, "#936f38", 'stroke-dasharray="6 4"'))
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#1a4480"/>' for x, y in craving]
    parts += [f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="#936f38"/>' for x, y in mood]
    parts.append('<g font-size="12"><line x1="180" x2="210" y1="12" y2="12" stroke="#1a4480" stroke-width="2"/>'
                 '<text x="216" y="16">craving (solid, circles)</text>'
                 '<line x1="380" x2="410" y1="12" y2="12" stroke="#936f38" stroke-width="2" stroke-dasharray="6 4"/>'
                 '<text x="416" y="16">mood (dashed, squares)</text></g></svg>')
    return Markup("".join(parts))


def _line(points: list[tuple[float, float]], colour: str, extra: str) -> str:
    if len(points) < 2:
        return ""
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" {extra}/>'


def _day(point: dict[str, Any], pattern: str = "%-d %b") -> str:
    return datetime.fromisoformat(point["completed_at"]).strftime(pattern)


def bars(title: str, items: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, each labelled with its name and its number."""
    top = max([v for _, v in items] + [1])
    row, width, label_w = 30, 200, 140
    described = str(escape(f"{title}: " + ", ".join(f"{label} {value}" for label, value in items)))
    parts = [f'<svg class="wp-chart wp-bars" viewBox="0 0 {label_w + width + 50} {row * len(items) + 8}" '
             f'role="img" aria-label="{described}">']
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        length = max(2, width * value / top) if value else 0
        parts.append(f'<text x="0" y="{y + 18}" font-size="15">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{length:.0f}" height="20"/>')
        parts.append(f'<text x="{label_w + 6 + length:.0f}" y="{y + 18}" font-size="15" font-weight="700">'
                     f'{value}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
