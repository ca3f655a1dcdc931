"""One chart per requirement, embedded in the HTML report as inline SVG.

Each group is a row: the point estimate is a dot, the confidence interval a horizontal
bar, the threshold a dashed vertical line (the dual rule draws its bound's goal as a
second, dotted line), and the status is written out at the right of the row, so no finding
depends on colour alone. Groups excluded from a ratio are drawn hollow and labelled.
Missing values draw nothing and read "n/a".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from harness.report import formatting as fmt
from harness.report import svg
from harness.report.view import GroupRow, RequirementView

__all__ = ["NEUTRAL_COLOURS", "STATUS_COLOURS", "WIDTH", "requirement_chart"]

STATUS_COLOURS: Final[dict[str, tuple[str, str]]] = {
    # status: (mark colour, text colour dark enough to read on white)
    "pass": ("#2e7d32", "#1b5e20"),
    "fail": ("#c62828", "#a11d1d"),
    "flag": ("#ef6c00", "#a84b00"),
    "inconclusive": ("#5c7a99", "#3f5a78"),
    "insufficient_data": ("#c4c4c4", "#616161"),
    "reported": ("#5f6368", "#3c4043"),
}
NEUTRAL_COLOURS: Final = ("#5f6368", "#3c4043")
"""For a status outside the known set."""
WIDTH: Final = 860.0
"""The report's text column, so chart text matches body text."""
_ROW: Final = 26.0
_TOP: Final = 34.0  # room for the goals' labels
_AXIS: Final = 44.0
_STATUS: Final = 120.0

# A slot is a chart row: a family heading (no data) or a group.
_Slot = tuple[str, GroupRow | None]


def requirement_chart(requirement: RequirementView, *, ci_label: str) -> str:
    """The requirement's chart as an inline ``<svg>`` element, or "" if it has no groups."""
    if not requirement.rows:
        return ""
    slots = _slots(requirement.rows)
    left = min(max(svg.text_width(label) for label, _ in slots) + 16, 300.0)
    x = svg.Scale(_x_limits(requirement), (left, WIDTH - _STATUS))
    height = _TOP + _ROW * len(slots) + _AXIS
    parts = [*_bands(slots), *_axis(x, height, f"{requirement.metric}: estimate and {ci_label}")]
    for i, (label, row) in enumerate(slots):
        parts += _row(label, row, x=x, y=_TOP + _ROW * (i + 0.5))
    parts += _goals(requirement, x=x, bottom=height - _AXIS)
    description = (
        f"Chart of {requirement.metric} by group for requirement {requirement.id}: "
        f"point estimates with {ci_label}, threshold {requirement.threshold_text}. "
        "The table below gives every value and status."
    )
    return svg.document(WIDTH, height, parts, description=description, kind="intervals")


def _slots(rows: Sequence[GroupRow]) -> list[_Slot]:
    """Group rows in order, under a family heading when a requirement spans several.

    The overall row needs no heading: its label already says "overall".
    """
    families = list(dict.fromkeys(row.family for row in rows))
    slots: list[_Slot] = []
    for family in families:
        if len(families) > 1 and family != "overall":
            slots.append((family, None))
        for row in rows:
            if row.family == family:
                slots.append((_group_label(row), row))
    return slots


def _group_label(row: GroupRow) -> str:
    name = "overall" if row.family == "overall" else row.group_text
    return f"{name} · {fmt.EXCLUDED_LABEL}" if row.excluded else name


def _x_limits(requirement: RequirementView) -> tuple[float, float]:
    """Fit every estimate, interval and goal; stay within [0, 1] when the data do."""
    values = [v for r in requirement.rows for v in (r.value, r.ci_low, r.ci_high)]
    values += [*requirement.thresholds, *requirement.bound_goals]
    finite = [v for v in values if not fmt.is_missing(v) and math.isfinite(v)] or [0.0, 1.0]
    low, high = min(finite), max(finite)
    pad = max(high - low, 0.1) * 0.08
    low, high = low - pad, high + pad
    if min(finite) >= 0.0:
        low = max(low, 0.0)
    if max(finite) <= 1.0 and min(finite) >= 0.0:
        high = min(high, 1.0)
    return low, high


def _bands(slots: Sequence[_Slot]) -> list[str]:
    """Every other group row shaded, so a row's label, marks and status read as one line."""
    rows = [i for i, (_, row) in enumerate(slots) if row is not None]
    return [svg.rect(0, _TOP + _ROW * i, WIDTH, _ROW, fill=svg.BAND) for i in rows[1::2]]


def _axis(x: svg.Scale, height: float, label: str) -> list[str]:
    bottom = height - _AXIS
    parts = []
    for tick in svg.nice_ticks(x.low, x.high):
        px = x(tick)
        parts.append(svg.line(px, _TOP, px, bottom, stroke=svg.RULE, width=0.7))
        parts.append(svg.text(px, bottom + 13, f"{tick:g}", anchor="middle"))
    parts.append(svg.line(x.start, bottom, x.end, bottom, stroke="#8a8a8a"))
    parts.append(svg.text((x.start + x.end) / 2, bottom + 33, label, anchor="middle"))
    parts.append(svg.text(x.end + 14, _TOP - 8, "Status", weight="bold"))
    return parts


def _row(label: str, row: GroupRow | None, *, x: svg.Scale, y: float) -> list[str]:
    if row is None:
        return [svg.text(8, y, label, weight="bold")]
    mark, colour = STATUS_COLOURS.get(row.status, NEUTRAL_COLOURS)
    parts = [svg.text(x.start - 10, y, label, anchor="end")]
    if not (fmt.is_missing(row.ci_low) or fmt.is_missing(row.ci_high)):
        lo, hi = x(row.ci_low), x(row.ci_high)
        parts.append(svg.line(lo, y, hi, y, stroke=mark, width=2.4))
        parts += [svg.line(end, y - 5, end, y + 5, stroke=mark, width=1.2) for end in (lo, hi)]
    if fmt.is_missing(row.value):
        parts.append(svg.text(x.start + 4, y, fmt.MISSING, fill="#616161", italic=True))
    else:
        edge = "#757575" if row.status == "insufficient_data" else mark
        fill = "#ffffff" if row.excluded else mark
        parts.append(f'<circle cx="{svg.num(x(row.value))}" cy="{svg.num(y)}" r="4.6" fill="{fill}" '
                     f'stroke="{edge}" stroke-width="1.6"/>')
    parts.append(svg.text(x.end + 14, y, row.status_label or fmt.NOT_APPLICABLE, fill=colour,
                          weight="bold" if row.status == "fail" else ""))
    return parts


def _goals(requirement: RequirementView, *, x: svg.Scale, bottom: float) -> list[str]:
    """The threshold (the point estimate's goal) dashed; the dual rule's bound goal dotted.

    With two goals, each label sits on the outer side of its line, so they never overlap.
    """
    single = len(requirement.thresholds) == 1
    if requirement.rule != "dual" or not requirement.bound_goals:
        return [part for threshold in requirement.thresholds for part in _goal_line(
            x(threshold), bottom, f"threshold {requirement.threshold_text if single else fmt.proportion(threshold)}",
            dash="5 3", side="middle")]
    goals = [(t, f"goal {fmt.proportion(t)}", "5 3") for t in requirement.thresholds]
    goals += [(b, f"bound's goal {fmt.proportion(b)}", "1.5 2.5") for b in requirement.bound_goals]
    middle = sum(value for value, _, _ in goals) / len(goals)
    return [part for value, label, dash in goals
            for part in _goal_line(x(value), bottom, label, dash=dash, side="end" if value < middle else "start")]


def _goal_line(px: float, bottom: float, label: str, *, dash: str, side: str) -> list[str]:
    """A goal's line and its label, kept out of the status column (raised a line when moved)."""
    y = _TOP - 14
    width, limit = svg.text_width(label, 11.5), WIDTH - _STATUS
    if side == "middle" and px + width / 2 > limit:
        side = "end"
    elif side == "start" and px + 4 + width > limit:
        side, y = "end", y - 12
    tx = px - 4 if side == "end" else px + 4 if side == "start" else px
    return [svg.line(px, y + 7, px, bottom, stroke=svg.INK, width=1.1, dash=dash),
            svg.text(tx, y, label, anchor=side, size=11.5)]
