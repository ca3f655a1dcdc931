"""Re-verification of an evidence bundle by an auditor.

Three independent checks: every file's hash against the manifest; every measurement
and verdict recomputed from the stored profile and predictions on the benchmark, and
compared bit for bit; and the MLflow run that logged the bundle, whose tags, metrics
and artifacts must agree with it. Each difference is named.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EvidenceError, HarnessError
from ..evaluation import measure_and_judge
from .bundle import check_hashes, read_manifest, sha256_file
from ..plan import make_plan
from ..predictors import Predictions
from ..profile import LoadedProfile, parse_profile

__all__ = ["verify_bundle"]

_NUMERIC = ["value", "ci_low", "ci_high", "n", "positives", "negatives", "p_value"]


def verify_bundle(bundle: Path, *, tracking: bool = True, tracking_uri: str | None = None) -> dict[str, Any]:
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    checks: list[str] = []
    problems = check_hashes(bundle, manifest)
    checks.append(f"hashes: {len(manifest.get('files', {}))} files checked against the manifest")
    if not problems:
        problems += _recompute(bundle, manifest)
        checks.append("measurements and verdicts recomputed from the stored profile and predictions")
    if tracking:
        problems += _against_mlflow(bundle, manifest, tracking_uri, checks)
    return {"bundle": str(bundle), "ok": not problems, "checks": checks, "problems": problems}


def _loaded(bundle: Path, manifest: dict[str, Any]) -> LoadedProfile:
    raw = (bundle / "profile.yaml").read_bytes()
    text = raw.decode("utf-8")
    return LoadedProfile(profile=parse_profile(text, source=str(bundle / "profile.yaml")), path=None, text=text,
                         sha256=hashlib.sha256(raw).hexdigest())


def _recompute(bundle: Path, manifest: dict[str, Any]) -> list[str]:
    problems = []
    loaded = _loaded(bundle, manifest)
    if loaded.sha256 != manifest["inputs"]["profile"]["sha256"]:
        problems.append("profile.yaml: its SHA-256 differs from the profile hash recorded at run time")
    split = manifest["inputs"]["benchmark"]["split"]
    try:
        plan = make_plan(loaded, split=split)
    except HarnessError as exc:
        return problems + [f"benchmark: {exc}"]
    if plan.benchmark.sha256 != manifest["inputs"]["benchmark"]["sha256"]:
        problems.append(f"benchmark: SHA-256 {plan.benchmark.sha256} differs from the manifest's "
                        f"{manifest['inputs']['benchmark']['sha256']}")
    frame = pd.read_parquet(bundle / "predictions.parquet")
    if not np.array_equal(frame["id"].to_numpy(), plan.benchmark.ids):
        return problems + ["predictions.parquet: its ids differ from the benchmark rows of the recorded split"]
    source = {"kind": "file", "uri": str(bundle / "predictions.parquet"), "sha256": "", "fingerprint": ""}
    if "prediction" in frame:
        preds = Predictions(ids=frame["id"].to_numpy(), decision=None, score=None, source=source,
                            value=frame["prediction"].to_numpy(np.float64))
    else:
        preds = Predictions(ids=frame["id"].to_numpy(), decision=frame["decision"].to_numpy(np.int8),
                            score=frame["score"].to_numpy(np.float64) if "score" in frame else None, source=source)
    outcome = measure_and_judge(plan, preds)
    problems += _compare_measurements(outcome.measurements, bundle / "measurements.csv")
    stored_verdicts = pd.read_csv(bundle / "verdicts.csv", keep_default_na=False)
    if stored_verdicts["status"].tolist() != outcome.verdicts["status"].tolist():
        problems.append("verdicts.csv: statuses differ from the recomputed verdicts")
    summary = json.loads((bundle / "summary.json").read_text(encoding="utf-8"))
    if summary["verdict"] != outcome.verdict:
        problems.append(f"summary.json: overall verdict '{summary['verdict']}' but recomputed '{outcome.verdict}'")
    return problems


def _compare_measurements(fresh: pd.DataFrame, stored_path: Path) -> list[str]:
    stored = pd.read_csv(stored_path, float_precision="round_trip", keep_default_na=True)
    if len(stored) != len(fresh) or list(stored["requirement"]) != list(fresh["requirement"]):
        return [f"{stored_path.name}: {len(stored)} rows stored, {len(fresh)} recomputed"]
    problems = []
    for col in _NUMERIC:
        a, b = stored[col].to_numpy(np.float64), fresh[col].to_numpy(np.float64)
        for i in np.flatnonzero(~((a == b) | (np.isnan(a) & np.isnan(b)))):
            problems.append(f"{stored_path.name}: {fresh['requirement'][i]} / {fresh['group'][i]} {col}: stored "
                            f"{float(a[i])!r}, recomputed {float(b[i])!r}")
    return problems


def _against_mlflow(bundle: Path, manifest: dict[str, Any], tracking_uri: str | None, checks: list[str]) -> list[str]:
    from .tracking import find_run, metric_key, read_run

    digest = sha256_file(bundle / "manifest.json")
    experiment = manifest["inputs"]["profile"]["id"]
    run_id = find_run(digest, experiment, tracking_uri=tracking_uri)
    if run_id is None:
        checks.append("MLflow: no run logged this bundle (searched by manifest SHA-256)")
        return []
    checks.append(f"MLflow: run {run_id} compared with the bundle")
    run = read_run(run_id, tracking_uri=tracking_uri)
    problems = []
    summary = json.loads((bundle / "summary.json").read_text(encoding="utf-8"))
    for tag, want in (("oversight.verdict", summary["verdict"]),
                      ("oversight.benchmark_sha256", summary["benchmark"]["sha256"])):
        if run["tags"].get(tag) != want:
            problems.append(f"MLflow run {run_id}: tag {tag} is {run['tags'].get(tag)!r}, the bundle says {want!r}")
    stored = pd.read_csv(bundle / "measurements.csv", float_precision="round_trip")
    for m in stored.itertuples(index=False):
        key = metric_key(m.requirement, m.group, "value")
        logged = run["metrics"].get(key)
        if np.isfinite(m.value) and (logged is None or logged != m.value):
            problems.append(f"MLflow run {run_id}: metric {key} is {logged!r}, the bundle says {m.value!r}")
    for name, sha in manifest["files"].items():
        path = Path(run["artifacts"]) / name
        if not path.exists() or sha256_file(path) != sha:
            problems.append(f"MLflow run {run_id}: artifact evidence/{name} differs from the bundle")
    return problems
