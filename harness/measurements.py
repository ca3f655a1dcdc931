"""Measurements: every requirement's metric for every group, with its interval.

One atom table serves all requirements; one stream of bootstrap replicates serves
every metric that needs one, so measurements of different families come from the
same resampled benchmarks and a rerun with the same seed is identical bit for bit.

Relative metrics (impact ratios and differences between groups) are computed as
``harness.between_groups`` describes.

Resampling grid. Replicates resample the atoms with scores on the coarser grid of
``inference.bootstrap.score_bins`` (``stats.coarsen``): the bootstrap's cost follows the
number of atoms, and the grid's error (at 1,000 bins, AUROC interval endpoints within 1.5e-5,
0.1% of the interval's width, of the fine grid's on perf/'s engine benchmark) is far below
the Monte Carlo error of a percentile from 1,000 replicates (about 0.09 standard errors).
Count metrics are unaffected: their cells are the same on both grids. A score metric's
interval is computed on the coarse grid (BCa against the coarse point estimate) and then
moved by the difference between the point estimates on the two grids, so it sits around
the reported (fine-grid) value as the coarse interval sits around the coarse value.

Degenerate bootstraps. When a proportion is observed at 0 or 1, every replicate equals
it and a bootstrap interval has zero width. Such groups get the Clopper-Pearson interval
instead, with the effective sample size (Kish's for weighted rows, at most the number
of clusters under ``unit: cluster``); their ``interval`` column says so.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from .errors import ProfileError
from .metrics import METRICS, RELATIVE, Cells, Metric, base_metric
from .multiplicity import adjust_p_values
from .profile import Profile, Requirement
from .resampling import (
    bca_interval,
    bootstrap_t_interval,
    clopper_pearson,
    jackknife_counts,
    percentile_interval,
    Replicates,
    wilson,
)
from . import between_groups as between
from .progress import stage
from .stats import AtomTable, GroupCells, coarsen, family_cells

__all__ = ["MEASUREMENT_COLUMNS", "View", "measure", "requirement_views", "resampling_scheme"]

MEASUREMENT_COLUMNS = [
    "requirement", "metric", "family", "group", "value", "ci_low", "ci_high", "interval",
    "n", "positives", "negatives", "excluded", "p_value", "p_adjusted", "reference_group",
]


@dataclass
class View:
    """One requirement's groups: their cells, point values and (later) interval."""

    req: Requirement
    cells: GroupCells
    base: Metric
    weighted: bool
    interval: str
    counted: Cells  # unweighted cells of the benchmark: conf (G, 2, 2), or regression moments (G, 8)
    eligible: np.ndarray  # bool per group: counted in the family comparison
    comparator: np.ndarray  # relative metrics: index of each group's fixed comparator, -1 for none
    draws: list[np.ndarray] = field(default_factory=list)
    jack: list[np.ndarray] = field(default_factory=list)
    jack_weight: list[np.ndarray] = field(default_factory=list)
    resampled: np.ndarray | None = None  # interval_values on the resampling grid's atoms
    se_draws: list[np.ndarray] = field(default_factory=list)  # bootstrap_t: each replicate's standard error

    @property
    def relative(self) -> bool:
        return self.req.metric in RELATIVE

    @property
    def n(self) -> np.ndarray:
        c = self.counted
        return c.moments[..., 0] if c.conf is None else c.conf.sum(axis=(-2, -1))

    @property
    def positives(self) -> np.ndarray:
        """Rows with label 1 per group; NaN for a regression benchmark (no positive class)."""
        c = self.counted
        return np.full(self.cells.n_groups, np.nan) if c.conf is None else c.conf[..., 1, :].sum(axis=-1)

    def base_values(self, table: AtomTable, counts: np.ndarray, memo: dict | None = None) -> np.ndarray:
        """The base metric per group for ``counts`` (..., atoms); ``memo`` shares cells between requirements."""
        return self.base.fn(_shared_cells(table, self.cells, counts, self.weighted, self.base.needs_score,
                                          {} if memo is None else memo, self.req.tolerance))

    def metric_values(self, table: AtomTable, counts: np.ndarray) -> np.ndarray:
        """The reported values (relative metrics capped) for ``counts`` of shape (..., atoms)."""
        return between.relative(self.req.metric, self.base_values(table, counts), self.eligible, self.base.direction)

    def standard_errors(self, table: AtomTable, counts: np.ndarray, memo: dict | None = None) -> np.ndarray:
        """The base metric's standard error per group for ``counts`` (bootstrap_t)."""
        return self.base.se(_shared_cells(table, self.cells, counts, self.weighted, self.base.needs_score,
                                          {} if memo is None else memo, self.req.tolerance))

    def interval_values(self, table: AtomTable, counts: np.ndarray, memo: dict | None = None) -> np.ndarray:
        """The quantity intervals are computed for: relative metrics uncapped, against fixed comparators."""
        base = self.base_values(table, counts, memo)
        if not self.relative:
            return base
        return between.against(self.req.metric, base, self.comparator, self.eligible, self.base.direction)

    def paired_values(self, table: AtomTable, counts: np.ndarray, memo: dict | None = None) -> np.ndarray:
        """The reported values with relative metrics against the fixed comparators, then capped.

        At the benchmark's own counts they equal ``metric_values`` wherever a group has a
        comparator (NaN where it has none, e.g. the only eligible group); in a replicate they
        keep the comparator fixed, as the intervals do, so a paired difference inherits no bias
        from re-choosing the top group.
        """
        values = self.interval_values(table, counts, memo)
        return between.cap(self.req.metric, values, values)[0] if self.relative else values


def _cells(table: AtomTable, gc: GroupCells, counts: np.ndarray, *, weighted: bool, score: bool,
           tolerance: float | None = None) -> Cells:
    return _shared_cells(table, gc, counts, weighted, score, {}, tolerance)


def _shared_cells(table: AtomTable, gc: GroupCells, counts: np.ndarray, weighted: bool, score: bool,
                  memo: dict, tolerance: float | None = None) -> Cells:
    """Cells of one family for ``counts``, computed once per (family, weighting) and kept in ``memo``."""
    if table.is_regression:
        key = (gc.family, weighted, tolerance)
        if key not in memo:
            memo[key] = Cells(None, moments=gc.moments(table, counts, weighted=weighted, tolerance=tolerance))
        return memo[key]
    key = (gc.family, weighted)
    cells = memo.get(key)
    if cells is None:
        cells = memo[key] = Cells(gc.conf(table, counts, weighted=weighted))
    if score and cells.hist is None:
        if "sample" not in memo:
            memo["sample"] = gc.sample(table, counts)
        cells = memo[key] = Cells(cells.conf, gc.hist(table, counts, weighted=weighted), table.grid.values,
                                  memo["sample"])
    return cells












def _interval_method(profile: Profile, req: Requirement) -> str:
    base = base_metric(req.base_metric, favourable_decision=profile.favourable_decision)
    analytic_ok = base.kind == "proportion" and req.metric not in RELATIVE and not req.weighted
    clustered = profile.inference.bootstrap.unit == "cluster"
    analytic_default = profile.inference.interval or ("bootstrap_percentile" if clustered else "clopper_pearson")
    t_ok = base.se is not None and req.metric not in RELATIVE and not req.weighted
    relative_default = "bootstrap_percentile" if req.metric in RELATIVE else base.interval
    if relative_default == "bootstrap_t" and not t_ok:  # weighted rows: no standard error of ours
        relative_default = "bootstrap_percentile"
    method = req.interval or (analytic_default if analytic_ok else relative_default)
    if method in ("wilson", "clopper_pearson") and not analytic_ok:
        raise ProfileError(f"requirement {req.id}: interval '{method}' needs an unweighted proportion "
                           f"metric, found '{req.metric}'{' (weighted)' if req.weighted else ''}; "
                           "use 'bootstrap_percentile'")
    if method == "bootstrap_t" and not t_ok:
        with_se = ", ".join(sorted(m.name for m in METRICS.values() if m.se is not None))
        raise ProfileError(f"requirement {req.id}: interval 'bootstrap_t' needs an unweighted metric with a "
                           f"standard error ({with_se}), found '{req.metric}'{' (weighted)' if req.weighted else ''}")
    if method == "katz_log" and (req.metric != "impact_ratio" or base.kind != "proportion" or req.weighted):
        raise ProfileError(f"requirement {req.id}: interval 'katz_log' applies to an unweighted impact_ratio "
                           f"of a proportion, found '{req.metric}'")
    return method


def _view(profile: Profile, req: Requirement, table: AtomTable, cache: dict) -> View:
    key = tuple(req.groups)
    if key not in cache:
        cache[key] = family_cells(table, req.groups)
    gc = cache[key]
    counted = _cells(table, gc, table.count, weighted=False, score=False, tolerance=req.tolerance)
    base = base_metric(req.base_metric, favourable_decision=profile.favourable_decision)
    view = View(req, gc, base, req.weighted, _interval_method(profile, req), counted,
                np.ones(gc.n_groups, dtype=bool), np.full(gc.n_groups, -1, dtype=np.int64))
    view.eligible = view.n / max(1.0, float(view.n.sum())) >= req.exclude_below_share
    if view.relative:
        view.comparator = between.comparators(view.base_values(table, table.count), view.eligible, req.metric,
                                       base.direction)
    return view


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
    grid = coarsen(table, opts.score_bins)
    cells: dict[str, GroupCells] = {}
    on_grid = []
    for v in boot:
        if grid is not table and v.cells.family not in cells:
            cells[v.cells.family] = family_cells(grid, v.req.groups)  # same groups: only scores merge
        on_grid.append(v if grid is table else replace(v, cells=cells[v.cells.family]))
    for v in on_grid:  # also fills the tables' cached columns before threads read them
        v.resampled = v.interval_values(grid, grid.count)
    scheme = _scheme(profile, grid)
    reps = Replicates(grid.count, replicates=opts.replicates, seed=opts.seed, **scheme)

    def values(i: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
        memo: dict = {}
        batch = reps.batch(i)
        return [(v.interval_values(grid, batch, memo),
                 v.standard_errors(grid, batch, memo) if v.interval == "bootstrap_t" else None) for v in on_grid]

    threads = min(len(reps), _threads())
    with (ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool,
          stage("bootstrap replicates", total=opts.replicates, unit="replicates") as tick):
        for size, out in zip(reps.sizes, (pool.map if pool else map)(values, range(len(reps)))):
            for v, (x, se) in zip(on_grid, out):
                v.draws.append(x)
                if se is not None:
                    v.se_draws.append(se)
            tick.advance(size)
    bca = [v for v in on_grid if v.interval == "bootstrap_bca"]
    if bca:
        for counts, weights in jackknife_counts(grid.count, cluster=scheme["cluster"], seed=opts.seed):
            memo = {}
            for v in bca:
                v.jack.append(v.interval_values(grid, counts, memo))
                v.jack_weight.append(weights)
    for v, g in zip(boot, on_grid):
        v.draws, v.jack, v.jack_weight, v.resampled = g.draws, g.jack, g.jack_weight, g.resampled
        v.se_draws = g.se_draws


def _threads() -> int:
    """Threads for the bootstrap: the CPUs this process may use, at most four. Part of each batch's
    work holds Python's GIL, so threads help less than cores (perf/README.md: the engine benchmark
    takes 0.87 s on two threads, 0.95 s on one)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cpus))


def measure(profile: Profile, table: AtomTable) -> tuple[pd.DataFrame, dict[str, int]]:
    """Measurements table and, per family, the rows left out for an unknown category."""
    cache: dict[tuple[str, ...], GroupCells] = {}
    views = [_view(profile, req, table, cache) for req in profile.requirements]
    _resample(profile, table, views)
    conf = profile.inference.confidence
    frames = [_rows(v, table, conf, profile.inference.bootstrap.unit == "cluster") for v in views]
    unknown = {gc.family: gc.unknown_rows(table) for gc in cache.values() if gc.family != "overall"}
    return pd.concat(frames, ignore_index=True)[MEASUREMENT_COLUMNS], unknown


def _rows(v: View, table: AtomTable, confidence: float, clustered: bool) -> pd.DataFrame:
    value = v.metric_values(table, table.count)
    lo, hi, p, ref = _inference(v, table, confidence, clustered)
    method = np.full(v.cells.n_groups, v.interval, dtype=object)
    if v.interval.startswith("bootstrap") and v.base.kind == "proportion" and not v.relative:
        lo, hi, degenerate = _degenerate_fallback(v, table, lo, hi, confidence, clustered)
        method[degenerate] = "clopper_pearson"
    n, pos = v.n, v.positives
    return pd.DataFrame({
        "requirement": v.req.id,
        "metric": v.req.metric,
        "family": v.cells.family,
        "group": v.cells.groups,
        "value": value,
        "ci_low": lo,
        "ci_high": hi,
        "interval": method,
        "n": n.astype(np.int64),
        "positives": pos if table.is_regression else pos.astype(np.int64),
        "negatives": n - pos if table.is_regression else (n - pos).astype(np.int64),
        "excluded": ~v.eligible,
        "p_value": p,
        # flags use these: the raw p-values corrected across the requirement's comparisons
        "p_adjusted": p if v.req.significance is None else adjust_p_values(p, v.req.significance.adjust),
        "reference_group": ref,
    })


def _inference(v: View, table: AtomTable, confidence: float, clustered: bool):
    g = v.cells.n_groups
    p_val = np.full(g, np.nan)
    ref_name = ""
    if v.relative and v.eligible.any():
        ref = between.reference(v.base_values(table, table.count), v.eligible, v.req.metric, v.base.direction)
        ref_name = v.cells.groups[ref] if ref is not None else ""
        if ref is not None and v.req.significance is not None:
            p_val = between.p_values(v, table, ref, clustered)
    if v.interval.startswith("bootstrap"):
        draws = np.concatenate(v.draws, axis=0)
        if v.interval == "bootstrap_bca":
            lo, hi = bca_interval(draws, v.resampled, np.concatenate(v.jack, axis=0),
                                  np.concatenate(v.jack_weight), confidence)
        elif v.interval == "bootstrap_t":
            lo, hi = bootstrap_t_interval(draws, np.concatenate(v.se_draws, axis=0), v.resampled,
                                          v.standard_errors(table, table.count), confidence)
        else:
            lo, hi = percentile_interval(draws, confidence)
        if v.base.needs_score:  # move the resampling grid's interval to the reported value
            shift = v.interval_values(table, table.count) - v.resampled
            shift = np.where(np.isfinite(shift), shift, 0.0)
            lo, hi = lo + shift, hi + shift
    elif v.interval == "katz_log":
        lo, hi = between.katz(v, confidence)
    else:
        x, n = v.base.parts(v.counted)
        lo, hi = (wilson if v.interval == "wilson" else clopper_pearson)(x, n, confidence)
    if v.relative:
        lo, hi = between.cap(v.req.metric, lo, hi)
    lo, hi = np.where(v.eligible, lo, np.nan), np.where(v.eligible, hi, np.nan)
    return lo, hi, p_val, ref_name


def _degenerate_fallback(v: View, table: AtomTable, lo: np.ndarray, hi: np.ndarray, confidence: float,
                         clustered: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clopper-Pearson with the effective sample size where a proportion is observed at 0 or 1."""
    x, n = v.base.parts(v.counted)
    degenerate = v.eligible & (n > 0) & ((x == 0) | (x == n))
    if not degenerate.any():
        return lo, hi, degenerate
    n_eff = n.astype(np.float64)
    in_den = _denominator_atoms(v.base, table) & (v.cells.atom_group >= 0) & (table.count > 0)
    if v.weighted:
        g = v.cells.n_groups
        w1, w2 = (np.bincount(v.cells.atom_group[in_den], weights=(table.count * table.weight**k)[in_den],
                              minlength=g) for k in (1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = np.where(w2 > 0, w1 * w1 / np.where(w2 > 0, w2, 1), n_eff)
    if clustered and table.cluster is not None:
        pairs = np.unique(np.stack([v.cells.atom_group[in_den], table.cluster[in_den]]), axis=1)
        n_eff = np.minimum(n_eff, np.bincount(pairs[0], minlength=v.cells.n_groups))
    x_eff = np.where(x == 0, 0.0, n_eff)
    cp_lo, cp_hi = clopper_pearson(x_eff, n_eff, confidence)
    return np.where(degenerate, cp_lo, lo), np.where(degenerate, cp_hi, hi), degenerate


def _denominator_atoms(metric: Metric, table: AtomTable) -> np.ndarray:
    """Whether each atom's (label, decision) cell counts in the metric's denominator."""
    if table.is_regression:
        return np.ones(len(table.count), dtype=bool)  # within_tolerance: a share of every row
    unit = np.eye(4).reshape(4, 1, 2, 2)
    in_cell = metric.parts(Cells(unit))[1][:, 0] > 0
    return in_cell[table.label.astype(np.int64) * 2 + table.decision]










def requirement_views(profile: Profile, table: AtomTable) -> list[View]:
    """One view per requirement, as ``measure`` builds them (for paired comparisons of two tables)."""
    cache: dict[tuple[str, ...], GroupCells] = {}
    return [_view(profile, req, table, cache) for req in profile.requirements]


def resampling_scheme(profile: Profile, table: AtomTable) -> dict[str, np.ndarray | None]:
    """Cluster or strata codes per atom of ``table``, as the profile's bootstrap declares."""
    return _scheme(profile, table)
