"""The demo: a reference model per default profile, trained and judged end to end.

Each reference model is a logistic regression trained on its benchmark's development
split, with a decision threshold set on that split by a rule a vendor might use
(a target selection rate, or a target sensitivity). Training is deterministic, so
the demo gives the same models and the same numbers on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .catalog import installed
from .evaluation import Evaluation, evaluate
from .plan import make_plan
from .profile import load_profile
from .progress import Reporter, as_reporter

__all__ = ["DEFAULT_PROFILES", "PROFILES_DIR", "open_runs_hint", "reference_model", "run_demo", "ui_command"]

PROFILES_DIR: Path = installed("sector_profiles")  # the shipped defaults (package data in a wheel)
# profile file → how the reference vendor sets its decision threshold on development data
DEFAULT_PROFILES: dict[str, tuple[str, float]] = {
    "hiring/hiring-aedt-v1.yaml": ("selection_rate", 0.10),
    "health/health-mortality-risk-v1.yaml": ("sensitivity", 0.85),
    "transport/transport-acn-triage-v1.yaml": ("sensitivity", 0.95),
}


def _pipeline(inputs: pd.DataFrame) -> Pipeline:
    numeric = [c for c in inputs.columns if pd.api.types.is_numeric_dtype(inputs[c])]
    categorical = [c for c in inputs.columns if c not in numeric]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
    ])
    return Pipeline([("prep", prep), ("model", LogisticRegression(max_iter=2000))])


def _threshold(score: np.ndarray, y: np.ndarray, rule: str, target: float) -> float:
    if rule == "selection_rate":
        return float(np.quantile(score, 1 - target))
    positives = np.sort(score[y == 1])
    return float(positives[int(np.floor((1 - target) * positives.size))])


def reference_model(inputs: pd.DataFrame, y: np.ndarray, *, rule: str, target: float) -> FixedThresholdClassifier:
    """A deterministic logistic regression whose threshold meets ``rule`` at ``target`` in training."""
    pipe = _pipeline(inputs).fit(inputs, y)
    cut = _threshold(pipe.predict_proba(inputs)[:, 1], y, rule, target)
    model = FixedThresholdClassifier(pipe, threshold=cut, response_method="predict_proba")
    return model.fit(inputs, y)


def run_demo(*, out: Path, tracking: bool, tracking_uri: str | None,
             progress: Callable[[str], None] | Reporter | None = None) -> list[Evaluation]:
    import skops.io as sio

    reporter = as_reporter(progress)
    say = reporter.note if reporter is not None else (lambda _m: None)
    results = []
    for rel, (rule, target) in DEFAULT_PROFILES.items():
        loaded = load_profile(PROFILES_DIR / rel)
        dev = make_plan(loaded, split="development").benchmark
        inputs = dev.model_inputs(loaded.profile.model_inputs.allow_sensitive)
        say(f"{loaded.profile.id}: training the reference model on {len(inputs):,} development rows")
        model = reference_model(inputs, dev.y, rule=rule, target=target)
        path = out / "models" / f"{loaded.profile.id}-reference.skops"
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump(model, path)
        say(f"{loaded.profile.id}: evaluating {path.name} against the profile")
        results.append(evaluate(loaded, model=str(path), out=out, tracking=tracking,
                                tracking_uri=tracking_uri, progress=reporter))
    return results


def ui_command(uri: str) -> str:
    """How to open the runs of the store ``uri``: a server's own URL, or ``mlflow ui`` on a local store."""
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        return f"open {uri.rstrip('/')} in a browser (the tracking server's own UI, one experiment per profile)"
    if scheme == "sqlite" and uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path = Path(unquote(uri[len("sqlite:///"):].split("?", 1)[0]))  # relative to where the demo ran
        uri = f"sqlite:///{path.resolve()}"
    elif scheme in ("", "file"):
        uri = Path(unquote(urlparse(uri).path) if scheme else uri).resolve().as_uri()
    return (f"mlflow ui --backend-store-uri {uri}  then browse http://127.0.0.1:5000 "
            "(one experiment per profile)")


def open_runs_hint(results: Sequence[Evaluation], uri: str, *, out: Path) -> str:
    """The demo's closing lines: which runs went where, how to open them, how to re-verify a bundle."""
    runs = "\n".join(f"  {r.summary['profile']['id']}: run {r.run_id}" for r in results if r.run_id)
    return (f"MLflow runs logged to {uri}:\n{runs}\n"
            f"Open them: {ui_command(uri)}\n"
            f"Re-verify a bundle:  oversight verify {out}/<bundle>")
