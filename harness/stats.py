"""Sufficient statistics: a benchmark of N rows reduced to weighted counts per atom.

An *atom* is one distinct combination of (grouping columns, true label, decision,
score bin, row weight). Every metric of every group is a function of per-group sums
over atoms, so resampling rows with replacement is the same, in distribution, as
drawing atom counts from a multinomial (see ``resampling.py``). Atom tables merge by
addition, which is what lets chunks and workers combine.

Scores live on a shared grid. When the scores take at most ``MAX_EXACT_BINS``
distinct values the grid is those values and every score metric is exact; otherwise
the grid is ``MAX_EXACT_BINS`` equal-width bins over the observed range and
``ScoreGrid.exact`` is False, which the evidence records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = ["AtomTable", "GroupCells", "ScoreGrid", "UNKNOWN", "build_atoms", "family_cells", "family_name"]

MAX_EXACT_BINS = 50_000
UNKNOWN = "(unknown)"
_SEP = " × "


@dataclass(frozen=True)
class ScoreGrid:
    values: np.ndarray  # representative score of each bin, ascending
    exact: bool


@dataclass(frozen=True)
class AtomTable:
    """One row per atom; ``keys`` holds the grouping columns as strings."""

    keys: pd.DataFrame
    label: np.ndarray  # int8
    decision: np.ndarray  # int8
    score_bin: np.ndarray | None  # int32 index into grid.values
    weight: np.ndarray  # float64 weight of one row of this atom (1.0 unweighted)
    count: np.ndarray  # int64 rows in the atom
    grid: ScoreGrid | None

    @property
    def n_rows(self) -> int:
        return int(self.count.sum())


@dataclass(frozen=True)
class GroupCells:
    """How atoms map to the groups of one family (an intersection of columns)."""

    family: str
    groups: list[str]
    atom_group: np.ndarray  # group index per atom, -1 when a column is unknown
    n_bins: int

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    def conf_matrix(self, table: AtomTable, *, weighted: bool) -> sparse.csr_matrix:
        """Atoms → (group, label, decision) cells; entry = the weight one row adds."""
        keep = self.atom_group >= 0
        cols = self.atom_group[keep] * 4 + table.label[keep] * 2 + table.decision[keep]
        return self._matrix(table, keep, cols, 4, weighted)

    def hist_matrix(self, table: AtomTable, *, weighted: bool) -> sparse.csr_matrix:
        """Atoms → (group, label, score bin) cells."""
        if table.score_bin is None:
            raise ValueError("score histogram requested but no scores were given")
        keep = self.atom_group >= 0
        s = self.n_bins
        cols = (self.atom_group[keep] * 2 + table.label[keep]) * s + table.score_bin[keep]
        return self._matrix(table, keep, cols, 2 * s, weighted)

    def _matrix(
        self, table: AtomTable, keep: np.ndarray, cols: np.ndarray, width: int, weighted: bool
    ) -> sparse.csr_matrix:
        rows = np.flatnonzero(keep)
        vals = table.weight[keep] if weighted else np.ones(rows.size)
        shape = (len(table.count), self.n_groups * width)
        return sparse.csr_matrix((vals, (rows, cols.astype(np.int64))), shape=shape)

    def unknown_rows(self, table: AtomTable) -> int:
        return int(table.count[self.atom_group < 0].sum())


def family_name(columns: Sequence[str]) -> str:
    return _SEP.join(columns) if columns else "overall"


def _score_grid(score: np.ndarray) -> tuple[ScoreGrid, np.ndarray]:
    uniq, inverse = np.unique(score, return_inverse=True)
    if uniq.size <= MAX_EXACT_BINS:
        return ScoreGrid(values=uniq, exact=True), inverse.astype(np.int32)
    lo, hi = float(score.min()), float(score.max())
    edges = np.linspace(lo, hi, MAX_EXACT_BINS + 1)
    idx = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, MAX_EXACT_BINS - 1)
    sums = np.bincount(idx, weights=score, minlength=MAX_EXACT_BINS)
    cnt = np.bincount(idx, minlength=MAX_EXACT_BINS)
    mids = (edges[:-1] + edges[1:]) / 2
    centre = np.where(cnt > 0, sums / np.maximum(cnt, 1), mids)
    return ScoreGrid(values=centre, exact=False), idx.astype(np.int32)


def build_atoms(
    groups: pd.DataFrame,
    label: np.ndarray,
    decision: np.ndarray,
    *,
    score: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> AtomTable:
    """Collapse rows into atoms, sorted so the table is the same for any row order."""
    n = len(label)
    cols: dict[str, np.ndarray] = {
        c: groups[c].astype("string").fillna(UNKNOWN).to_numpy(dtype=object) for c in groups.columns
    }
    frame = pd.DataFrame(cols)
    frame["__label"] = np.asarray(label, dtype=np.int8)
    frame["__decision"] = np.asarray(decision, dtype=np.int8)
    grid = None
    if score is not None:
        grid, bins = _score_grid(np.asarray(score, dtype=np.float64))
        frame["__bin"] = bins
    frame["__weight"] = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    keys = list(frame.columns)
    agg = frame.groupby(keys, sort=True, dropna=False, observed=True).size().reset_index(name="__n")
    return AtomTable(
        keys=agg[list(groups.columns)].reset_index(drop=True),
        label=agg["__label"].to_numpy(np.int8),
        decision=agg["__decision"].to_numpy(np.int8),
        score_bin=agg["__bin"].to_numpy(np.int32) if score is not None else None,
        weight=agg["__weight"].to_numpy(np.float64),
        count=agg["__n"].to_numpy(np.int64),
        grid=grid,
    )


def family_cells(table: AtomTable, columns: Sequence[str]) -> GroupCells:
    """Groups of the intersection of ``columns``; atoms with an unknown value get -1."""
    n_bins = 0 if table.grid is None else table.grid.values.size
    if not columns:
        return GroupCells("overall", ["all"], np.zeros(len(table.count), dtype=np.int64), n_bins)
    sub = table.keys[list(columns)]
    unknown = (sub == UNKNOWN).any(axis=1).to_numpy()
    labels = sub.agg(_SEP.join, axis=1).to_numpy(dtype=object)
    names = sorted(set(labels[~unknown].tolist()))
    lookup = {name: i for i, name in enumerate(names)}
    idx = np.array([lookup.get(x, -1) for x in labels], dtype=np.int64)
    idx[unknown] = -1
    return GroupCells(family_name(columns), names, idx, n_bins)
