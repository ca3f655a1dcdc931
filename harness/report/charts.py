"""One chart per requirement, embedded in the HTML report as inline SVG.

Each group is a row: the point estimate is a dot, the confidence interval a horizontal
bar, the threshold a dashed vertical line, and the status is written out at the right
of the row, so no finding depends on colour alone. Groups excluded from a ratio are
drawn hollow and labelled. Missing values draw nothing and read "n/a".

Figures are built with ``matplotlib.figure.Figure`` and never registered with pyplot, so
rendering a report leaves no open figures and needs no display backend. The SVG output is
deterministic: ids are salted with the requirement's anchor, which also keeps them unique
when several charts share one HTML document.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from harness.report import formatting as fmt
from harness.report.view import GroupRow, RequirementView

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn, not with the package
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["NEUTRAL_COLOURS", "STATUS_COLOURS", "requirement_chart"]

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
_INK: Final = "#1f1f1f"
_RULE: Final = "#d0d0d0"
_BAND: Final = "#f4f4f4"
_FONT_SIZE: Final = 9.5
_WIDTH_IN: Final = 8.9  # the HTML report's text column at 96 dpi, so chart text matches body text
_ROW_IN: Final = 0.3

# A slot is a chart row: a family heading (no data) or a group.
_Slot = tuple[str, GroupRow | None]


def requirement_chart(requirement: RequirementView, *, ci_label: str) -> str:
    """The requirement's chart as an inline ``<svg>`` element, or "" if it has no groups.

    A chart is a pure function of its view, and verify re-renders every report it checks,
    so charts are cached by the view's ``repr`` (exact: it tells -0.0 from 0.0, and NaN
    from NaN compares equal there).
    """
    if not requirement.rows:
        return ""
    return _cached_chart(repr(requirement), requirement, ci_label)


def _cached_chart(key: str, requirement: RequirementView, ci_label: str) -> str:
    cached = _CHARTS.get((key, ci_label))
    if cached is None:
        cached = _render_chart(requirement, ci_label=ci_label)
        if len(_CHARTS) >= _CHART_CACHE:
            _CHARTS.pop(next(iter(_CHARTS)))
        _CHARTS[(key, ci_label)] = cached
    return cached


_CHARTS: dict[tuple[str, str], str] = {}
_CHART_CACHE: Final = 128


def _render_chart(requirement: RequirementView, *, ci_label: str) -> str:
    from matplotlib.figure import Figure

    slots = _slots(requirement.rows)
    height = 0.75 + _ROW_IN * len(slots)
    fig = Figure(figsize=(_WIDTH_IN, height), layout="constrained")
    ax = fig.add_subplot()
    xlim = _x_limits(requirement)
    _style_axes(ax, slots, xlim=xlim, xlabel=f"{requirement.metric}: estimate and {ci_label}")
    for y, (_, row) in enumerate(slots):
        if row is not None:
            _draw_row(ax, row, y=y, xlim=xlim)
    _draw_thresholds(ax, requirement)
    description = (
        f"Chart of {requirement.metric} by group for requirement {requirement.id}: "
        f"point estimates with {ci_label}, threshold {requirement.threshold_text}. "
        "The table below gives every value and status."
    )
    return _inline_svg(fig, salt=requirement.anchor, description=description)


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
    name = "overall" if row.family == "overall" else row.group
    return f"{name} · {fmt.EXCLUDED_LABEL}" if row.excluded else name


def _x_limits(requirement: RequirementView) -> tuple[float, float]:
    """Fit every estimate, interval and threshold; stay within [0, 1] when the data do."""
    values = [v for r in requirement.rows for v in (r.value, r.ci_low, r.ci_high)]
    values += requirement.thresholds
    finite = [v for v in values if not fmt.is_missing(v) and math.isfinite(v)] or [0.0, 1.0]
    low, high = min(finite), max(finite)
    pad = max(high - low, 0.1) * 0.08
    low, high = low - pad, high + pad
    if min(finite) >= 0.0:
        low = max(low, 0.0)
    if max(finite) <= 1.0 and min(finite) >= 0.0:
        high = min(high, 1.0)
    return low, high


def _style_axes(
    ax: Axes, slots: Sequence[_Slot], *, xlim: tuple[float, float], xlabel: str
) -> None:
    ax.set_xlim(*xlim)
    ax.set_ylim(len(slots) - 0.5, -0.5)
    ax.set_yticks(range(len(slots)), [label for label, _ in slots], fontsize=_FONT_SIZE)
    for tick, (_, row) in zip(ax.get_yticklabels(), slots):
        tick.set_fontweight("bold" if row is None else "normal")
        tick.set_color(_INK)
    ax.tick_params(axis="y", length=0, pad=6)
    ax.tick_params(axis="x", labelsize=_FONT_SIZE, colors=_INK)
    ax.set_xlabel(xlabel, fontsize=_FONT_SIZE, color=_INK)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#8a8a8a")
    ax.grid(axis="x", color=_RULE, linewidth=0.6)
    ax.set_axisbelow(True)
    group_rows = [y for y, (_, row) in enumerate(slots) if row is not None]
    for y in group_rows[1::2]:
        ax.axhspan(y - 0.5, y + 0.5, color=_BAND, zorder=0, linewidth=0)
    ax.text(1.02, -0.5, "Status", transform=ax.get_yaxis_transform(), ha="left",
            va="bottom", fontsize=_FONT_SIZE, fontweight="bold", color=_INK)


def _draw_row(ax: Axes, row: GroupRow, *, y: int, xlim: tuple[float, float]) -> None:
    mark, text = STATUS_COLOURS.get(row.status, NEUTRAL_COLOURS)
    if not (fmt.is_missing(row.ci_low) or fmt.is_missing(row.ci_high)):
        ax.hlines(y, row.ci_low, row.ci_high, colors=mark, linewidth=2.4, zorder=2, clip_on=False)
        ax.vlines([row.ci_low, row.ci_high], y - 0.17, y + 0.17, colors=mark, linewidth=1.2,
                  zorder=2, clip_on=False)
    if fmt.is_missing(row.value):
        ax.text(xlim[0] + 0.01 * (xlim[1] - xlim[0]), y, fmt.MISSING, ha="left", va="center",
                fontsize=_FONT_SIZE, fontstyle="italic", color="#616161")
    else:
        edge = "#757575" if row.status == "insufficient_data" else mark
        ax.plot([row.value], [y], marker="o", markersize=6.5, linestyle="none",
                markerfacecolor="white" if row.excluded else mark, markeredgecolor=edge,
                markeredgewidth=1.6, zorder=3, clip_on=False)
    ax.text(1.02, y, row.status_label or fmt.NOT_APPLICABLE, transform=ax.get_yaxis_transform(),
            ha="left", va="center", fontsize=_FONT_SIZE, color=text,
            fontweight="bold" if row.status == "fail" else "normal")


def _draw_thresholds(ax: Axes, requirement: RequirementView) -> None:
    single = len(requirement.thresholds) == 1
    for threshold in requirement.thresholds:
        ax.axvline(threshold, color=_INK, linestyle=(0, (4, 3)), linewidth=1.0, zorder=2.5)
        label = requirement.threshold_text if single else fmt.proportion(threshold)
        ax.text(threshold, 1.0, f"threshold {label}", transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=_FONT_SIZE - 0.5, color=_INK)


def _inline_svg(fig: Figure, *, salt: str, description: str) -> str:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue().decode("utf-8")
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    svg = _prefix_ids(svg, prefix=salt)
    label = html.escape(description, quote=True)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1).strip()


def _prefix_ids(svg: str, *, prefix: str) -> str:
    """Make every id (glyphs, clip paths, markers) unique to this chart in the document."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))

    def swap(match: re.Match[str]) -> str:
        lead, name = match.groups()
        return f"{lead}{prefix}-{name}" if name in ids else match.group(0)

    return re.sub(r'(\bid="|#)([A-Za-z_][\w.:-]*)', swap, svg)
