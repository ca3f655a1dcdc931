"""Declared predictions handed over in memory: a DataFrame, or a mapping of column name to array.

They are written once as Parquet and read back through the file reader, so every check a
predictions file gets applies to them too, with row numbers counted from 0 as in the frame.
What the evidence names is the canonical Parquet of the predictions judged (one row per
benchmark id, in the benchmark's order): the bundle stores that very file and its SHA-256
is the predictions' fingerprint.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .declared import read_predictions
from .errors import PredictionsError
from .predictors import Predictions

__all__ = ["IN_MEMORY", "in_memory", "read_in_memory"]

IN_MEMORY = "(in memory)"


def in_memory(predictions: object) -> bool:
    """Whether ``predictions`` is a table in memory rather than a path."""
    return isinstance(predictions, (pd.DataFrame, Mapping))


def _frame(predictions: pd.DataFrame | Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
    if isinstance(predictions, pd.DataFrame):
        return predictions.reset_index(drop=True), "predictions DataFrame"
    who = "predictions mapping"
    columns = {}
    for name, values in predictions.items():
        array = np.asarray(values)
        if array.ndim != 1:
            raise PredictionsError(f"{who}: column {name!r} has shape {array.shape}; expected a one-dimensional "
                                   "array per column")
        columns[str(name)] = array
    lengths = {name: len(a) for name, a in columns.items()}
    if len(set(lengths.values())) > 1:
        raise PredictionsError(f"{who}: columns have different lengths ({', '.join(f'{k}: {v:,}' for k, v in lengths.items())}); "
                               "expected one value per row in every column")
    return pd.DataFrame(columns), who


def read_in_memory(predictions: pd.DataFrame | Mapping[str, Any], scratch: Path, *, expected_ids: np.ndarray,
                   task: str, score_range: tuple[float, float] | None) -> tuple[Predictions, Path]:
    """The checked predictions, and the canonical Parquet file (in ``scratch``) the evidence stores."""
    frame, who = _frame(predictions)
    given = scratch / "declared.parquet"
    try:
        frame.to_parquet(given, index=False)
    except Exception as exc:  # noqa: BLE001 - pyarrow refuses mixed or unsupported column types in many ways
        raise PredictionsError(f"{who} cannot be stored as Parquet: {type(exc).__name__}: {exc}; expected columns "
                               "of numbers, booleans or text") from None
    try:
        preds = read_predictions(given, expected_ids=expected_ids, task=task, score_range=score_range)
    except PredictionsError as exc:
        raise PredictionsError(str(exc).replace(f"predictions file {given}", who).replace(str(given), who)) from None
    finally:
        given.unlink(missing_ok=True)
    canonical = scratch / "predictions.parquet"
    preds.frame().to_parquet(canonical, index=False)
    sha256 = hashlib.sha256(canonical.read_bytes()).hexdigest()
    source = {"kind": "file", "uri": IN_MEMORY, "sha256": sha256, "fingerprint": sha256[:16]}
    return dataclasses.replace(preds, source=source), canonical
