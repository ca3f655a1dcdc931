"""Predictions for benchmark rows, from a vendor's model (declared files: ``harness.declared``).

Every route ends in ``Predictions``: ids in benchmark order, a 0/1 decision per row,
an optional score (higher means more likely positive) and provenance. Models may be
a fitted scikit-learn estimator in memory (anything with ``predict``); a ``.skops``
file, loaded with the types skops trusts plus those named in ``trusted``; an MLflow
model (a ``runs:/``, ``models:/`` or ``file:`` URI, or a directory with an
``MLmodel`` file), loaded by ``harness.evidence.tracking.load_model``; or a plain callable
returning decisions or a tuple ``(decisions, scores)``. An MLflow model without the
sklearn flavor is a pyfunc model: its output gives decisions only, unless it is a
table with a ``probability`` column, which then is the score (decisions come from
its ``decision`` column, or from its only other column).

Outputs are checked once here, so later stages can rely on them.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import numbers
import pickle
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd
import skops.io

from harness.evidence import tracking
from harness.errors import ModelError, PredictionsError

__all__ = ["LoadedModel", "Predictions", "SourceKind", "fingerprint", "load_model", "predict"]

SourceKind = Literal["estimator", "skops", "mlflow", "file", "callable"]
SOURCE_KEYS = ("kind", "uri", "sha256", "fingerprint")
MLFLOW_PREFIXES = ("runs:/", "models:/", "file:")
ALWAYS_TRUSTED = ("numpy.dtype",)
SHOWN = 5  # how many offending rows or ids an error message lists

Locate = Callable[[np.ndarray], str]  # positions of bad rows -> where a reader finds them


@dataclass(frozen=True, eq=False)
class Predictions:
    """Decisions (and optional scores) for benchmark rows, with where they came from.

    A regression model's predictions are ``value`` (float64), with ``decision`` and
    ``score`` None. ``source`` holds ``kind``, ``uri``, ``sha256`` (full hex, ``""`` when
    nothing could be hashed) and ``fingerprint`` (its first 16 characters). Arrays are
    read-only views.
    """

    ids: np.ndarray
    decision: np.ndarray | None
    score: np.ndarray | None
    source: dict[str, str]
    value: np.ndarray | None = None

    def __post_init__(self) -> None:
        n, problems = len(self.ids), []
        if self.value is not None:
            if self.decision is not None or self.score is not None:
                problems.append("regression predictions (value) cannot also have decisions or scores")
            elif self.value.dtype != np.float64 or self.value.shape != (n,):
                problems.append(f"value must be float64 of shape ({n},), found "
                                f"{self.value.dtype} of shape {self.value.shape}")
        elif self.decision is None:
            problems.append("give decisions (classification) or values (regression)")
        elif self.decision.dtype != np.int8 or self.decision.shape != (n,):
            problems.append(f"decision must be int8 of shape ({n},), found "
                            f"{self.decision.dtype} of shape {self.decision.shape}")
        elif not np.isin(self.decision, (0, 1)).all():
            problems.append("decision must hold only 0 and 1")
        score = self.score
        if score is not None and (score.dtype != np.float64 or score.shape != (n,)):
            problems.append(f"score must be float64 of shape ({n},), found "
                            f"{score.dtype} of shape {score.shape}")
        missing = [key for key in SOURCE_KEYS if key not in self.source]
        if missing:
            problems.append(f"source lacks {missing}; expected keys {list(SOURCE_KEYS)}")
        elif self.source["kind"] not in get_args(SourceKind):
            problems.append(f"source kind {self.source['kind']!r} is not one of "
                            f"{list(get_args(SourceKind))}")
        if problems:
            raise PredictionsError("invalid Predictions: " + "; ".join(problems))
        for name in ("ids", "decision", "score", "value"):
            object.__setattr__(self, name, _read_only(getattr(self, name)))

    def frame(self) -> pd.DataFrame:
        """Columns ``id``, ``decision`` and, when there are scores, ``score``; or ``id``, ``prediction``."""
        if self.value is not None:
            return pd.DataFrame({"id": self.ids, "prediction": self.value})
        columns = {"id": self.ids, "decision": self.decision}
        if self.score is not None:
            columns["score"] = self.score
        return pd.DataFrame(columns)


def fingerprint(obj_or_path: object) -> str:
    """Full SHA-256 hex of a model file, or of an in-memory model's serialised content.

    A ``str`` or ``Path`` is a file: the hash is of its bytes. An object is hashed
    through its skops dump with zip timestamps and object addresses taken out, so the
    same fitted model gives the same hash in every process; objects skops cannot dump
    fall back to ``pickle.dumps``. Returns ``""`` when neither works, and for a plain
    function, which both would record by name only, not by what it does.
    """
    if isinstance(obj_or_path, (str, Path)):
        try:
            return hashlib.sha256(Path(obj_or_path).read_bytes()).hexdigest()
        except OSError as exc:
            raise ModelError(f"cannot fingerprint {obj_or_path}: {exc.strerror or exc}; "
                             "expected a readable file") from exc
    if inspect.isroutine(obj_or_path):
        return ""
    try:
        return _skops_digest(obj_or_path)
    except Exception:  # noqa: BLE001 - skops refuses many objects; pickle is the fallback
        pass
    try:
        return hashlib.sha256(pickle.dumps(obj_or_path, protocol=5)).hexdigest()
    except Exception:  # noqa: BLE001 - some objects cannot be serialised at all
        return ""


def predict(model: object, inputs: pd.DataFrame, ids: np.ndarray, *,
            trusted: Sequence[str] = (), task: str = "binary_classification") -> Predictions:
    """Run ``model`` on ``inputs`` (one row per id) and check what it returns.

    ``trusted`` names extra types a ``.skops`` file may load; other routes ignore it. For
    ``task="regression"`` the model's ``predict`` (or the callable) gives one finite
    number per row.
    """
    if not isinstance(inputs, pd.DataFrame):
        raise PredictionsError(f"inputs must be a pandas DataFrame, found {type(inputs).__name__}")
    ids = np.asarray(ids)
    if ids.shape != (len(inputs),):
        raise PredictionsError(f"ids has shape {ids.shape} but inputs has {len(inputs)} rows; "
                               "expected one id per input row")
    runnable, kind, uri, sha256 = _resolve(model, trusted)
    who = f"model {kind} {uri}"

    def locate(at: np.ndarray) -> str:
        return f"positions {at.tolist()} (ids {ids[at].tolist()})"

    source = {"kind": kind, "uri": uri, "sha256": sha256, "fingerprint": sha256[:16]}
    if task == "regression":
        raw = _run_regression(runnable, inputs, kind=kind, who=who)
        values = _one_per_row(raw, n=len(ids), what="predictions", who=who)
        value = _scores(values, values, who=who, locate=locate, what="prediction")
        return Predictions(ids=ids.copy(), decision=None, score=None, source=source, value=value)
    raw_decisions, raw_scores = _run(runnable, inputs, kind=kind, who=who)

    values = _one_per_row(raw_decisions, n=len(ids), what="decisions", who=who)
    decision = _decisions(values, values, who=who, locate=locate)
    score = None
    if raw_scores is not None:
        values = _one_per_row(raw_scores, n=len(ids), what="scores", who=who)
        score = _scores(values, values, who=who, locate=locate)
    return Predictions(ids=ids.copy(), decision=decision, score=score, source=source)


# --- model routes ------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded once (and hashed once) for many calls of ``predict``, e.g. one per chunk."""

    runnable: object
    kind: SourceKind
    uri: str
    sha256: str


def load_model(model: object, *, trusted: Sequence[str] = ()) -> LoadedModel:
    return LoadedModel(*_resolve(model, trusted))


def _resolve(model: object, trusted: Sequence[str]) -> tuple[object, SourceKind, str, str]:
    """The runnable model, its kind, its URI and the SHA-256 of what was loaded."""
    if isinstance(model, LoadedModel):
        return model.runnable, model.kind, model.uri, model.sha256
    if isinstance(model, (str, Path)):
        text = str(model)
        if text.startswith(MLFLOW_PREFIXES) or (Path(text) / "MLmodel").is_file():
            loaded = tracking.load_model(text)
            return loaded, "mlflow", text, fingerprint(loaded)
        if Path(text).suffix == ".skops":
            return _load_skops(Path(text), trusted), "skops", text, fingerprint(text)
        raise ModelError(f"cannot load model {text!r}: expected a .skops file, an MLflow model "
                         "directory (with an MLmodel file) or a URI starting with "
                         f"{', '.join(MLFLOW_PREFIXES)}")
    if callable(getattr(model, "predict", None)):
        return model, "estimator", f"memory:{type(model).__qualname__}", fingerprint(model)
    if callable(model):
        name = getattr(model, "__qualname__", type(model).__qualname__)
        return model, "callable", f"memory:{name}", fingerprint(model)
    raise ModelError(f"cannot use a {type(model).__qualname__} as a model: expected a fitted "
                     "estimator, a .skops path, an MLflow model URI or directory, or a callable")


def _load_skops(path: Path, trusted: Sequence[str]) -> object:
    """Load a .skops file, refusing every type neither skops nor the caller trusts."""
    if not path.is_file():
        raise ModelError(f"model file {path} not found; expected a .skops file")
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - a damaged file can fail in many ways
        raise ModelError(f"cannot read model file {path}: {type(exc).__name__}: {exc}") from exc
    allowed = set(trusted) | set(ALWAYS_TRUSTED)
    refused = sorted(name for name in untrusted if name not in allowed)
    if refused:
        raise ModelError(f"model file {path} contains types that are not trusted: {refused}; "
                         "review them and, if they are safe, pass their names in "
                         "predict(..., trusted=[...])")
    try:
        return skops.io.load(path, trusted=[name for name in untrusted if name in allowed])
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"cannot load model file {path}: {type(exc).__name__}: {exc}") from exc


def _run(model: object, inputs: pd.DataFrame, *, kind: SourceKind,
         who: str) -> tuple[object, object | None]:
    """Raw decisions and scores; any exception from the model becomes a ModelError."""
    try:
        if kind == "callable":
            out = model(inputs)  # type: ignore[operator]
            if isinstance(out, tuple) and len(out) == 2:
                return out
            return _split_table(out, who=who)
        predicted = model.predict(inputs)  # type: ignore[attr-defined]
        decisions, scores = _split_table(predicted, who=who)
        if hasattr(model, "predict_proba"):
            proba = np.asarray(model.predict_proba(inputs))
            classes = getattr(model, "classes_", None)
            return decisions, _positive_column(proba, classes, who=who)
        if hasattr(model, "decision_function"):
            return decisions, model.decision_function(inputs)
        return decisions, scores
    except PredictionsError:
        raise
    except Exception as exc:  # noqa: BLE001 - the vendor's model may raise anything
        problem = f"{type(exc).__name__}: {exc}"
        raise ModelError(f"{who} failed on {len(inputs)} rows: {problem}") from exc


def _run_regression(model: object, inputs: pd.DataFrame, *, kind: SourceKind, who: str) -> object:
    """Raw predicted values; any exception from the model becomes a ModelError."""
    try:
        out = model(inputs) if kind == "callable" else model.predict(inputs)  # type: ignore[operator,attr-defined]
    except Exception as exc:  # noqa: BLE001 - the vendor's model may raise anything
        raise ModelError(f"{who} failed on {len(inputs)} rows: {type(exc).__name__}: {exc}") from exc
    if isinstance(out, pd.DataFrame):
        if out.shape[1] != 1:
            raise PredictionsError(f"{who} returned a table with columns {list(out.columns)}; "
                                   "expected one column of predicted values")
        out = out.iloc[:, 0]
    return out


def _split_table(out: object, *, who: str) -> tuple[object, object | None]:
    """Split a table output (pyfunc models) into decisions and ``probability`` scores."""
    if not isinstance(out, pd.DataFrame):
        return out, None
    others = [column for column in out.columns if column != "probability"]
    if "decision" in out.columns:
        decisions = out["decision"]
    elif len(others) == 1:
        decisions = out[others[0]]
    else:
        raise PredictionsError(f"{who} returned a table with columns {list(out.columns)}; "
                               "expected a 'decision' column and optionally 'probability'")
    return decisions, out["probability"] if "probability" in out.columns else None


def _positive_column(proba: np.ndarray, classes: object, *, who: str) -> np.ndarray:
    """The probability of class 1 from ``predict_proba`` (columns 0, 1 without ``classes_``)."""
    labels = [0, 1] if classes is None else np.asarray(classes).tolist()
    positive = [i for i, label in enumerate(labels) if _is_number(label) and label == 1]
    if not positive or proba.ndim != 2 or proba.shape[1] != len(labels):
        raise PredictionsError(f"{who}: predict_proba gave shape {proba.shape} for classes "
                               f"{labels}; expected one column per class, the positive class 1 "
                               "among them, so its probability can be the score")
    return proba[:, positive[0]]


# --- checking values ---------------------------------------------------------


def _one_per_row(raw: object, *, n: int, what: str, who: str) -> np.ndarray:
    values = raw.to_numpy() if isinstance(raw, (pd.Series, pd.Index)) else np.asarray(raw)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) != n:
        raise PredictionsError(f"{who} returned {what} of shape {values.shape} for {n} input "
                               f"rows; expected one value per row, shape ({n},)")
    return values


def _decisions(values: np.ndarray, found: np.ndarray, *, who: str, locate: Locate) -> np.ndarray:
    """``values`` as int8 0/1; ``found`` holds what the source gave, for the message."""
    bad = _not_binary(values)
    if bad.any():
        at = np.flatnonzero(bad)[:SHOWN]
        raise PredictionsError(
            f"{who}: decision is not 0/1 on {bad.sum()} of {len(values)} rows, first at "
            f"{locate(at)}: found {found[at].tolist()}; expected 0 or 1 "
            "(true/false and 0.0/1.0 are accepted)")
    return values.astype(np.float64).astype(np.int8)


def _scores(values: np.ndarray, found: np.ndarray, *, who: str, locate: Locate,
            what: str = "score") -> np.ndarray:
    """``values`` as finite float64; ``found`` holds what the source gave, for the message."""
    if values.dtype.kind in "biuf":
        scores = values.astype(np.float64)
    else:
        scores = np.array([float(v) if isinstance(v, numbers.Real) else np.nan for v in values])
    bad = ~np.isfinite(scores)
    if bad.any():
        at = np.flatnonzero(bad)[:SHOWN]
        raise PredictionsError(
            f"{who}: {what} is not a finite number on {bad.sum()} of {len(values)} rows, first "
            f"at {locate(at)}: found {found[at].tolist()}; expected finite numbers")
    return scores


def _not_binary(values: np.ndarray) -> np.ndarray:
    """Mask of values other than 0/1, False/True or 0.0/1.0 (strings never pass)."""
    if values.dtype.kind == "b":
        return np.zeros(len(values), dtype=bool)
    if values.dtype.kind in "iuf":
        return ~((values == 0) | (values == 1))
    if values.dtype.kind == "O":
        return np.array([not (_is_number(v) and v in (0, 1)) for v in values], dtype=bool)
    return np.ones(len(values), dtype=bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (numbers.Number, np.bool_))


# --- fingerprints ------------------------------------------------------------


def _skops_digest(obj: object) -> str:
    """SHA-256 of a skops dump's content, independent of zip timestamps and object addresses.

    skops names each array file after the array's ``id()`` and records ``__id__``
    addresses in its schema; they become the file's hash and the order of first
    appearance before the schema is hashed as canonical JSON.
    """
    with zipfile.ZipFile(io.BytesIO(skops.io.dumps(obj))) as archive:
        schema = json.loads(archive.read("schema.json"))
        files = {name: hashlib.sha256(archive.read(name)).hexdigest()
                 for name in archive.namelist() if name != "schema.json"}
    text = json.dumps(_canonical(schema, files=files, ids={}), sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(node: object, *, files: dict[str, str], ids: dict[int, int]) -> object:
    if isinstance(node, list):
        return [_canonical(item, files=files, ids=ids) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, object] = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            out[key] = ids.setdefault(value, len(ids))
        elif key == "file" and isinstance(value, str) and value in files:
            out[key] = files[value]
        else:
            out[key] = _canonical(value, files=files, ids=ids)
    return out


def _read_only(values: np.ndarray | None) -> np.ndarray | None:
    if values is None:
        return None
    view = values.view()
    view.flags.writeable = False
    return view
