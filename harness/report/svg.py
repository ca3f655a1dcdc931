"""The few SVG pieces the report's charts are made of, written as text.

Charts are drawn directly as SVG rather than through a plotting library: a report with a
dozen charts renders in milliseconds, the output is deterministic byte for byte (verify
re-renders every report it checks), and the text stays text (searchable, selectable,
printed sharply). Every string that reaches the markup passes through ``escape``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Final

__all__ = ["FONT", "INK", "MUTED", "RULE", "BAND", "Scale", "document", "escape", "line", "nice_ticks",
           "num", "polyline", "rect", "text", "text_width"]

INK: Final = "#1f1f1f"
MUTED: Final = "#555b61"
RULE: Final = "#d0d0d0"
BAND: Final = "#f4f4f4"
FONT: Final = 12.5
"""Text size in the chart's own units: charts are drawn at the report's column width."""


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def num(x: float) -> str:
    """A coordinate with two decimals and no trailing zeros: short and deterministic."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_width(label: str, size: float = FONT) -> float:
    """A generous estimate of a sans-serif label's width (no font metrics are at hand)."""
    return len(label) * size * 0.6


class Scale:
    """A linear map from data values to chart coordinates."""

    def __init__(self, domain: tuple[float, float], span: tuple[float, float]) -> None:
        self.low, self.high = domain
        self.start, self.end = span

    def __call__(self, value: float) -> float:
        width = self.high - self.low or 1.0
        return self.start + (value - self.low) / width * (self.end - self.start)


def nice_ticks(low: float, high: float, *, count: int = 8) -> list[float]:
    """Round tick values within [low, high], at most about ``count`` (1, 2 or 5 times a power of 10)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    k = first
    while k * step <= high + 1e-9 * step:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


def line(x1: float, y1: float, x2: float, y2: float, *, stroke: str, width: float = 1.0,
         dash: str = "") -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" stroke="{stroke}" '
            f'stroke-width="{num(width)}"{extra}/>')


def rect(x: float, y: float, w: float, h: float, *, fill: str, stroke: str = "none") -> str:
    return f'<rect x="{num(x)}" y="{num(y)}" width="{num(w)}" height="{num(h)}" fill="{fill}" stroke="{stroke}"/>'


def polyline(points: Iterable[tuple[float, float]], *, stroke: str, width: float = 1.5, dash: str = "") -> str:
    coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline points="{coords}" fill="none" stroke="{stroke}" stroke-width="{num(width)}" '
            f'stroke-linejoin="round"{extra}/>')


def text(x: float, y: float, label: str, *, anchor: str = "start", size: float = FONT, fill: str = INK,
         weight: str = "", italic: bool = False, baseline: str = "middle") -> str:
    extra = f' font-weight="{weight}"' if weight else ""
    extra += ' font-style="italic"' if italic else ""
    return (f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" dominant-baseline="{baseline}" '
            f'font-size="{num(size)}" fill="{fill}"{extra}>{escape(label)}</text>')


def document(width: float, height: float, parts: Sequence[str], *, description: str, kind: str) -> str:
    """A complete inline ``<svg>``; ``kind`` names the chart for styles and for tests."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
            f'viewBox="0 0 {num(width)} {num(height)}" width="{num(width)}" height="{num(height)}" '
            f'aria-label="{escape(description)}" font-family="inherit">'
            + "".join(parts) + "</svg>")
