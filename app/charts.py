"""Charts drawn on the server as SVG: turnout, accounts, the fund, statistics.

No JavaScript library and nothing inline for the CSP to refuse: each chart is an ``<svg>`` with
presentation attributes, inside a ``<figure>`` that also carries the figures as a table (for
screen readers, for copying, and for phones too narrow for the drawing). Templates call them as
``{{ charts.bar_chart(...) }}``; numbers may be ``int``, ``Decimal`` or ``Fraction`` — geometry
uses floats, every printed figure uses the exact value through ``fmt``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

Number = int | Decimal | Fraction | float

#: Colours that stay apart for the common kinds of colour blindness (Okabe–Ito), red first.
PALETTE = ("#b4322a", "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
           "#6b6b6b")
WIDTH = 640
LABEL_WIDTH = 190
ROW_HEIGHT = 30


@dataclass(frozen=True)
class Series:
    """One line of a line chart: a name and a value per label (None: no figure there)."""

    name: str
    values: Sequence[Number | None]


@dataclass(frozen=True)
class Threshold:
    """A bar the figures are measured against, drawn as a dashed line (e.g. 2/3 of the area)."""

    value: Number
    label: str


def default_fmt(value: Number) -> str:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    if isinstance(value, Decimal | float):
        return format_decimal(value, format="#,##0.##")
    return format_decimal(value)


def bar_chart(
    items: Sequence[tuple[str, Number]], *, title: str, unit: str = "",
    max_value: Number | None = None, threshold: Threshold | None = None,
    fmt: Callable[[Number], str] = default_fmt,
) -> Markup:
    """Horizontal bars, one per ``(label, value)``: long Chinese labels fit, phones scroll less."""
    items = list(items)
    top = float(max_value) if max_value is not None else max(
        [float(v) for _, v in items] + [float(threshold.value) if threshold else 0.0, 0.0])
    top = top or 1.0
    plot = WIDTH - LABEL_WIDTH - 80
    height = ROW_HEIGHT * max(len(items), 1) + 28
    parts = [_svg_open(WIDTH, height, title)]
    colour = PALETTE[0]
    for row, (label, value) in enumerate(items):
        y = 10 + row * ROW_HEIGHT
        length = max(0.0, min(float(value), top)) / top * plot
        shown = f"{fmt(value)}{unit}"
        parts.append(
            f'<g><title>{escape(label)}: {escape(shown)}</title>'
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" font-size="13" '
            f'fill="#1f2328">{escape(_clip(label, 15))}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{ROW_HEIGHT - 10}" '
            f'rx="3" fill="{colour}"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}" font-size="13" '
            f'fill="#1f2328">{escape(shown)}</text></g>'
        )
    if threshold is not None:
        x = LABEL_WIDTH + min(float(threshold.value), top) / top * plot
        parts.append(
            f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{height - 18}" stroke="#1f2328" '
            f'stroke-width="1.5" stroke-dasharray="5 4"/>'
            f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" font-size="12" '
            f'fill="#1f2328">{escape(threshold.label)}</text>'
        )
    parts.append("</svg>")
    rows = [(label, f"{fmt(value)}{unit}") for label, value in items]
    return _figure("".join(parts), title, [_("Item"), _("Figure")], rows)


def line_chart(
    labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
    fmt: Callable[[Number], str] = default_fmt,
) -> Markup:
    """A trend over ``labels`` (periods, days, hours), one line per series, with a legend."""
    labels = list(labels)
    values = [float(v) for s in series for v in s.values if v is not None]
    low, high = _nice_range(min(values, default=0.0), max(values, default=1.0))
    left, right, top_pad, bottom = 64, 16, 12, 52 + 18 * math.ceil(len(series) / 3)
    height = 260
    plot_w, plot_h = WIDTH - left - right, height - top_pad - bottom
    step = plot_w / max(len(labels) - 1, 1)

    def x_at(i: int) -> float:
        return left + i * step

    def y_at(v: float) -> float:
        return top_pad + plot_h - (v - low) / (high - low) * plot_h

    parts = [_svg_open(WIDTH, height, title)]
    for tick in _ticks(low, high):
        y = y_at(tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" '
            f'stroke="#d8dee4"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#59636e">{escape(fmt(_tick_number(tick)))}</text>'
        )
    every = max(1, math.ceil(len(labels) / 8))
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{x_at(i):.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" '
                f'font-size="11" fill="#59636e">{escape(_clip(label, 10))}</text>'
            )
    for n, (s, colour) in enumerate(zip(series, itertools.cycle(PALETTE))):
        points = [(x_at(i), y_at(float(v))) for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                         f'stroke-width="2.5"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>'
                     for x, y in points)
        lx = left + (n % 3) * (plot_w / 3)
        ly = top_pad + plot_h + 36 + (n // 3) * 18
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - 9}" width="14" height="4" fill="{colour}"/>'
            f'<text x="{lx + 20:.1f}" y="{ly - 3}" font-size="12" fill="#1f2328">'
            f'{escape(_clip(s.name, 16))}</text>'
        )
    parts.append("</svg>")
    rows = [
        (label, *[("" if s.values[i] is None else f"{fmt(s.values[i])}{unit}") for s in series])
        for i, label in enumerate(labels)
    ]
    return _figure("".join(parts), title, ["", *[s.name for s in series]], rows)


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg class="chart-svg" viewBox="0 0 {width} {height}" role="img" '
            f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
            f'<title>{escape(title)}</title>')


def _figure(svg: str, title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Markup:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    num = ' class="num"'
    body = "".join(
        "<tr>" + "".join(
            f"<td{'' if i == 0 else num}>{escape(cell)}</td>" for i, cell in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    figures = _("Figures")
    # Every piece of text above went through escape(); the rest is our own markup.
    return Markup(  # noqa: S704
        f'<figure class="chart"><figcaption>{escape(title)}</figcaption>{svg}'
        f'<details><summary>{escape(figures)}</summary><div class="table-wrap"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></details></figure>"
    )


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _nice_range(low: float, high: float) -> tuple[float, float]:
    low = min(low, 0.0)
    if high <= low:
        high = low + 1.0
    magnitude = 10 ** math.floor(math.log10(high - low))
    step = next(m * magnitude / 10 for m in (1, 2, 2.5, 5, 10, 20, 25, 50, 100)
                if (high - low) / (m * magnitude / 10) <= 5)
    return math.floor(low / step) * step, math.ceil(high / step) * step


def _ticks(low: float, high: float) -> list[float]:
    step = (high - low) / 5
    return [low + i * step for i in range(6)]


def _tick_number(value: float) -> Number:
    return int(value) if float(value).is_integer() else Decimal(str(round(value, 2)))
