"""Comparisons between groups: impact ratios, differences, their comparators, intervals and tests.

Relative metrics follow the base metric's direction: each group is compared with the best
*other* eligible group in that metric's own direction (the highest rate of a higher-is-better
metric, the lowest of a lower-is-better one such as fpr, fnr or brier). A group's impact ratio
is the smaller of the two values over the larger, so 1 is parity and lower is worse either way:
its rate over the best rate (higher is better), or the best rate over its own (lower is
better; a group at 0 is at the best value, ratio 1), capped at 1; its difference is the
distance from the best value, floored at 0. The comparator of each
group is fixed from the benchmark itself; intervals (bootstrap or Katz) are computed
for the uncapped ratio against that fixed comparator and then capped. Re-choosing the
highest group inside every replicate would bias the interval downward when two groups
tie at the top (the maximum of two noisy equal rates overestimates both), and leaving
the top group without an interval would hide how far below 1 its true ratio may be.
The same holds for ``difference`` (floored at 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .metrics import RELATIVE, Cells
from .resampling import cluster_z_p, fisher_exact_p, katz_log_ratio, two_proportion_z_p
from .stats import AtomTable

if TYPE_CHECKING:
    from .measurements import View

__all__ = ["against", "cap", "comparators", "katz", "p_values", "reference", "relative"]


def relative(metric: str, base: np.ndarray, eligible: np.ndarray, direction: str) -> np.ndarray:
    if metric not in RELATIVE:
        return base
    masked = np.where(eligible, base, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        best = np.nanmin if direction == "lower" else np.nanmax
        top = best(masked, axis=-1, keepdims=True) if eligible.any() else np.nan
        out = _ratio(base, top, direction) if metric == "impact_ratio" else np.abs(base - top)
    return np.where(eligible, out, np.nan)


def against(metric: str, base: np.ndarray, comparator: np.ndarray, eligible: np.ndarray,
             direction: str) -> np.ndarray:
    """Uncapped ratio (or signed gap) of each group to its fixed comparator."""
    ok = eligible & (comparator >= 0)
    ref = base[..., np.where(ok, comparator, 0)]
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "impact_ratio":
            out = _ratio(base, ref, direction)
        elif direction == "lower":
            out = base - ref
        else:
            out = ref - base
    return np.where(ok, out, np.nan)


def _ratio(base: np.ndarray, ref: np.ndarray, direction: str) -> np.ndarray:
    """A group's value against its comparator's, oriented so that below 1 means worse than the comparator."""
    if direction == "lower":
        return np.where(base > 0, ref / np.where(base > 0, base, 1), np.where(base == 0, 1.0, np.nan))
    return np.where(ref > 0, base / np.where(ref > 0, ref, 1), np.nan)


def cap(metric: str, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if metric == "impact_ratio":
        return np.minimum(lo, 1.0), np.minimum(hi, 1.0)
    return np.maximum(lo, 0.0), np.maximum(hi, 0.0)


def comparators(base: np.ndarray, eligible: np.ndarray, metric: str, direction: str) -> np.ndarray:
    """Per group, the best other eligible group in the base metric's direction (lowest when lower is better)."""
    ok = eligible & np.isfinite(base)
    out = np.full(base.shape, -1, dtype=np.int64)
    lowest = direction == "lower"
    for g in range(base.size):
        others = ok.copy()
        others[g] = False
        if others.any():
            masked = np.where(others, base, np.inf if lowest else -np.inf)
            out[g] = int(np.argmin(masked) if lowest else np.argmax(masked))
    return out


def reference(base: np.ndarray, eligible: np.ndarray, metric: str, direction: str) -> int | None:
    masked = np.where(eligible & np.isfinite(base), base, np.nan)
    if np.isnan(masked).all():
        return None
    if direction == "lower":
        return int(np.nanargmin(masked))
    return int(np.nanargmax(masked))


def p_values(v: View, table: AtomTable, ref: int, clustered: bool) -> np.ndarray:
    """Each eligible group against the reference: z or Fisher over rows, or cluster-robust z."""
    x, n = v.base.parts(v.counted)
    sig = v.req.significance
    out = np.full(len(x), np.nan)
    if clustered:
        xc, nc = _cluster_parts(v, table)
    for i in np.flatnonzero(v.eligible):
        if i == ref:
            continue
        if clustered:
            out[i] = cluster_z_p(xc[:, i], nc[:, i], xc[:, ref], nc[:, ref])
            continue
        small = min(n[i], n[ref]) < sig.small_n
        use_fisher = sig.test == "fisher" or (sig.test == "auto" and small)
        test = fisher_exact_p if use_fisher else two_proportion_z_p
        out[i] = test(x[i], n[i], x[ref], n[ref])
    return out


def _cluster_parts(v: View, table: AtomTable) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of the base proportion per (cluster, group)."""
    keep = v.cells.atom_group >= 0
    g = v.cells.n_groups
    if table.is_regression:
        per = np.stack([np.bincount(table.cluster[keep] * g + v.cells.atom_group[keep], weights=table.count[keep] * f,
                                    minlength=table.n_clusters * g)
                        for f in (np.ones(len(table.count))[keep],
                                  (np.abs(table.prediction - table.outcome) <= v.req.tolerance)[keep])], axis=-1)
        return per[:, 1].reshape(table.n_clusters, g), per[:, 0].reshape(table.n_clusters, g)
    index = (table.cluster * g + v.cells.atom_group) * 4 + table.label.astype(np.int64) * 2 + table.decision
    conf = np.bincount(index[keep], weights=table.count[keep], minlength=table.n_clusters * g * 4)
    return v.base.parts(Cells(conf.reshape(table.n_clusters, g, 2, 2)))


def katz(v: View, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Katz interval of each group's rate over its fixed comparator's (uncapped)."""
    x, n = v.base.parts(v.counted)
    lo, hi = np.full(len(x), np.nan), np.full(len(x), np.nan)
    for i, r in enumerate(v.comparator):
        if r >= 0 and v.eligible[i]:
            pair = (x[r], n[r], x[i], n[i]) if v.base.direction == "lower" else (x[i], n[i], x[r], n[r])
            lo[i], hi[i] = katz_log_ratio(*pair, confidence)
    return lo, hi
