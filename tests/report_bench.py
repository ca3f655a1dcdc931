"""A tiny benchmark, profile and declared predictions that exercise every figure of the report.

Two groups of ``g`` and a coded slice ``frontal``, both labelled in the card; a score in
(0, 1) and decisions from it. The profile has a dual rule, two count metrics on one family
(one confusion-matrix figure, drawn once), AUROC (ROC curves) and ECE (reliability diagram).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROWS = 800
LABELS = {"g": {"a": "group A", "b": "group B"}, "frontal": {0: "other impact", 1: "frontal impact"}}


def frame(rows: int = ROWS, *, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    g = np.where(rng.random(rows) < 0.6, "a", "b")
    y = (rng.random(rows) < 1 / (1 + np.exp(-1.5 * x))).astype(int)
    # three decimals (ties, an exact score grid) shifted off the ECE's bin edges
    score = np.clip(np.round(1 / (1 + np.exp(-(1.2 * x + rng.normal(scale=0.8, size=rows)))), 3), 0.0, 0.999) + 5e-4
    return pd.DataFrame({"id": np.arange(rows), "g": g, "frontal": rng.integers(0, 2, rows), "x1": x, "y": y,
                         "score": score, "decision": (score > 0.5).astype(int)})


def _card(data: Path, rows: int) -> dict:
    return {
        "id": "tiny-report", "version": 1, "title": "Tiny benchmark for report tests",
        "task": "binary_classification", "description": "Synthetic rows.",
        "files": [{"path": data.name, "sha256": hashlib.sha256(data.read_bytes()).hexdigest(), "format": "csv",
                   "rows": rows}],
        "id_column": "id", "label": {"column": "y", "positive": 1}, "features": ["x1"],
        "sensitive": ["g"], "slices": ["frontal"], "weight": None, "cluster": None, "dropped": [],
        "split": {"unit": "row", "test_share": 0.3, "salt": "tiny-report/v1"},
        "source": {"name": "tests", "url": "tests/report_bench.py", "retrieved_from": "generated"},
        "citation": "Synthetic.", "licence": "CC0-1.0", "labels": LABELS,
    }


def _profile(sha256: str) -> dict:
    return {
        "id": "tiny-report-profile", "version": 1, "title": "Tiny profile", "sector": "testing",
        "authority": "tests", "legal_basis": ["none"], "effective_from": "2026-01-01",
        "enforcement_from": "2026-01-01",
        "benchmark": {"id": "tiny-report", "path": "tiny-report", "sha256": sha256, "split": "all"},
        "task": "binary_classification",
        "inference": {"confidence": 0.95, "bootstrap": {"replicates": 200, "seed": 3}},
        "requirements": [
            {"id": "R-sens", "title": "Sensitivity", "metric": "sensitivity", "groups": ["g"],
             "threshold": {"min": 0.9}, "rule": "dual", "null_threshold": 0.6},
            {"id": "R-spec", "title": "Specificity", "metric": "specificity", "groups": ["g"],
             "threshold": {"min": 0.5}},
            {"id": "R-auc", "title": "AUROC", "metric": "auroc", "groups": ["g"], "threshold": {"min": 0.99},
             "rule": "bound"},
            {"id": "R-ece", "title": "Calibration", "metric": "ece", "groups": ["g"], "threshold": {"max": 0.3}},
            {"id": "R-frontal", "title": "Accuracy by impact", "metric": "accuracy", "groups": ["frontal"],
             "threshold": {"min": 0.5}},
        ],
    }


def write(folder: Path) -> tuple[Path, Path, pd.DataFrame]:
    """The profile, the predictions file and the rows, written under ``folder``."""
    rows = frame()
    bench = folder / "tiny-report"
    bench.mkdir(parents=True)
    data = bench / "data.csv"
    rows[["id", "g", "frontal", "x1", "y"]].to_csv(data, index=False)
    (bench / "benchmark.yaml").write_text(yaml.safe_dump(_card(data, len(rows)), sort_keys=False))
    profile = folder / "profile.yaml"
    profile.write_text(yaml.safe_dump(_profile(hashlib.sha256(data.read_bytes()).hexdigest()), sort_keys=False))
    predictions = folder / "predictions.csv"
    rows[["id", "decision", "score"]].to_csv(predictions, index=False)
    return profile, predictions, rows
