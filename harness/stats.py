"""Sufficient statistics: a benchmark of N rows reduced to weighted counts per atom.

An *atom* is one distinct combination of (grouping columns, true label, decision,
score, row weight, and cluster when a unit of analysis is declared). Every metric of
every group is a function of per-group sums over atoms, so resampling rows with
replacement is the same, in distribution, as drawing atom counts from a multinomial
(see ``resampling.py``). Atom tables merge by adding counts, which is what lets chunks
of a stream and partitions on Dask workers combine into exactly the table one pass
over all rows would give.

Scores. While the scores take at most ``bins`` distinct values, atoms keep each exact
value and every score metric is exact. Beyond that, every score is replaced by the
midpoint of its bin among ``bins`` equal-width bins over ``score_range``; binning is a
function of the score alone, so binning chunks and then merging gives the same table as
merging and then binning. ``ScoreGrid.exact`` records which case applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import PredictionsError

__all__ = [
    "AtomTable",
    "GridSpec",
    "GroupCells",
    "ScoreGrid",
    "UNKNOWN",
    "build_atoms",
    "build_regression_atoms",
    "coarse_index",
    "coarsen",
    "family_cells",
    "family_name",
    "merge_atoms",
    "sum_cells",
]

UNKNOWN = "(unknown)"
DEFAULT_BINS = 10_000
_SEP = " × "
_L, _D, _S, _W, _C, _N = "__label", "__decision", "__score", "__weight", "__cluster", "__n"
_Y, _P = "__outcome", "__prediction"  # regression atoms: the outcome and the prediction, exact


@dataclass(frozen=True)
class GridSpec:
    """How scores are kept: exact up to ``bins`` distinct values, else binned on ``score_range``."""

    bins: int = DEFAULT_BINS
    score_range: tuple[float, float] = (0.0, 1.0)

    def bin_midpoints(self, score: np.ndarray) -> np.ndarray:
        lo, hi = self.score_range
        outside = (score < lo) | (score > hi)
        if outside.any():
            raise PredictionsError(
                f"scores take more than {self.bins:,} distinct values, so they are binned over score_range "
                f"[{lo:g}, {hi:g}], but {int(outside.sum()):,} lie outside it (e.g. {score[outside][0]!r}); "
                "declare inference.score_range to cover them or raise inference.score_bins")
        width = (hi - lo) / self.bins
        idx = np.clip(np.floor((score - lo) / width).astype(np.int64), 0, self.bins - 1)
        return lo + (idx + 0.5) * width


@dataclass(frozen=True)
class ScoreGrid:
    values: np.ndarray  # distinct score values (or bin midpoints), ascending
    exact: bool


@dataclass(frozen=True)
class AtomTable:
    """One row per atom in ``frame``: group columns as text, then the reserved columns."""

    frame: pd.DataFrame
    groups: tuple[str, ...]
    spec: GridSpec = field(default_factory=GridSpec)
    exact: bool = True

    @cached_property
    def keys(self) -> pd.DataFrame:
        return self.frame[list(self.groups)].reset_index(drop=True)

    @cached_property
    def label(self) -> np.ndarray:
        return self.frame[_L].to_numpy(np.int8)

    @cached_property
    def decision(self) -> np.ndarray:
        return self.frame[_D].to_numpy(np.int8)

    @cached_property
    def weight(self) -> np.ndarray:
        return self.frame[_W].to_numpy(np.float64)

    @cached_property
    def count(self) -> np.ndarray:
        return self.frame[_N].to_numpy(np.int64)

    @cached_property
    def grid(self) -> ScoreGrid | None:
        if _S not in self.frame:
            return None
        return ScoreGrid(np.unique(self.frame[_S].to_numpy(np.float64)), self.exact)

    @cached_property
    def score_bin(self) -> np.ndarray | None:
        if self.grid is None:
            return None
        return np.searchsorted(self.grid.values, self.frame[_S].to_numpy(np.float64)).astype(np.int32)

    @cached_property
    def cluster(self) -> np.ndarray | None:
        """Cluster index per atom (0..n_clusters-1), or None without a unit of analysis."""
        if _C not in self.frame:
            return None
        return np.unique(self.frame[_C].to_numpy(object).astype(str), return_inverse=True)[1].astype(np.int64)

    @property
    def n_clusters(self) -> int:
        return 0 if self.cluster is None else int(self.cluster.max(initial=-1) + 1)

    @property
    def n_rows(self) -> int:
        return int(self.count.sum())

    @property
    def is_regression(self) -> bool:
        return _Y in self.frame

    @cached_property
    def outcome(self) -> np.ndarray:
        return self.frame[_Y].to_numpy(np.float64)

    @cached_property
    def prediction(self) -> np.ndarray:
        return self.frame[_P].to_numpy(np.float64)


def _collapse(frame: pd.DataFrame, groups: Sequence[str], spec: GridSpec, exact: bool,
              labels: dict[str, np.ndarray] | None = None) -> AtomTable:
    """Sum counts per distinct key; bin the scores once they outgrow the grid.

    Text columns are grouped by their codes in sorted order, which orders the atoms exactly
    as sorting the text would, so the table is the same whatever the row order or chunking.
    ``labels`` gives, for columns that already hold such codes, the text of each code.
    """
    keys = [c for c in frame.columns if c != _N]
    text = [c for c in keys if c in groups or c == _C]
    names = dict(labels or {})
    codes: dict[str, np.ndarray] = {}
    for c in keys:
        if c in names:
            codes[c] = frame[c].to_numpy()
            continue
        values = frame[c].to_numpy(dtype=object) if c in text else frame[c].to_numpy()
        if c == _S and exact:
            raw, distinct = pd.factorize(values)
            if len(distinct) > spec.bins:  # outgrown the grid: bin, then number the bins in use
                values, exact = spec.bin_midpoints(values.astype(np.float64)), False
            else:
                order = np.argsort(distinct, kind="stable")
                rank = np.empty(len(distinct), dtype=np.int64)
                rank[order] = np.arange(len(distinct))
                codes[c], names[c] = rank[raw], np.asarray(distinct)[order]
                continue
        codes[c], names[c] = pd.factorize(values, sort=True)
    agg = _sum_by_codes(codes, names, frame[_N].to_numpy(np.int64), keys)
    return AtomTable(agg, tuple(groups), spec, exact)


def _sum_by_codes(codes: dict[str, np.ndarray], names: dict[str, Any], count: np.ndarray,
                  keys: list[str]) -> pd.DataFrame:
    """Counts summed per distinct combination of codes, in lexicographic order of the codes.

    The codes of every column are ranks of its sorted distinct values, so one mixed-radix
    integer per row orders the rows exactly as sorting the values column by column would.
    """
    radix = [max(1, len(names[c])) for c in keys]
    if math.prod(radix) >= 2**62:  # too many combinations for one integer: let pandas group them
        coded = pd.DataFrame({c: codes[c] for c in keys}).assign(**{_N: count})
        agg = coded.groupby(keys, sort=True)[_N].sum().reset_index()
        per_column = {c: agg[c].to_numpy() for c in keys}
        summed = agg[_N].to_numpy(np.int64)
    else:
        key = np.zeros(len(count), dtype=np.int64)
        for c, r in zip(keys, radix):
            key = key * r + codes[c].astype(np.int64)
        if math.prod(radix) <= max(4 * len(count), 1 << 20):  # few possible keys: count them directly
            totals = np.bincount(key, weights=count, minlength=math.prod(radix))
            distinct = np.flatnonzero(totals)
            summed = totals[distinct].astype(np.int64)
        else:
            distinct, inverse = np.unique(key, return_inverse=True)
            summed = np.bincount(inverse, weights=count, minlength=distinct.size).astype(np.int64)
        per_column = {}
        for c, r in zip(reversed(keys), reversed(radix)):
            distinct, per_column[c] = np.divmod(distinct, r)
    out = {c: np.asarray(names[c])[per_column[c]] for c in keys}
    out[_N] = summed
    return pd.DataFrame(out)


def _text_codes(column: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a column's values read as text (missing: UNKNOWN), numbered in sorted order of the text.

    Only the distinct values are converted to text, so a column of millions of rows is never
    turned into Python strings row by row.
    """
    series = column if isinstance(column, pd.Series) else pd.Series(column)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = pd.Series(uniques).astype("string").fillna(UNKNOWN).to_numpy(dtype=object)
    text = np.append(text, UNKNOWN)  # code -1 (missing) reads the last entry
    rank, names = pd.factorize(text, sort=True)
    return rank[codes].astype(np.int64), np.asarray(names, dtype=object)


def build_atoms(
    groups: pd.DataFrame,
    label: np.ndarray,
    decision: np.ndarray,
    *,
    score: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
    spec: GridSpec | None = None,
) -> AtomTable:
    """Collapse rows into atoms, sorted so the table is the same for any row order."""
    values = {_L: np.asarray(label, dtype=np.int8), _D: np.asarray(decision, dtype=np.int8)}
    if score is not None:
        values[_S] = np.asarray(score, dtype=np.float64)
    return _atoms(groups, values, weight, cluster, spec or GridSpec())


def build_regression_atoms(
    groups: pd.DataFrame,
    outcome: np.ndarray,
    prediction: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
) -> AtomTable:
    """Atoms of a regression benchmark: distinct (groups, outcome, prediction, weight, cluster).

    Outcomes and predictions are kept exactly, so every regression metric is exact; with
    continuous values nearly every row is its own atom.
    """
    values = {_Y: np.asarray(outcome, dtype=np.float64), _P: np.asarray(prediction, dtype=np.float64)}
    return _atoms(groups, values, weight, cluster, GridSpec())


def _atoms(groups: pd.DataFrame, values: dict[str, np.ndarray], weight: np.ndarray | None,
           cluster: np.ndarray | None, spec: GridSpec) -> AtomTable:
    """Columns in the order of every atom table: groups, the row's values, weight, cluster, count."""
    n = len(next(iter(values.values())))
    cols: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for c in groups.columns:
        cols[c], labels[c] = _text_codes(groups[c])
    cols.update(values)
    cols[_W] = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    if cluster is not None:
        cols[_C], labels[_C] = _text_codes(np.asarray(cluster))
    cols[_N] = np.ones(n, dtype=np.int64)
    return _collapse(pd.DataFrame(cols), list(groups.columns), spec, True, labels)


def merge_atoms(tables: Iterable[AtomTable]) -> AtomTable:
    """The atom table of the union of the rows behind ``tables`` (chunks, partitions)."""
    tables = list(tables)
    if not tables:
        raise ValueError("nothing to merge: no atom tables")
    first = tables[0]
    if any(t.groups != first.groups or t.spec != first.spec for t in tables):
        raise ValueError("atom tables with different group columns or score grids cannot be merged")
    exact = all(t.exact for t in tables)
    frames = [t.frame if exact or not t.exact else _binned(t, t.spec) for t in tables]
    return _collapse(pd.concat(frames, ignore_index=True), first.groups, first.spec, exact)


def coarsen(table: AtomTable, bins: int) -> AtomTable:
    """The same rows with every score at the midpoint of its bin among ``bins`` equal-width bins.

    The bootstrap resamples this table (its cost follows the number of atoms); ``table``
    itself comes back when its scores already take at most ``bins`` values. Bins span
    ``score_range``, widened to the scores if some lie outside it. Only the score column
    changes, so every count, weight and group total is the same as in ``table``.
    """
    if table.grid is None or table.grid.values.size <= bins:
        return table
    scores = table.frame[_S].to_numpy(np.float64)
    lo, hi = table.spec.score_range
    spec = GridSpec(bins, (min(lo, float(scores.min())), max(hi, float(scores.max()))))
    return _collapse(_binned(table, spec), table.groups, spec, False)


def coarse_index(table: AtomTable, coarse: AtomTable) -> np.ndarray:
    """For each atom of ``table``, the atom of ``coarsen(table, ...)`` that holds its rows."""
    keys = [c for c in table.frame.columns if c != _N]
    where = coarse.frame[keys].reset_index(names="__atom")
    return _binned(table, coarse.spec)[keys].merge(where, on=keys, how="left")["__atom"].to_numpy(np.int64)


def _binned(table: AtomTable, spec: GridSpec) -> pd.DataFrame:
    """The table's atoms with each score replaced by the midpoint of its bin on ``spec``."""
    return table.frame.assign(**{_S: spec.bin_midpoints(table.frame[_S].to_numpy(np.float64))})


@dataclass(frozen=True)
class GroupCells:
    """How atoms map to the groups of one family (an intersection of columns), and to its cells.

    Each cell index maps an atom to one entry of a flat cell vector; atoms of an unknown
    category map to one extra entry past the end, dropped after summing.
    """

    family: str
    groups: list[str]
    atom_group: np.ndarray  # group index per atom, -1 when a column is unknown
    n_bins: int
    conf_index: np.ndarray  # (group, label, decision) cell per atom
    hist_index: np.ndarray | None  # (group, label, score bin) cell per atom

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def conf(self, table: AtomTable, counts: np.ndarray, *, weighted: bool) -> np.ndarray:
        """(group, label, decision) totals for ``counts`` (..., atoms): shape (..., G, 2, 2)."""
        out = sum_cells(self.conf_index, self.n_groups * 4, counts, table.weight if weighted else None)
        return out.reshape(*counts.shape[:-1], self.n_groups, 2, 2)

    def hist(self, table: AtomTable, counts: np.ndarray, *, weighted: bool) -> np.ndarray:
        """(group, label, score bin) totals: shape (..., G, 2, S)."""
        if self.hist_index is None:
            raise ValueError("score histogram requested but no scores were given")
        out = sum_cells(self.hist_index, self.n_groups * 2 * self.n_bins, counts,
                        table.weight if weighted else None)
        return out.reshape(*counts.shape[:-1], self.n_groups, 2, self.n_bins)

    def moments(self, table: AtomTable, counts: np.ndarray, *, weighted: bool,
                tolerance: float | None) -> np.ndarray:
        """Regression sums per group (see ``metrics.MOMENTS``): shape (..., G, 8)."""
        error = table.prediction - table.outcome
        centred = table.outcome - self._group_means(table)[np.maximum(self.atom_group, 0)]
        within = np.zeros_like(error) if tolerance is None else (np.abs(error) <= tolerance).astype(np.float64)
        base = table.weight if weighted else np.ones_like(error)
        features = (np.ones_like(error), error, np.abs(error), error**2, centred, centred**2, within, error**4)
        out = [sum_cells(self.atom_group, self.n_groups, counts, base * f) for f in features]
        return np.stack(out, axis=-1)

    def _group_means(self, table: AtomTable) -> np.ndarray:
        """Each group's mean outcome over the benchmark: fixed constants the moments are taken about."""
        known = self.atom_group >= 0
        rows = np.bincount(self.atom_group[known], weights=table.count[known], minlength=self.n_groups)
        total = np.bincount(self.atom_group[known], weights=(table.count * table.outcome)[known],
                            minlength=self.n_groups)
        return np.where(rows > 0, total / np.where(rows > 0, rows, 1), 0.0)

    def sample(self, table: AtomTable, counts: np.ndarray) -> np.ndarray:
        """Unweighted score-bin totals over every row, unknown categories included (LL144's median)."""
        return sum_cells(table.score_bin.astype(np.int64), self.n_bins, counts, None)

    def unknown_rows(self, table: AtomTable) -> int:
        return int(table.count[self.atom_group < 0].sum())


def sum_cells(index: np.ndarray, width: int, counts: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """Per-cell totals of ``counts`` (..., atoms), each atom adding ``weight`` per row; shape (..., width)."""
    lead = counts.shape[:-1]
    flat = counts.reshape(-1, counts.shape[-1])
    values = flat * weight if weight is not None else flat
    b, a = flat.shape
    full = width + 1  # the last entry collects atoms outside every cell
    where = np.where(index < 0, width, index)
    offsets = (np.arange(b, dtype=np.int64) * full)[:, None] + where[None, :]
    out = np.bincount(offsets.ravel(), weights=np.asarray(values, dtype=np.float64).ravel(), minlength=b * full)
    return out.reshape(b, full)[:, :width].reshape(*lead, width)


def family_name(columns: Sequence[str]) -> str:
    return _SEP.join(columns) if columns else "overall"


def family_cells(table: AtomTable, columns: Sequence[str]) -> GroupCells:
    """Groups of the intersection of ``columns`` (sorted by name); atoms with an unknown value get -1."""
    n_atoms = len(table.count)
    if not columns:
        group = np.zeros(n_atoms, dtype=np.int64)
        names = ["all"]
    else:
        sub = table.keys[list(columns)]
        unknown = (sub == UNKNOWN).any(axis=1).to_numpy()
        parts = [pd.factorize(sub[c].to_numpy(dtype=object), sort=True) for c in columns]
        combined = np.ravel_multi_index([codes for codes, _ in parts], [len(u) for _, u in parts])
        present, inverse = np.unique(combined[~unknown], return_inverse=True)
        coords = np.unravel_index(present, [len(u) for _, u in parts])
        labels = [_SEP.join(str(parts[k][1][coords[k][i]]) for k in range(len(columns)))
                  for i in range(present.size)]
        order = sorted(range(len(labels)), key=labels.__getitem__)
        rank = np.empty(len(labels), dtype=np.int64)
        rank[order] = np.arange(len(labels))
        names = [labels[i] for i in order]
        group = np.full(n_atoms, -1, dtype=np.int64)
        group[~unknown] = rank[inverse]
    if table.is_regression:
        return GroupCells(family_name(columns), names, group, 0, np.full(n_atoms, -1, dtype=np.int64), None)
    n_bins = 0 if table.grid is None else table.grid.values.size
    label, decision = table.label.astype(np.int64), table.decision.astype(np.int64)
    known = group >= 0
    conf = np.where(known, group * 4 + label * 2 + decision, -1)
    hist = None
    if table.score_bin is not None:
        hist = np.where(known, (group * 2 + label) * n_bins + table.score_bin, -1)
    return GroupCells(family_name(columns), names, group, n_bins, conf, hist)
