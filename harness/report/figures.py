"""The data behind the report's curves, taken from the statistics the engine measured.

The engine reduces a benchmark to atoms: counts per (groups, label, decision, score). Each
group's ROC curve, reliability diagram and confusion matrix is a sum over those atoms, so
the report draws exactly the data the metrics were computed from (on the same score grid,
weighted where the requirement is weighted) without reading a row again. Requirements of
one family share their figure: it is computed once and drawn in the first of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from harness.metrics import CALIBRATION, ECE_BINS, base_metric
from harness.profile import Profile, Requirement
from harness.stats import AtomTable, GroupCells, family_cells

__all__ = ["FigureKind", "GroupCurves", "RequirementFigure", "ReliabilityBin", "Roc", "figures_of", "roc_points"]

FigureKind = Literal["roc", "reliability", "confusion"]
_ROC_METRICS = frozenset({"auroc", "average_precision"})


@dataclass(frozen=True)
class ReliabilityBin:
    """One of the ECE's equal-width score bins: its rows, mean score and observed rate."""

    low: float
    high: float
    n: float
    mean_score: float
    observed: float


@dataclass(frozen=True, eq=False)
class Roc:
    """A ROC curve's points, from (0, 0) to (1, 1): one per distinct score, thresholds falling."""

    fpr: np.ndarray
    tpr: np.ndarray


@dataclass(frozen=True)
class GroupCurves:
    """What one group's figure needs; the fields its kind does not use are empty."""

    family: str
    group: str
    roc: Roc | None = None
    reliability: tuple[ReliabilityBin, ...] = ()
    confusion: tuple[float, float, float, float] = ()  # type: ignore[assignment]  # tn, fp, fn, tp


@dataclass(frozen=True)
class RequirementFigure:
    """A requirement's figure, or a pointer to the requirement that shows the same one."""

    kind: FigureKind
    groups: tuple[GroupCurves, ...]
    weighted: bool
    shown_in: str = ""  # id of the earlier requirement that draws this figure; "" when drawn here


def figures_of(profile: Profile, table: AtomTable | None) -> dict[str, RequirementFigure]:
    """The figure of every requirement that has one, by requirement id."""
    if table is None or table.is_regression:
        return {}
    cells: dict[tuple[str, ...], GroupCells] = {}
    drawn: dict[tuple[FigureKind, tuple[str, ...], bool], tuple[str, RequirementFigure]] = {}
    out: dict[str, RequirementFigure] = {}
    for req in profile.requirements:
        kind = _kind(profile, req, table)
        if kind is None:
            continue
        key = (kind, tuple(req.groups), req.weighted)
        if key in drawn:
            first, figure = drawn[key]
            out[req.id] = RequirementFigure(kind, figure.groups, figure.weighted, shown_in=first)
            continue
        if tuple(req.groups) not in cells:
            cells[tuple(req.groups)] = family_cells(table, req.groups)
        gc = cells[tuple(req.groups)]
        figure = RequirementFigure(kind, _groups(kind, gc, table, weighted=req.weighted), req.weighted)
        drawn[key] = (req.id, figure)
        out[req.id] = figure
    return out


def _kind(profile: Profile, req: Requirement, table: AtomTable) -> FigureKind | None:
    base = base_metric(req.base_metric, favourable_decision=profile.favourable_decision)
    if base.kind == "score":
        if table.grid is None:
            return None
        if base.name in _ROC_METRICS:
            return "roc"
        return "reliability" if base.name in CALIBRATION else None
    return "confusion" if base.task == "binary_classification" else None


def _groups(kind: FigureKind, gc: GroupCells, table: AtomTable, *, weighted: bool) -> tuple[GroupCurves, ...]:
    counts = table.count.astype(np.float64)
    if kind == "confusion":
        conf = gc.conf(table, counts, weighted=weighted)
        return tuple(GroupCurves(gc.family, name, confusion=(float(c[0, 0]), float(c[0, 1]), float(c[1, 0]),
                                                             float(c[1, 1])))
                     for name, c in zip(gc.groups, conf))
    hist = gc.hist(table, counts, weighted=weighted)
    grid = table.grid.values  # type: ignore[union-attr]  # score kinds need a grid (checked by _kind)
    if kind == "roc":
        return tuple(GroupCurves(gc.family, name, roc=roc_points(h[0], h[1])) for name, h in zip(gc.groups, hist))
    return tuple(GroupCurves(gc.family, name, reliability=_reliability(h, grid)) for name, h in zip(gc.groups, hist))


def roc_points(negatives: np.ndarray, positives: np.ndarray) -> Roc | None:
    """The ROC curve from per-score counts of negatives and positives on an ascending grid.

    One point per distinct score present, thresholds falling from the highest: the points
    scikit-learn's ``roc_curve(..., drop_intermediate=False)`` gives for the same rows.
    """
    present = (negatives + positives) > 0
    neg, pos = negatives[present][::-1], positives[present][::-1]
    n_neg, n_pos = neg.sum(), pos.sum()
    if n_neg <= 0 or n_pos <= 0:
        return None
    return Roc(np.concatenate([[0.0], np.cumsum(neg) / n_neg]), np.concatenate([[0.0], np.cumsum(pos) / n_pos]))


def _reliability(hist: np.ndarray, grid: np.ndarray) -> tuple[ReliabilityBin, ...]:
    """Rows, mean score and observed rate in each non-empty ECE bin (as ``metrics._ece`` bins scores)."""
    bins = np.clip(np.floor(grid * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)
    total = hist.sum(axis=0)
    n = np.bincount(bins, weights=total, minlength=ECE_BINS)
    scored = np.bincount(bins, weights=total * grid, minlength=ECE_BINS)
    events = np.bincount(bins, weights=hist[1], minlength=ECE_BINS)
    return tuple(ReliabilityBin(b / ECE_BINS, (b + 1) / ECE_BINS, float(n[b]), float(scored[b] / n[b]),
                                float(events[b] / n[b]))
                 for b in range(ECE_BINS) if n[b] > 0)
