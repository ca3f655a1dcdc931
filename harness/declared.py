"""Declared predictions: a vendor's CSV or Parquet file of predictions keyed by benchmark id.

The file is untrusted input: it is read once here, checked on every row (not only the rows
judged), and matched to the benchmark's ids, so later stages see the same ``Predictions``
as from a model. Bytes become a table in ``harness.tables``; errors name the file, the
column, the line (CSV) or row (Parquet) and the id, what was expected and how to fix it.
"""

from __future__ import annotations

import hashlib
import re
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from . import tables
from .errors import PredictionsError
from .predictors import SHOWN, Locate, Predictions, _decisions, _scores
from .tables import PREDICTION_SUFFIXES

__all__ = ["MAX_BYTES", "MAX_ROWS", "PREDICTION_SUFFIXES", "read_predictions"]

MAX_BYTES = 2 * 1024**3  # 2 GiB: a predictions file on disk, and a .csv.gz once decompressed
MAX_ROWS = 50_000_000  # rows of a predictions file, rows for ids the benchmark does not judge included

_FLOAT_ID = re.compile(r"^(-?\d+)\.0+$")


def read_predictions(path: str | Path, *, expected_ids: np.ndarray, task: str = "binary_classification",
                     score_range: tuple[float, float] | None = None) -> Predictions:
    """Read declared predictions (columns ``id``, ``decision``, optional ``score``).

    For ``task="regression"`` the columns are ``id`` and ``prediction`` (a finite number).
    Rows are matched to ``expected_ids`` by value and returned in their order; ids not
    expected are ignored, but every row of the file must be valid, and every score must lie
    in ``score_range`` when one is given. Caps: ``MAX_BYTES`` and ``MAX_ROWS``.
    """
    path, expected_ids = Path(path), np.asarray(expected_ids)
    regression = task == "regression"
    data, table = tables.read_table(path, required=("id", "prediction") if regression else ("id", "decision"),
                                    max_bytes=MAX_BYTES, max_rows=MAX_ROWS)
    who = f"predictions file {path}"
    csv = not tables.is_parquet(path)
    if table.empty:
        raise PredictionsError(f"{who} has {'a header line' if csv else 'columns'} but no rows; expected one row "
                               f"per benchmark id ({len(expected_ids)} expected ids)")
    lines = partial(_where, csv=csv)
    keys, expected_keys, hint = _id_keys(table["id"], expected_ids, who=who, locate=lines, csv=csv)
    _check_unique(keys, who=who, locate=lines)
    locate = partial(_where, csv=csv, ids=table["id"].to_numpy())
    decision, score, value = _values(table, regression=regression, score_range=score_range, who=who, locate=locate)
    rows = pd.Index(keys).get_indexer(expected_keys)
    _check_present(rows, expected_ids, keys=keys, file_ids=table["id"].to_numpy(), who=who, hint=hint)
    sha256 = hashlib.sha256(data).hexdigest()
    source = {"kind": "file", "uri": str(path), "sha256": sha256, "fingerprint": sha256[:16]}

    def pick(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[rows]

    return Predictions(ids=expected_ids.copy(), decision=pick(decision), score=pick(score), source=source,
                       value=pick(value))


Values = tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]  # decision, score, value


def _values(table: pd.DataFrame, *, regression: bool, score_range: tuple[float, float] | None, who: str,
            locate: Locate) -> Values:
    """Every row's decision and score (or predicted value), checked; the file's text shows in errors."""
    if regression:
        column = table["prediction"]
        value = _scores(_numbers(column, booleans=False), column.to_numpy(), who=who, locate=locate,
                        what="prediction")
        return None, None, value
    column = table["decision"]
    decision = _decisions(_numbers(column, booleans=True), column.to_numpy(), who=who, locate=locate)
    if "score" not in table.columns:
        return decision, None, None
    column = table["score"]
    score = _scores(_numbers(column, booleans=False), column.to_numpy(), who=who, locate=locate)
    if score_range is not None:
        _check_range(score, column.to_numpy(), score_range, who=who, locate=locate)
    return decision, score, None


def _where(at: np.ndarray, *, csv: bool, ids: np.ndarray | None = None) -> str:
    """Rows of a file as a reader finds them: CSV line numbers, Parquet row numbers, and their ids."""
    numbers = ", ".join(str(p + 2 if csv else p) for p in at)
    named = "" if ids is None else f"{'id' if len(at) == 1 else 'ids'} {', '.join(str(v) for v in ids[at])}"
    if csv:
        return f"lines {numbers}" + (f" ({named})" if named else "")
    return f"rows {numbers} (counting from 0" + (f"; {named})" if named else ")")


def _numbers(column: pd.Series, *, booleans: bool) -> np.ndarray:
    """A column's values, with text cells (every CSV cell, or a Parquet text column) read as numbers."""
    if column.dtype.kind != "O" or not column.map(lambda v: isinstance(v, str)).any():
        return column.to_numpy()
    text = column.astype(str).str.strip().str.lower()
    if booleans:
        text = text.replace({"true": "1", "false": "0"})
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)


def _id_keys(ids: pd.Series, expected: np.ndarray, *, who: str, locate: Locate,
             csv: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """Keys matching file ids to expected ids (values, or text if dtypes differ), and a hint."""
    empty = ids.isna().to_numpy() | ids.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    if empty.any():
        at = np.flatnonzero(empty)[:SHOWN]
        raise PredictionsError(f"{who} has {_count(empty.sum(), 'row')} without an id, first at "
                               f"{locate(at)}; expected an id on every row (a blank line is a row without one)")
    if ids.dtype == expected.dtype:
        return ids.to_numpy(), expected, ""
    hint = ""
    if not csv and (ids.dtype.kind in "biuf") != (expected.dtype.kind in "biuf"):
        hint = (f" (ids were compared as text because the file's id column is {ids.dtype} "
                f"and the benchmark ids are {expected.dtype})")
    return ids.astype(str).to_numpy(dtype=object), expected.astype(str).astype(object), hint


def _check_unique(keys: np.ndarray, *, who: str, locate: Locate) -> None:
    repeated = pd.Index(keys).duplicated(keep=False)
    if repeated.any():
        names = pd.unique(keys[repeated])
        shown = [f"{name} ({locate(np.flatnonzero(keys == name))})" for name in names[:SHOWN]]
        raise PredictionsError(f"{who}: {_count(len(names), 'id')} {'appears' if len(names) == 1 else 'appear'} "
                               "more than once, first "
                               f"{'; '.join(shown)}; expected each id once")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _check_range(score: np.ndarray, found: np.ndarray, score_range: tuple[float, float], *, who: str,
                 locate: Locate) -> None:
    lo, hi = score_range
    bad = (score < lo) | (score > hi)
    if bad.any():
        at = np.flatnonzero(bad)[:SHOWN]
        raise PredictionsError(
            f"{who}: score is outside the profile's range [{lo:g}, {hi:g}] on {bad.sum()} of {len(score)} rows, "
            f"first at {locate(at)}: found {found[at].tolist()}; expected scores from {lo:g} to {hi:g} on every "
            "row of the file: rescale them (probabilities, for example)")


def _check_present(rows: np.ndarray, expected: np.ndarray, *, keys: np.ndarray, file_ids: np.ndarray, who: str,
                   hint: str) -> None:
    missing = rows < 0
    if not missing.any():
        return
    found = int((~missing).sum())
    shown = ", ".join(repr(v) for v in file_ids[:SHOWN].tolist()) + (", ..." if len(file_ids) > SHOWN else "")
    raise PredictionsError(
        f"{who} has no row for {missing.sum()} of the {len(expected)} expected ids, first "
        f"{expected[missing][:SHOWN].tolist()}; expected a row for every benchmark id{hint}; the file's "
        f"{len(keys)} rows start with ids [{shown}], {found or 'none'} of them expected"
        + _near_misses(keys, expected[missing]))


def _near_misses(keys: np.ndarray, missing: np.ndarray) -> str:
    """Why ids that look alike do not match: spaces around them, or a float's trailing '.0'."""
    lost = [str(v) for v in missing]
    for normal, why, fix in ((str.strip, "the spaces around them", "write the ids without spaces"),
                             (lambda s: _FLOAT_ID.sub(r"\1", s.strip()), "a trailing '.0'",
                              "write the ids as integers")):
        written: dict[str, str] = {}
        for key in keys:
            written.setdefault(normal(str(key)), str(key))
        hits = [i for i, v in enumerate(lost) if v in written]
        if hits:
            first = hits[0]
            return (f"; {len(hits)} would match without {why} ({written[lost[first]]!r} for "
                    f"{missing[first:first + 1].tolist()[0]!r}): {fix}")
    return ""
