"""Declared predictions: a vendor's CSV or Parquet file of predictions keyed by benchmark id.

The file is untrusted input: it is read once here, checked row by row, and matched to the
benchmark's ids, so later stages see the same ``Predictions`` as from a model.
"""

from __future__ import annotations

import hashlib
import io
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PredictionsError
from .predictors import SHOWN, Locate, Predictions, _decisions, _scores

__all__ = ["PREDICTION_SUFFIXES", "read_predictions"]

PREDICTION_SUFFIXES = (".csv", ".csv.gz", ".parquet")


def read_predictions(path: str | Path, *, expected_ids: np.ndarray,
                     task: str = "binary_classification") -> Predictions:
    """Read declared predictions (columns ``id``, ``decision``, optional ``score``).

    For ``task="regression"`` the columns are ``id`` and ``prediction`` (a finite number).
    Rows are matched to ``expected_ids`` by value and returned in their order; ids
    not expected are ignored, but every row of the file must be valid.
    """
    path, expected_ids = Path(path), np.asarray(expected_ids)
    data = _read_bytes(path)
    regression = task == "regression"
    table = _parse_table(data, path, required=("id", "prediction") if regression else ("id", "decision"))
    who = f"predictions file {path}"
    locate = partial(_where, csv=not path.name.lower().endswith(".parquet"))
    keys, expected_keys, hint = _id_keys(table["id"], expected_ids, who=who, locate=locate)
    _check_unique(keys, who=who, locate=locate)
    sha256 = hashlib.sha256(data).hexdigest()
    source = {"kind": "file", "uri": str(path), "sha256": sha256, "fingerprint": sha256[:16]}
    decision = score = value = None
    if regression:
        column = table["prediction"]
        value = _scores(_numbers(column, booleans=False), column.to_numpy(), who=who, locate=locate,
                        what="prediction")
    else:
        column = table["decision"]
        decision = _decisions(_numbers(column, booleans=True), column.to_numpy(), who=who, locate=locate)
        if "score" in table.columns:
            column = table["score"]
            score = _scores(_numbers(column, booleans=False), column.to_numpy(), who=who, locate=locate)
    rows = pd.Index(keys).get_indexer(expected_keys)
    _check_present(rows, expected_ids, who=who, hint=hint)

    def pick(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[rows]

    return Predictions(ids=expected_ids.copy(), decision=pick(decision), score=pick(score), source=source,
                       value=pick(value))


def _read_bytes(path: Path) -> bytes:
    if not path.name.lower().endswith(PREDICTION_SUFFIXES):
        raise PredictionsError(f"predictions file {path} has an unknown format; supported "
                               f"suffixes: {', '.join(PREDICTION_SUFFIXES)}")
    try:
        return path.read_bytes()
    except OSError as exc:
        problem = exc.strerror or str(exc)
        raise PredictionsError(f"cannot read predictions file {path}: {problem}") from exc


def _parse_table(data: bytes, path: Path, required: tuple[str, ...] = ("id", "decision")) -> pd.DataFrame:
    """The table in ``data``; CSV ids are kept as text so leading zeros survive."""
    parquet = path.name.lower().endswith(".parquet")
    try:
        if parquet:
            table = pd.read_parquet(io.BytesIO(data))
        else:
            gzip = "gzip" if path.name.lower().endswith(".gz") else None
            table = pd.read_csv(io.BytesIO(data), dtype={"id": str}, compression=gzip)
    except Exception as exc:  # noqa: BLE001 - parsers raise many types for bad input
        problem = f"{type(exc).__name__}: {exc}"
        kind = "Parquet" if parquet else "CSV"
        raise PredictionsError(f"cannot parse predictions file {path} as {kind}: {problem}") from exc
    missing = [column for column in required if column not in table.columns]
    if missing:
        expected = "id, decision and optionally score" if "decision" in required else "id and prediction"
        raise PredictionsError(f"predictions file {path} lacks required column(s) {missing}; "
                               f"found columns {list(table.columns)}; expected {expected}")
    return table


def _where(at: np.ndarray, *, csv: bool) -> str:
    """Rows of a file as a reader finds them: CSV line numbers, Parquet row numbers."""
    if csv:
        return "lines " + ", ".join(str(p + 2) for p in at)
    return "rows " + ", ".join(str(p) for p in at) + " (counting from 0)"


def _numbers(column: pd.Series, *, booleans: bool) -> np.ndarray:
    """A column's values, with text cells (a CSV column holding one bad cell) read as numbers."""
    if column.dtype.kind != "O" or not column.map(lambda v: isinstance(v, str)).any():
        return column.to_numpy()
    text = column.astype(str).str.strip().str.lower()
    if booleans:
        text = text.replace({"true": "1", "false": "0"})
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)


def _id_keys(ids: pd.Series, expected: np.ndarray, *, who: str,
             locate: Locate) -> tuple[np.ndarray, np.ndarray, str]:
    """Keys matching file ids to expected ids (values, or text if dtypes differ), and a hint."""
    empty = ids.isna().to_numpy()
    if empty.any():
        at = np.flatnonzero(empty)[:SHOWN]
        raise PredictionsError(f"{who} has {empty.sum()} rows without an id, first at "
                               f"{locate(at)}; expected an id on every row")
    if ids.dtype == expected.dtype:
        return ids.to_numpy(), expected, ""
    hint = ""
    if (ids.dtype.kind in "biuf") != (expected.dtype.kind in "biuf"):
        hint = (f" (ids were compared as text because the file's id column is {ids.dtype} "
                f"and the benchmark ids are {expected.dtype})")
    return ids.astype(str).to_numpy(dtype=object), expected.astype(str).astype(object), hint


def _check_unique(keys: np.ndarray, *, who: str, locate: Locate) -> None:
    repeated = pd.Index(keys).duplicated(keep=False)
    if repeated.any():
        names = pd.unique(keys[repeated])
        shown = [f"{name} ({locate(np.flatnonzero(keys == name))})" for name in names[:SHOWN]]
        raise PredictionsError(f"{who}: {len(names)} ids appear more than once, first "
                               f"{'; '.join(shown)}; expected each id once")


def _check_present(rows: np.ndarray, expected: np.ndarray, *, who: str, hint: str) -> None:
    missing = rows < 0
    if missing.any():
        raise PredictionsError(f"{who} has no row for {missing.sum()} of the {len(expected)} "
                               f"expected ids, first {expected[missing][:SHOWN].tolist()}; "
                               f"expected a row for every benchmark id{hint}")
