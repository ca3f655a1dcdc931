"""Fuzzing the predictions reader: whatever the bytes, it returns Predictions or raises PredictionsError.

Random bytes, and valid CSV, gzipped CSV and Parquet files with bytes replaced, inserted,
deleted or cut off. The suite runs a bounded number of examples from a fixed seed; a longer
run raises the count::

    OVERSIGHT_FUZZ_EXAMPLES=20000 python -m pytest -q tests/test_fuzz_predictions.py
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from harness.declared import read_predictions
from harness.errors import PredictionsError
from harness.predictors import Predictions

EXAMPLES = int(os.environ.get("OVERSIGHT_FUZZ_EXAMPLES", "150"))
SEED = 20261201
IDS = np.arange(10, 40, dtype=np.int64)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"id": IDS, "decision": rng.integers(0, 2, len(IDS)), "score": rng.random(len(IDS)).round(4)})


CSV = _frame().to_csv(index=False).encode()
REGRESSION_CSV = _frame().rename(columns={"score": "prediction"})[["id", "prediction"]].to_csv(index=False).encode()
_buffer = io.BytesIO()
_frame().to_parquet(_buffer)
PARQUET = _buffer.getvalue()

edits = st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(["replace", "insert", "delete", "cut"]),
                           st.binary(min_size=1, max_size=8)), min_size=1, max_size=6)
tasks = st.sampled_from(["binary_classification", "regression"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("fuzz")


def _mutate(data: bytes, changes: list[tuple[float, str, bytes]]) -> bytes:
    for where, how, new in changes:
        at = int(where * len(data)) if data else 0
        if how == "replace":
            data = data[:at] + new + data[at + len(new):]
        elif how == "insert":
            data = data[:at] + new + data[at:]
        elif how == "delete":
            data = data[:at] + data[at + len(new):]
        else:
            data = data[:at]
    return data


def _read(folder: Path, name: str, data: bytes, task: str) -> None:
    path = folder / name
    path.write_bytes(data)
    try:
        out = read_predictions(path, expected_ids=IDS, task=task, score_range=(0.0, 1.0))
    except PredictionsError:
        return
    assert isinstance(out, Predictions) and out.ids.tolist() == IDS.tolist()


def test_the_unmutated_files_are_read(folder: Path) -> None:
    _read(folder, "p.csv", CSV, "binary_classification")
    for name, data in (("p.csv", CSV), ("p.csv.gz", gzip.compress(CSV)), ("p.parquet", PARQUET)):
        (folder / name).write_bytes(data)
        out = read_predictions(folder / name, expected_ids=IDS, score_range=(0.0, 1.0))
        assert out.decision.tolist() == _frame()["decision"].tolist()


@FUZZ
@seed(SEED)
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".csv.gz", ".parquet"]), packed=st.booleans(),
       task=tasks)
def test_random_bytes(folder: Path, data: bytes, suffix: str, packed: bool, task: str) -> None:
    _read(folder, f"random{suffix}", gzip.compress(data) if packed and suffix == ".csv.gz" else data, task)


@FUZZ
@seed(SEED)
@given(changes=edits, packed=st.booleans(), task=tasks)
def test_mutated_csv(folder: Path, changes: list[tuple[float, str, bytes]], packed: bool, task: str) -> None:
    data = _mutate(REGRESSION_CSV if task == "regression" else CSV, changes)
    if packed:
        _read(folder, "mutated.csv.gz", gzip.compress(data), task)
    else:
        _read(folder, "mutated.csv", data, task)


@FUZZ
@seed(SEED)
@given(changes=edits, task=tasks)
def test_mutated_parquet(folder: Path, changes: list[tuple[float, str, bytes]], task: str) -> None:
    _read(folder, "mutated.parquet", _mutate(PARQUET, changes), task)
