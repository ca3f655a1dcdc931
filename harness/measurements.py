"""Measurements: every requirement's metric for every group, with its interval.

One atom table serves all requirements; one stream of bootstrap replicates serves
every metric that needs one, so measurements of different families come from the
same resampled benchmarks and a rerun with the same seed is identical bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ProfileError
from .metrics import METRICS, RELATIVE, Cells, Metric
from .profile import Profile, Requirement
from .resampling import (
    bca_interval,
    clopper_pearson,
    fisher_exact_p,
    jackknife_counts,
    katz_log_ratio,
    percentile_interval,
    replicate_counts,
    two_proportion_z_p,
    wilson,
)
from .stats import AtomTable, GroupCells, family_cells

__all__ = ["MEASUREMENT_COLUMNS", "View", "measure"]

MEASUREMENT_COLUMNS = [
    "requirement", "metric", "family", "group", "value", "ci_low", "ci_high", "interval",
    "n", "positives", "negatives", "excluded", "p_value", "reference_group",
]


@dataclass
class View:
    """One requirement's groups: their cells, point values and (later) interval."""

    req: Requirement
    cells: GroupCells
    base: Metric
    weighted: bool
    interval: str
    rows: np.ndarray  # unweighted conf per group (G, 2, 2)
    eligible: np.ndarray  # bool per group: counted in the family comparison
    draws: list[np.ndarray] = field(default_factory=list)
    jack: list[np.ndarray] = field(default_factory=list)
    jack_weight: list[np.ndarray] = field(default_factory=list)

    def metric_values(self, table: AtomTable, counts: np.ndarray) -> np.ndarray:
        """Values of the requirement's metric for ``counts`` of shape (..., atoms)."""
        cells = _cells(table, self.cells, counts, weighted=self.weighted, score=self.base.needs_score)
        base = self.base.fn(cells)
        return _relative(self.req.metric, base, self.eligible, self.base.direction)


def _cells(table: AtomTable, gc: GroupCells, counts: np.ndarray, *, weighted: bool, score: bool) -> Cells:
    lead = counts.shape[:-1]
    flat = counts.reshape(-1, counts.shape[-1]).astype(np.float64)
    conf = np.asarray(flat @ gc.conf_matrix(table, weighted=weighted)).reshape(*lead, gc.n_groups, 2, 2)
    if not score:
        return Cells(conf)
    hist = np.asarray(flat @ gc.hist_matrix(table, weighted=weighted))
    hist = hist.reshape(*lead, gc.n_groups, 2, gc.n_bins)
    sample = np.asarray(flat @ gc.sample_matrix(table)).reshape(*lead, gc.n_bins)
    return Cells(conf, hist, table.grid.values, sample)


def _relative(metric: str, base: np.ndarray, eligible: np.ndarray, direction: str) -> np.ndarray:
    if metric not in RELATIVE:
        return base
    masked = np.where(eligible, base, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "impact_ratio":
            top = np.nanmax(masked, axis=-1, keepdims=True) if eligible.any() else np.nan
            out = np.where(top > 0, base / np.where(top > 0, top, 1), np.nan)
        else:
            best = np.nanmin if direction == "lower" else np.nanmax
            out = np.abs(base - best(masked, axis=-1, keepdims=True))
    return np.where(eligible, out, np.nan)


def _interval_method(profile: Profile, req: Requirement) -> str:
    base = METRICS[req.base_metric]
    default = profile.inference.interval if (base.kind == "proportion" and req.metric not in RELATIVE
                                            and not req.weighted) else "bootstrap_percentile"
    method = req.interval or default
    analytic_ok = base.kind == "proportion" and req.metric not in RELATIVE and not req.weighted
    if method in ("wilson", "clopper_pearson") and not analytic_ok:
        raise ProfileError(f"requirement {req.id}: interval '{method}' needs an unweighted proportion "
                           f"metric, found '{req.metric}'{' (weighted)' if req.weighted else ''}; "
                           "use 'bootstrap_percentile'")
    if method == "katz_log" and (req.metric != "impact_ratio" or base.kind != "proportion" or req.weighted):
        raise ProfileError(f"requirement {req.id}: interval 'katz_log' applies to an unweighted impact_ratio "
                           f"of a proportion, found '{req.metric}'")
    return method


def _view(profile: Profile, req: Requirement, table: AtomTable, cache: dict) -> View:
    key = tuple(req.groups)
    if key not in cache:
        cache[key] = family_cells(table, req.groups)
    gc = cache[key]
    rows = _cells(table, gc, table.count, weighted=False, score=False).conf
    share = rows.sum(axis=(-2, -1)) / max(1.0, rows.sum())
    eligible = share >= req.exclude_below_share
    return View(req, gc, METRICS[req.base_metric], req.weighted, _interval_method(profile, req), rows, eligible)


def _scheme(profile: Profile, table: AtomTable) -> dict[str, np.ndarray | None]:
    """Cluster or strata codes per atom for the resampling scheme the profile declares."""
    opts = profile.inference.bootstrap
    if opts.unit == "cluster":
        if table.cluster is None:
            raise ProfileError("inference.bootstrap.unit: 'cluster' needs a benchmark that declares a cluster "
                               "column (its unit of analysis); this benchmark declares none")
        return {"cluster": table.cluster, "strata": None}
    if opts.stratify:
        columns = list(dict.fromkeys(c for r in profile.requirements for c in r.groups))
        strata = table.keys[columns].agg("|".join, axis=1) if columns else pd.Series(["all"] * len(table.count))
        return {"cluster": None, "strata": pd.factorize(strata, sort=True)[0]}
    return {"cluster": None, "strata": None}


def _resample(profile: Profile, table: AtomTable, views: list[View]) -> None:
    boot = [v for v in views if v.interval.startswith("bootstrap")]
    if not boot:
        return
    opts = profile.inference.bootstrap
    scheme = _scheme(profile, table)
    for batch in replicate_counts(table.count, replicates=opts.replicates, seed=opts.seed, **scheme):
        for v in boot:
            v.draws.append(v.metric_values(table, batch))
    bca = [v for v in boot if v.interval == "bootstrap_bca"]
    if bca:
        for counts, weights in jackknife_counts(table.count, cluster=scheme["cluster"]):
            for v in bca:
                v.jack.append(v.metric_values(table, counts))
                v.jack_weight.append(weights)


def measure(profile: Profile, table: AtomTable) -> tuple[pd.DataFrame, dict[str, int]]:
    """Measurements table and, per family, the rows left out for an unknown category."""
    cache: dict[tuple[str, ...], GroupCells] = {}
    views = [_view(profile, req, table, cache) for req in profile.requirements]
    _resample(profile, table, views)
    conf = profile.inference.confidence
    frames = [_rows(v, table, conf) for v in views]
    unknown = {gc.family: gc.unknown_rows(table) for gc in cache.values() if gc.family != "overall"}
    return pd.concat(frames, ignore_index=True)[MEASUREMENT_COLUMNS], unknown


def _rows(v: View, table: AtomTable, confidence: float) -> pd.DataFrame:
    value = v.metric_values(table, table.count)
    lo, hi, p, ref = _inference(v, table, value, confidence)
    n = v.rows.sum(axis=(-2, -1))
    pos = v.rows[..., 1, :].sum(axis=-1)
    return pd.DataFrame({
        "requirement": v.req.id,
        "metric": v.req.metric,
        "family": v.cells.family,
        "group": v.cells.groups,
        "value": value,
        "ci_low": lo,
        "ci_high": hi,
        "interval": v.interval,
        "n": n.astype(np.int64),
        "positives": pos.astype(np.int64),
        "negatives": (n - pos).astype(np.int64),
        "excluded": ~v.eligible,
        "p_value": p,
        "reference_group": ref,
    })


def _inference(v: View, table: AtomTable, value: np.ndarray, confidence: float):
    g = v.cells.n_groups
    p_val = np.full(g, np.nan)
    ref_name = ""
    if v.req.metric in RELATIVE and v.eligible.any():
        base = v.base.fn(_cells(table, v.cells, table.count, weighted=v.weighted, score=v.base.needs_score))
        ref = _reference(base, v.eligible, v.req.metric, v.base.direction)
        ref_name = v.cells.groups[ref] if ref is not None else ""
        if ref is not None and v.req.significance is not None:
            p_val = _p_values(v, ref)
    if v.interval == "bootstrap_percentile":
        lo, hi = percentile_interval(np.concatenate(v.draws, axis=0), confidence)
    elif v.interval == "bootstrap_bca":
        lo, hi = bca_interval(np.concatenate(v.draws, axis=0), value, np.concatenate(v.jack, axis=0),
                              np.concatenate(v.jack_weight), confidence)
    elif v.interval == "katz_log":
        lo, hi = _katz(v, ref_name, confidence)
    else:
        x, n = v.base.parts(Cells(v.rows))
        lo, hi = (wilson if v.interval == "wilson" else clopper_pearson)(x, n, confidence)
    lo, hi = np.where(v.eligible, lo, np.nan), np.where(v.eligible, hi, np.nan)
    return lo, hi, p_val, ref_name


def _reference(base: np.ndarray, eligible: np.ndarray, metric: str, direction: str) -> int | None:
    masked = np.where(eligible & np.isfinite(base), base, np.nan)
    if np.isnan(masked).all():
        return None
    if metric == "difference" and direction == "lower":
        return int(np.nanargmin(masked))
    return int(np.nanargmax(masked))


def _p_values(v: View, ref: int) -> np.ndarray:
    x, n = v.base.parts(Cells(v.rows))
    sig = v.req.significance
    out = np.full(len(x), np.nan)
    for i in np.flatnonzero(v.eligible):
        if i == ref:
            continue
        small = min(n[i], n[ref]) < sig.small_n
        use_fisher = sig.test == "fisher" or (sig.test == "auto" and small)
        test = fisher_exact_p if use_fisher else two_proportion_z_p
        out[i] = test(x[i], n[i], x[ref], n[ref])
    return out


def _katz(v: View, ref_name: str, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    x, n = v.base.parts(Cells(v.rows))
    lo, hi = np.full(len(x), np.nan), np.full(len(x), np.nan)
    if not ref_name:
        return lo, hi
    r = v.cells.groups.index(ref_name)
    for i in range(len(x)):
        if i != r:
            lo[i], hi[i] = katz_log_ratio(x[i], n[i], x[r], n[r], confidence)
    return lo, hi
