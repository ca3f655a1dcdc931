"""Paired comparison of two models on the same benchmark rows: differences, intervals, McNemar.

Joint atoms. Rows are collapsed into atoms of (groups, label, A's decision and score,
B's decision and score, weight, cluster). Read with A's decisions and scores the joint
table is a (finer) atom table of A; read with B's, one of B; both have the same atoms in
the same order. One bootstrap replicate is one vector of joint atom counts, so both models
are measured on the same resampled rows in every replicate, with the engine's own metric
functions (``measurements.View``) and the profile's seed, replicates, confidence and
resampling unit. The interval of B - A is the percentile interval of the paired
replicate differences, whatever interval a requirement declares for one model (Wilson,
Clopper-Pearson, BCa, bootstrap-t are intervals of one model's value). Relative metrics (impact ratio, difference) keep each model's
comparator group fixed, as the engine's intervals do.

Scores. Point differences use the scores as the engine measures them (exact, or binned past
``inference.score_bins``). When a model's scores take more values than
``bootstrap.score_bins``, replicates resample joint atoms of both models' scores on that
coarser grid (a model already within it keeps its scores), and each score metric's
interval is moved by the difference between the exact and the grid's point difference,
as ``measurements`` does for one model. Binning merges atoms only where both models' bins
agree, so the pairing is kept.

McNemar's exact test is the two-sided binomial test of the discordant pairs among the rows
a proportion counts (its denominator), the event being its numerator. It needs the same
rows under both models, so it does not apply where the denominator depends on the
decision (PPV, NPV: rows predicted positive or negative), to weighted requirements, and
to metrics that are not proportions of rows (relative metrics, F1, AUROC, MAE, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .measurements import View, requirement_views, resampling_scheme
from .metrics import METRICS, Cells
from .plan import needs_score
from .predictors import Predictions
from .profile import Profile, Requirement
from .resampling import Replicates, percentile_interval
from .stats import AtomTable, GridSpec, GroupCells, build_atoms, build_regression_atoms, family_cells

__all__ = ["PAIRED_COLUMNS", "PairedTables", "mcnemar", "metric_direction", "paired_differences", "paired_tables"]

_B = "__paired_b"  # B's decision and score (or prediction) as one code: a hidden key of the joint atoms
_RELATIVE_DIRECTION = {"impact_ratio": "higher", "difference": "lower"}  # closer to parity is better
PAIRED_COLUMNS = [
    "requirement", "metric", "family", "group", "n", "value_a", "value_b", "difference", "ci_low", "ci_high",
    "direction", "change", "discordant_a", "discordant_b", "mcnemar_p", "mcnemar_note",
]


@dataclass(frozen=True)
class PairedTables:
    """A's and B's atom tables on the same joint atoms; ``resample_*`` the same on the resampling grid."""

    a: AtomTable
    b: AtomTable
    resample_a: AtomTable
    resample_b: AtomTable

    @property
    def coarsened(self) -> bool:
        return self.resample_a is not self.a


def paired_tables(profile: Profile, groups: pd.DataFrame, label: np.ndarray, a: Predictions, b: Predictions, *,
                  weight: np.ndarray | None, cluster: np.ndarray | None) -> PairedTables:
    """Joint atom tables of ``a`` and ``b`` (predictions of the same rows, in the same order)."""
    weight = weight if any(r.weighted for r in profile.requirements) else None
    cluster = cluster if profile.inference.bootstrap.unit == "cluster" else None
    if profile.task == "regression":
        values, code = np.unique(b.value, return_inverse=True)
        joint = build_regression_atoms(groups.assign(**{_B: code}), label, a.value, weight=weight, cluster=cluster)
        frame = joint.frame.drop(columns=_B)
        b_frame = frame.assign(__prediction=values[joint.frame[_B].astype(np.int64).to_numpy()])
        ta, tb = AtomTable(frame, tuple(groups.columns)), AtomTable(b_frame, tuple(groups.columns))
        return PairedTables(ta, tb, ta, tb)
    opts = profile.inference
    spec = GridSpec(opts.score_bins, tuple(opts.score_range))
    rows = (groups, label, a.decision, b.decision)
    if not needs_score(profile):
        ta, tb = _joint(*rows, None, None, spec, weight, cluster)
        return PairedTables(ta, tb, ta, tb)
    kept_a, kept_b = _kept(a.score, spec), _kept(b.score, spec)  # the engine's measuring grid
    ta, tb = _joint(*rows, kept_a, kept_b, spec, weight, cluster)
    bins = opts.bootstrap.score_bins
    if max(np.unique(kept_a).size, np.unique(kept_b).size) <= bins:
        return PairedTables(ta, tb, ta, tb)
    both = np.concatenate([kept_a, kept_b])  # the resampling grid, widened to the scores as stats.coarsen does
    coarse = GridSpec(bins, (min(spec.score_range[0], float(both.min())), max(spec.score_range[1], float(both.max()))))
    on_grid = [k if np.unique(k).size <= bins else coarse.bin_midpoints(k) for k in (kept_a, kept_b)]
    ca, cb = _joint(*rows, *on_grid, coarse, weight, cluster)
    return PairedTables(ta, tb, ca, cb)


def _kept(score: np.ndarray, spec: GridSpec) -> np.ndarray:
    """Scores as the engine keeps them: exact, or bin midpoints past ``spec.bins`` distinct values."""
    values = np.asarray(score, dtype=np.float64)
    return values if np.unique(values).size <= spec.bins else spec.bin_midpoints(values)


def _joint(groups: pd.DataFrame, label: np.ndarray, decision_a: np.ndarray, decision_b: np.ndarray,
           score_a: np.ndarray | None, score_b: np.ndarray | None, spec: GridSpec, weight: np.ndarray | None,
           cluster: np.ndarray | None) -> tuple[AtomTable, AtomTable]:
    """Atoms of A's rows keyed also by B's decision and score; read back with B's values for B's table."""
    b_scores, score_code = (np.zeros(1), 0) if score_b is None else np.unique(score_b, return_inverse=True)
    code = decision_b.astype(np.int64) * b_scores.size + score_code
    joint = build_atoms(groups.assign(**{_B: code}), label, decision_a, score=score_a, weight=weight,
                        cluster=cluster, spec=spec)
    frame = joint.frame.drop(columns=_B)
    joint_code = joint.frame[_B].astype(np.int64).to_numpy()
    b_frame = frame.assign(__decision=(joint_code // b_scores.size).astype(np.int8))
    if score_b is not None:
        b_frame["__score"] = b_scores[joint_code % b_scores.size]
    names = tuple(groups.columns)
    return AtomTable(frame, names, spec, True), AtomTable(b_frame, names, spec, True)


def paired_differences(profile: Profile, tables: PairedTables, *, requirements: list[str]) -> pd.DataFrame:
    """B - A per requirement and group with its paired bootstrap interval and McNemar's test."""
    wanted = set(requirements)
    pairs = [(va, vb) for va, vb in zip(requirement_views(profile, tables.a), requirement_views(profile, tables.b))
             if va.req.id in wanted]
    for va, vb in pairs:
        if va.cells.groups != vb.cells.groups:  # same rows and columns: cannot differ unless the tables do
            raise ValueError(f"requirement {va.req.id}: the two tables have different groups")
    on_grid = pairs
    if tables.coarsened:  # same groups, same comparators; only the scores merge
        cells: dict[str, tuple[GroupCells, GroupCells]] = {}
        for va, _ in pairs:
            if va.cells.family not in cells:
                cells[va.cells.family] = (family_cells(tables.resample_a, va.req.groups),
                                          family_cells(tables.resample_b, va.req.groups))
        on_grid = [(replace(va, cells=cells[va.cells.family][0]), replace(vb, cells=cells[va.cells.family][1]))
                   for va, vb in pairs]
    draws = _paired_draws(profile, tables.resample_a, tables.resample_b, on_grid)
    frames = []
    for (va, vb), (ga, gb), d in zip(pairs, on_grid, draws):
        point_a = va.paired_values(tables.a, tables.a.count)
        point_b = vb.paired_values(tables.b, tables.b.count)
        lo, hi = percentile_interval(d, profile.inference.confidence)
        if tables.coarsened and va.base.needs_score:  # move the grid's interval to the reported difference
            on = gb.paired_values(tables.resample_b, tables.resample_b.count) - \
                ga.paired_values(tables.resample_a, tables.resample_a.count)
            shift = np.where(np.isfinite(on), (point_b - point_a) - on, 0.0)
            lo, hi = lo + shift, hi + shift
        frames.append(_rows(va, tables.a, tables.b, point_a, point_b, lo, hi))
    return pd.concat(frames, ignore_index=True)[PAIRED_COLUMNS]


def _paired_draws(profile: Profile, table_a: AtomTable, table_b: AtomTable,
                  pairs: list[tuple[View, View]]) -> list[np.ndarray]:
    """Per requirement, (replicates, groups) of B - A, both measured on the same replicate counts."""
    opts = profile.inference.bootstrap
    reps = Replicates(table_a.count, replicates=opts.replicates, seed=opts.seed,
                      **resampling_scheme(profile, table_a))
    out: list[list[np.ndarray]] = [[] for _ in pairs]
    for i in range(len(reps)):
        batch = reps.batch(i)
        memo_a: dict = {}
        memo_b: dict = {}
        for k, (va, vb) in enumerate(pairs):
            out[k].append(vb.paired_values(table_b, batch, memo_b) - va.paired_values(table_a, batch, memo_a))
    return [np.concatenate(d, axis=0) for d in out]


def metric_direction(metric: str) -> str:
    """Which way is better for a metric of the table or a relative metric: higher, lower or none."""
    return METRICS[metric].direction if metric in METRICS else _RELATIVE_DIRECTION.get(metric, "none")


def _direction(req: Requirement) -> str:
    """Which way is better: the metric's declared direction, else the side its threshold bounds."""
    direction = metric_direction(req.metric)
    if direction == "none" and req.threshold is not None:
        return "higher" if req.threshold.operator == "min" else "lower"
    return direction


def _change(direction: str, diff: float, lo: float, hi: float) -> str:
    if not (math.isfinite(diff) and math.isfinite(lo) and math.isfinite(hi)):
        return "not estimable"
    if lo <= 0 <= hi:
        return "no clear change"
    if direction == "none":
        return "higher" if lo > 0 else "lower"
    up = lo > 0
    return "better" if up == (direction == "higher") else "worse"


def _rows(va: View, table_a: AtomTable, table_b: AtomTable, point_a: np.ndarray, point_b: np.ndarray,
          lo: np.ndarray, hi: np.ndarray) -> pd.DataFrame:
    direction = _direction(va.req)
    only_a, only_b, p, note = mcnemar(va, table_a, table_b)
    diff = point_b - point_a
    return pd.DataFrame({
        "requirement": va.req.id, "metric": va.req.metric, "family": va.cells.family, "group": va.cells.groups,
        "n": va.n.astype(np.int64), "value_a": point_a, "value_b": point_b, "difference": diff,
        "ci_low": lo, "ci_high": hi, "direction": direction,
        "change": [_change(direction, *x) for x in zip(diff, lo, hi)],
        "discordant_a": only_a, "discordant_b": only_b, "mcnemar_p": p, "mcnemar_note": note,
    })


def mcnemar(view: View, table_a: AtomTable, table_b: AtomTable) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Per group: rows with the event under A only, under B only, the exact two-sided p, and a note."""
    from scipy import stats as st

    g = view.cells.n_groups
    nan = np.full(g, np.nan)
    reason = _not_applicable(view)
    if reason:
        return nan, nan, nan, f"not applicable: {reason}"
    counted, event_a, event_b = _events(view, table_a, table_b)
    keep = counted & (view.cells.atom_group >= 0)
    group, count = view.cells.atom_group[keep], table_a.count[keep]
    only_a = np.bincount(group, weights=count * (event_a & ~event_b)[keep], minlength=g)
    only_b = np.bincount(group, weights=count * (event_b & ~event_a)[keep], minlength=g)
    p = np.array([st.binomtest(int(x), int(x + y), 0.5).pvalue if x + y > 0 else 1.0
                  for x, y in zip(only_a, only_b)])
    clustered = table_a.cluster is not None
    note = "rows taken as independent pairs (the interval resamples clusters)" if clustered else ""
    return only_a, only_b, p, note


def _not_applicable(view: View) -> str:
    metric = METRICS.get(view.req.metric)
    if metric is None or metric.kind != "proportion":
        return f"{view.req.metric} is not a proportion of rows"
    if view.weighted:
        return "the requirement weights its rows; the test counts rows"
    if metric.task == "binary_classification":
        _, den = metric.parts(Cells(np.eye(4).reshape(4, 1, 2, 2)))
        den = den[:, 0].reshape(2, 2)  # [label, decision]
        if (den[:, 0] != den[:, 1]).any():
            return f"the rows {view.req.metric} counts depend on the decision, so they differ between the models"
    return ""


def _events(view: View, table_a: AtomTable, table_b: AtomTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per joint atom: whether the proportion counts its rows, and its numerator under A and under B."""
    metric = METRICS[view.req.metric]
    if metric.task == "regression":  # within_tolerance: a share of every row
        tol = view.req.tolerance
        counted = np.ones(len(table_a.count), dtype=bool)
        return (counted, np.abs(table_a.prediction - table_a.outcome) <= tol,
                np.abs(table_b.prediction - table_b.outcome) <= tol)
    num, den = metric.parts(Cells(np.eye(4).reshape(4, 1, 2, 2)))
    num, den = num[:, 0] > 0, den[:, 0] > 0
    label = table_a.label.astype(np.int64)
    cell_a = label * 2 + table_a.decision.astype(np.int64)
    cell_b = label * 2 + table_b.decision.astype(np.int64)
    return den[cell_a], num[cell_a], num[cell_b]
