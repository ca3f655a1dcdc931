"""Predictions for benchmark rows, from a vendor's model (declared files: ``harness.declared``).

Every route ends in ``Predictions``: ids in benchmark order, a 0/1 decision per row,
an optional score (higher means more likely positive) and provenance. Models may be
a fitted scikit-learn estimator in memory (anything with ``predict``) or a plain callable
returning decisions or a tuple ``(decisions, scores)``, both run in this process as the
caller's own code; or a model file, run in a sandboxed model process (``harness.sandbox``)
and fingerprinted from its bytes: a ``.skops`` file, loaded with the types skops trusts
plus those named in ``trusted``; an MLflow model (a ``runs:/``, ``models:/`` or ``file:``
URI, or a directory with an ``MLmodel`` file); or, only when trusted, a pickle or joblib file. An MLflow model without the
sklearn flavor is a pyfunc model: its output gives decisions only, unless it is a
table with a ``probability`` column, which then is the score (decisions come from
its ``decision`` column, or from its only other column).

Outputs are checked once here, so later stages can rely on them.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast, get_args

import numpy as np
import pandas as pd

from harness.evidence import tracking
from harness.errors import ModelError, PredictionsError
from harness.fingerprints import fingerprint
from harness.sandbox import Isolation, ModelProcess, Options, Staged, bwrap_problem, stage

__all__ = ["LoadedModel", "Predictions", "SourceKind", "fingerprint", "load_model", "predict"]

SourceKind = Literal["estimator", "skops", "mlflow", "pickle", "file", "callable"]
SOURCE_KEYS = ("kind", "uri", "sha256", "fingerprint")
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


def predict(model: object, inputs: pd.DataFrame, ids: np.ndarray, *, trusted: Sequence[str] = (),
            task: str = "binary_classification", options: Options | None = None) -> Predictions:
    """Run ``model`` on ``inputs`` (one row per id) and check what it returns.

    A model file runs in its own process (see ``harness.sandbox``) unless ``options`` turn
    the sandbox off; ``trusted`` names extra types a ``.skops`` file may load. For
    ``task="regression"`` the model's ``predict`` (or the callable) gives one finite
    number per row.
    """
    if not isinstance(inputs, pd.DataFrame):
        raise PredictionsError(f"inputs must be a pandas DataFrame, found {type(inputs).__name__}")
    ids = np.asarray(ids)
    if ids.shape != (len(inputs),):
        raise PredictionsError(f"ids has shape {ids.shape} but inputs has {len(inputs)} rows; "
                               "expected one id per input row")
    if isinstance(model, LoadedModel):
        return _predicted(model, inputs, ids, task=task)
    with load_model(model, trusted=trusted, options=options) as loaded:
        return _predicted(loaded, inputs, ids, task=task)


def _predicted(loaded: LoadedModel, inputs: pd.DataFrame, ids: np.ndarray, *, task: str) -> Predictions:
    who = f"model {loaded.kind} {loaded.uri}"

    def locate(at: np.ndarray) -> str:
        return f"positions {at.tolist()} (ids {ids[at].tolist()})"

    source = {"kind": loaded.kind, "uri": loaded.uri, "sha256": loaded.sha256, "fingerprint": loaded.sha256[:16]}
    raw = _raw(loaded, inputs, task=task, who=who)
    if task == "regression":
        values = _one_per_row(_regressed(raw, who=who), n=len(ids), what="predictions", who=who)
        value = _scores(values, values, who=who, locate=locate, what="prediction")
        return Predictions(ids=ids.copy(), decision=None, score=None, source=source, value=value)
    raw_decisions, raw_scores = _classified(raw, who=who)
    values = _one_per_row(raw_decisions, n=len(ids), what="decisions", who=who)
    decision = _decisions(values, values, who=who, locate=locate)
    score = None
    if raw_scores is not None:
        values = _one_per_row(raw_scores, n=len(ids), what="scores", who=who)
        score = _scores(values, values, who=who, locate=locate)
    return Predictions(ids=ids.copy(), decision=decision, score=score, source=source)


# --- model routes ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model loaded once (and hashed once) for many calls of ``predict``, e.g. one per chunk.

    A model file or MLflow model is, unless the sandbox is off, a ``ModelProcess``:
    ``close`` (or leaving a ``with`` block) ends it and removes any copy made for the run.
    """

    runnable: object
    kind: SourceKind
    uri: str
    sha256: str
    isolation: Isolation = "in-process"
    trust_model: bool = False
    note: str = ""
    staged: Staged | None = None

    def __enter__(self) -> "LoadedModel":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if isinstance(self.runnable, ModelProcess):
                self.runnable.close()
        finally:
            if self.staged is not None:
                self.staged.remove()

    def record(self) -> dict[str, object]:
        """How the model ran, for the evidence: isolation, trust, limits, the process's exit."""
        process = self.runnable if isinstance(self.runnable, ModelProcess) else None
        where = "no model process: the model ran in the harness's process"
        out: dict[str, object] = {"isolation": self.isolation, "trust_model": self.trust_model,
                                  "limits": process.limits.record() if process else None,
                                  "exit": process.exit if process else where,
                                  "batches": process.record()["batches"] if process else None}
        if self.note:
            out["note"] = self.note
        return out

    def log(self) -> str:
        """What the model process printed; in-process models print where the caller's code prints."""
        if isinstance(self.runnable, ModelProcess):
            return self.runnable.log()
        return f"No model process ran: the model ran in the harness's process (isolation: {self.isolation}).\n"


def load_model(model: object, *, trusted: Sequence[str] = (), options: Options | None = None) -> LoadedModel:
    """Hash ``model`` and make it ready; a model file starts its model process here."""
    opts = options or Options()
    if isinstance(model, LoadedModel):
        return model
    if isinstance(model, (str, Path)):
        staged, sha256 = stage(model, trusted=(*opts.trusted_types, *trusted), trust_model=opts.trust_model,
                               limits=opts.limits)
        try:
            return _start(staged, sha256, opts)
        except BaseException:
            staged.remove()
            raise
    if callable(getattr(model, "predict", None)):
        return LoadedModel(model, "estimator", f"memory:{type(model).__qualname__}", fingerprint(model))
    if callable(model):
        name = getattr(model, "__qualname__", type(model).__qualname__)
        return LoadedModel(model, "callable", f"memory:{name}", fingerprint(model))
    raise ModelError(f"cannot use a {type(model).__qualname__} as a model: expected a fitted "
                     "estimator, a .skops path, an MLflow model URI or directory, or a callable")


def _start(staged: Staged, sha256: str, opts: Options) -> LoadedModel:
    """The model's process, under bubblewrap when it can run; or, with the sandbox off, the model here."""
    kind = cast(SourceKind, staged.kind)
    if not opts.sandbox:
        return LoadedModel(_load_here(staged), kind, staged.uri, sha256, "off", opts.trust_model, staged=staged)
    problem = bwrap_problem()
    if problem and kind == "mlflow" and not opts.trust_model:
        raise ModelError(f"cannot isolate model mlflow {staged.uri}: {problem}; an MLflow model runs its own "
                         "code when it loads, so without bubblewrap it runs only if you pass --trust-model "
                         "(then as a plain child process, with the same limits but no file system or network "
                         "isolation)")
    isolation: Isolation = "process" if problem else "bubblewrap"
    process = ModelProcess(staged, isolation=isolation, limits=opts.limits)
    try:
        process.start()
    except BaseException:
        process.close()
        raise
    note = f"bubblewrap could not isolate the model: {problem}" if problem else ""
    return LoadedModel(process, kind, staged.uri, sha256, isolation, opts.trust_model, note, staged)


def _load_here(staged: Staged) -> object:
    """The model loaded in this process (``--no-sandbox``): its code runs with the harness's rights."""
    if staged.kind == "mlflow":
        return tracking.load_model(staged.path, uri=staged.uri)
    try:
        if staged.kind == "skops":
            import skops.io

            return skops.io.load(staged.path, trusted=list(staged.trusted))
        import joblib

        return joblib.load(staged.path)
    except Exception as exc:  # noqa: BLE001 - the vendor's file may fail in many ways
        raise ModelError(f"cannot load model file {staged.uri}: {type(exc).__name__}: {exc}") from exc


def _raw(loaded: LoadedModel, inputs: pd.DataFrame, *, task: str, who: str) -> dict[str, object]:
    """What the model returns: ``predicted`` and, where it has them, ``proba`` and ``classes``,
    ``decision_function``, or a callable's ``second`` (scores). The model process gives the same."""
    if isinstance(loaded.runnable, ModelProcess):
        return loaded.runnable.call(inputs, task=task)
    model = loaded.runnable
    try:
        if not callable(getattr(model, "predict", None)):
            out = model(inputs)  # type: ignore[operator]
            if isinstance(out, tuple) and len(out) == 2:
                return {"predicted": out[0], "second": out[1]}
            return {"predicted": out}
        raw: dict[str, object] = {"predicted": model.predict(inputs)}  # type: ignore[attr-defined]
        if task != "regression":
            if hasattr(model, "predict_proba"):
                raw["proba"] = model.predict_proba(inputs)  # type: ignore[attr-defined]
                if getattr(model, "classes_", None) is not None:
                    raw["classes"] = model.classes_  # type: ignore[attr-defined]
            elif hasattr(model, "decision_function"):
                raw["decision_function"] = model.decision_function(inputs)  # type: ignore[attr-defined]
        return raw
    except Exception as exc:  # noqa: BLE001 - the vendor's model may raise anything
        raise ModelError(f"{who} failed on {len(inputs)} rows: {type(exc).__name__}: {exc}") from exc


def _classified(raw: dict[str, object], *, who: str) -> tuple[object, object | None]:
    """Raw decisions and scores from what the model returned."""
    if "second" in raw:
        return raw["predicted"], raw["second"]
    decisions, scores = _split_table(raw["predicted"], who=who)
    if "proba" in raw:
        return decisions, _positive_column(np.asarray(raw["proba"]), raw.get("classes"), who=who)
    if "decision_function" in raw:
        return decisions, raw["decision_function"]
    return decisions, scores


def _regressed(raw: dict[str, object], *, who: str) -> object:
    out = raw["predicted"]
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


def _read_only(values: np.ndarray | None) -> np.ndarray | None:
    if values is None:
        return None
    view = values.view()
    view.flags.writeable = False
    return view
