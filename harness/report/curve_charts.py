"""ROC curves, reliability diagrams and confusion matrices per group, as inline SVG.

ROC curves of a family share one square plot, so groups compare at a glance; each is
named in the legend with its AUROC and interval. Reliability diagrams and confusion
matrices are small multiples, one panel per group on shared scales: a reliability panel
marks each of the ECE's bins at (mean score, observed rate) with its distance from the
diagonal drawn in, the quantity the ECE averages; a confusion panel shades each cell by
its share of the actual class's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from harness.labels import Labels, group_text
from harness.report import formatting as fmt
from harness.report import svg
from harness.report.figures import GroupCurves, RequirementFigure
from harness.report.view import GroupRow, RequirementView

__all__ = ["figure_chart"]

_WIDTH: Final = 860.0
# Okabe and Ito's colour-blind safe palette, then the same hues dashed.
_PALETTE: Final = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442")
_PANEL: Final = 168.0
_PER_ROW: Final = 5


def figure_chart(requirement: RequirementView, figure: RequirementFigure, *, ci_label: str,
                 labels: Labels | None) -> str:
    """The requirement's figure as inline ``<svg>``; "" when no group has data to draw."""
    rows = {(r.family, r.group): r for r in requirement.rows}
    groups = [g for g in figure.groups if _has_data(g, figure.kind)]
    if not groups:
        return ""
    if figure.kind == "roc":
        return _roc(requirement, groups, rows, ci_label=ci_label, labels=labels)
    if figure.kind == "reliability":
        return _panels(requirement, groups, rows, labels=labels, kind="reliability")
    return _panels(requirement, groups, rows, labels=labels, kind="confusion")


def _has_data(g: GroupCurves, kind: str) -> bool:
    if kind == "roc":
        return g.roc is not None
    if kind == "reliability":
        return bool(g.reliability)
    return sum(g.confusion) > 0


def _name(g: GroupCurves, labels: Labels | None) -> str:
    return "overall" if g.family == "overall" else group_text(g.family, g.group, labels)


def _thin(xs: np.ndarray, ys: np.ndarray, *, resolution: float) -> list[tuple[float, float]]:
    """The first point in each ``resolution``-sized cell the curve enters, and the last point.

    A curve of 10,000 points draws as at most a few hundred, within ``resolution`` chart units
    of the full one: the shape on screen and on paper is the same.
    """
    qx, qy = np.round(xs / resolution), np.round(ys / resolution)
    keep = np.concatenate([[True], (np.diff(qx) != 0) | (np.diff(qy) != 0)])
    keep[-1] = True
    return list(zip(xs[keep].tolist(), ys[keep].tolist()))


def _roc(requirement: RequirementView, groups: Sequence[GroupCurves], rows: dict[tuple[str, str], GroupRow], *,
         ci_label: str, labels: Labels | None) -> str:
    size, left, top = 300.0, 56.0, 14.0
    x = svg.Scale((0.0, 1.0), (left, left + size))
    y = svg.Scale((0.0, 1.0), (top + size, top))
    parts = _square_axes(x, y, xlabel="false positive rate", ylabel="true positive rate")
    parts.append(svg.line(x(0), y(0), x(1), y(1), stroke="#9e9e9e", dash="2 3"))
    legend_x, legend_y = left + size + 36, top + 8
    parts.append(svg.text(legend_x, legend_y, f"Group: {requirement.metric} ({ci_label})", weight="bold"))
    for i, g in enumerate(groups):
        colour, dash = _PALETTE[i % len(_PALETTE)], "" if i < len(_PALETTE) else "6 3"
        if g.roc is None:  # left out by _has_data already; this tells the type checker
            continue
        points = _thin(x(g.roc.fpr), y(g.roc.tpr), resolution=0.6)
        parts.append(svg.polyline(points, stroke=colour, width=1.8, dash=dash))
        ly = legend_y + 20 * (i + 1)
        parts.append(svg.line(legend_x, ly, legend_x + 22, ly, stroke=colour, width=2.4, dash=dash))
        row = rows.get((g.family, g.group))
        value = f"{row.value_text} ({row.ci_text})" if row else fmt.MISSING
        parts.append(svg.text(legend_x + 30, ly, f"{_name(g, labels)}: {value}"))
    height = max(top + size + 46, legend_y + 20 * (len(groups) + 1) + 8)
    description = (f"ROC curves by group for requirement {requirement.id}, with each group's "
                   f"{requirement.metric} and {ci_label} in the legend.")
    return svg.document(_WIDTH, height, parts, description=description, kind="roc")


def _square_axes(x: svg.Scale, y: svg.Scale, *, xlabel: str, ylabel: str, size: float = svg.FONT,
                 ticks: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)) -> list[str]:
    parts = [svg.rect(x.start, y.end, x.end - x.start, y.start - y.end, fill="none", stroke="#8a8a8a")]
    for t in ticks:
        parts.append(svg.line(x(t), y.start, x(t), y.end, stroke=svg.RULE, width=0.6))
        parts.append(svg.line(x.start, y(t), x.end, y(t), stroke=svg.RULE, width=0.6))
        parts.append(svg.text(x(t), y.start + size, f"{t:g}", anchor="middle", size=size))
        parts.append(svg.text(x.start - 5, y(t), f"{t:g}", anchor="end", size=size))
    if xlabel:
        parts.append(svg.text((x.start + x.end) / 2, y.start + 2.4 * size, xlabel, anchor="middle", size=size))
    if ylabel:
        cx, cy = x.start - 3.2 * size, (y.start + y.end) / 2
        parts.append(f'<g transform="rotate(-90 {svg.num(cx)} {svg.num(cy)})">'
                     + svg.text(cx, cy, ylabel, anchor="middle", size=size) + "</g>")
    return parts


def _panels(requirement: RequirementView, groups: Sequence[GroupCurves], rows: dict[tuple[str, str], GroupRow],
            *, labels: Labels | None, kind: str) -> str:
    draw = _reliability_panel if kind == "reliability" else _confusion_panel
    height_of = 214.0 if kind == "reliability" else 176.0
    parts = []
    for i, g in enumerate(groups):
        ox, oy = (i % _PER_ROW) * (_PANEL + 4), (i // _PER_ROW) * height_of
        title = _name(g, labels)
        limit = int(_PANEL / (11.5 * 0.6))
        parts.append(svg.text(ox + 6, oy + 10, title if len(title) <= limit else title[:limit - 1] + "…",
                              weight="bold", size=11.5))
        parts.append(f'<g transform="translate({svg.num(ox)} {svg.num(oy + 20)})">' + "".join(
            draw(g, rows.get((g.family, g.group)))) + "</g>")
    rows_used = (len(groups) + _PER_ROW - 1) // _PER_ROW
    what = "Reliability diagrams" if kind == "reliability" else "Confusion matrices"
    description = f"{what} by group for requirement {requirement.id}; the table below gives every value."
    return svg.document(_WIDTH, rows_used * height_of, parts, description=description, kind=kind)


def _reliability_panel(g: GroupCurves, row: GroupRow | None) -> list[str]:
    small = 10.5
    x = svg.Scale((0.0, 1.0), (30.0, _PANEL - 8))
    y = svg.Scale((0.0, 1.0), (150.0, 20.0))
    parts = [svg.line(x(b / 10), y(0), x(b / 10), y(1), stroke=svg.RULE, width=0.6) for b in range(1, 10)]
    parts += _square_axes(x, y, xlabel="mean score (10 bins)", ylabel="", size=small, ticks=(0.0, 0.5, 1.0))
    parts.append(svg.line(x(0), y(0), x(1), y(1), stroke="#9e9e9e", dash="2 3"))
    value = f"{row.metric} {row.value_text}" if row else ""
    parts.append(svg.text(x.start, 8, value, size=small, fill=svg.MUTED))
    points = [(x(b.mean_score), y(b.observed)) for b in g.reliability]
    for b, (px, py) in zip(g.reliability, points):
        parts.append(svg.line(px, py, px, y(b.mean_score), stroke="#c62828", width=1.2))
    parts.append(svg.polyline(points, stroke=_PALETTE[0], width=1.4))
    parts += [f'<circle cx="{svg.num(px)}" cy="{svg.num(py)}" r="2.8" fill="{_PALETTE[0]}"/>' for px, py in points]
    return parts


def _confusion_panel(g: GroupCurves, row: GroupRow | None) -> list[str]:
    tn, fp, fn, tp = g.confusion
    cell, left, top = 56.0, 52.0, 16.0
    parts = [svg.text(left + cell / 2, top - 6, "decided 0", anchor="middle", size=10.5, fill=svg.MUTED),
             svg.text(left + 1.5 * cell, top - 6, "decided 1", anchor="middle", size=10.5, fill=svg.MUTED)]
    for r, (label, cells) in enumerate((("actual 0", (tn, fp)), ("actual 1", (fn, tp)))):
        total = sum(cells)
        cy = top + cell * (r + 0.5)
        parts.append(svg.text(left - 4, cy, label, anchor="end", size=10.5, fill=svg.MUTED))
        for c, value in enumerate(cells):
            share = value / total if total else 0.0
            correct = r == c
            shade = _shade(share, correct=correct)
            parts.append(svg.rect(left + c * cell, top + r * cell, cell, cell, fill=shade, stroke="#ffffff"))
            ink = "#ffffff" if share > 0.55 else svg.INK
            parts.append(svg.text(left + (c + 0.5) * cell, cy - 7, _compact(value), anchor="middle", size=12,
                                  fill=ink, weight="bold"))
            parts.append(svg.text(left + (c + 0.5) * cell, cy + 9, f"{share:.0%}", anchor="middle", size=10.5,
                                  fill=ink))
    return parts


def _compact(value: float) -> str:
    """A count that fits its cell: 9,876, then 13.8k, then 2.99M (the table gives exact numbers)."""
    if value < 10_000:
        return f"{value:,.0f}"
    if value < 999_950:
        return f"{value / 1e3:.1f}k"
    return f"{value / 1e6:.2f}M"


def _shade(share: float, *, correct: bool) -> str:
    """Blue for the correct cells, orange for the errors, darker for a larger share of the row."""
    base = (0x1f, 0x5f, 0x99) if correct else (0xc4, 0x5a, 0x00)
    mix = 0.12 + 0.78 * max(0.0, min(1.0, share))
    rgb = (round(255 + (b - 255) * mix) for b in base)
    return "#" + "".join(f"{v:02x}" for v in rgb)
