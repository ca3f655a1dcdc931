"""Bundle checks that need no tracking server: every derived file recomputed and compared.

The stored profile and predictions, with the benchmark, determine the measurements, the
verdicts, the summary (but for its creation time and the model's provenance, which the
manifest and signature carry) and both reports. Each is rebuilt here with the code that
wrote it and compared byte for byte; a difference is named by file, row and field.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import HarnessError
from ..plan import Plan, make_plan
from ..predictors import Predictions
from ..profile import LoadedProfile, parse_profile
from .bundle import _json, _table_json
from .findings import Findings

__all__ = ["Recomputed", "recompute", "stored_predictions"]


class Recomputed:
    """What verify rebuilt from a bundle, for the checks that follow (MLflow, model re-run)."""

    def __init__(self, plan: Plan, predictions: Predictions, summary: dict[str, Any]) -> None:
        self.plan, self.predictions, self.summary = plan, predictions, summary


def _loaded(bundle: Path) -> LoadedProfile:
    raw = (bundle / "profile.yaml").read_bytes()
    text = raw.decode("utf-8")
    return LoadedProfile(profile=parse_profile(text, source=str(bundle / "profile.yaml")), path=None, text=text,
                         sha256=hashlib.sha256(raw).hexdigest())


def stored_predictions(bundle: Path) -> Predictions:
    frame = pd.read_parquet(bundle / "predictions.parquet")
    source = {"kind": "file", "uri": str(bundle / "predictions.parquet"), "sha256": "", "fingerprint": ""}
    if "prediction" in frame:
        return Predictions(ids=frame["id"].to_numpy(), decision=None, score=None, source=source,
                           value=frame["prediction"].to_numpy(np.float64))
    return Predictions(ids=frame["id"].to_numpy(), decision=frame["decision"].to_numpy(np.int8),
                       score=frame["score"].to_numpy(np.float64) if "score" in frame else None, source=source)


def _where_it_was(inputs: dict[str, Any]) -> str:
    """Where the run found its benchmark, as a hint for --benchmarks (the pinned SHA-256 still decides)."""
    benchmark = inputs.get("benchmark")
    found = benchmark.get("found") if isinstance(benchmark, dict) else None
    folder = found.get("folder") if isinstance(found, dict) else None
    if not isinstance(folder, str) or not folder:
        return ""
    return (f" (the run found it at {folder}, through {found.get('where', 'an unrecorded search path')}; "
            f"name its parent folder with --benchmarks or OVERSIGHT_BENCHMARKS)")


def recompute(bundle: Path, manifest: dict[str, Any], found: Findings, *,
              benchmark: Path | None = None) -> Recomputed | None:
    """Rebuild every derived file and name each difference; None when the inputs themselves fail.

    ``benchmark``: the folder to judge on instead of the profile's (a lab's sealed part).
    """
    from ..evaluation import Subject, _summary, measure_and_judge
    from ..report import figures_of, render_reports
    from ..supersession import recorded_successor
    from ..verdict import policy_clock

    inputs = manifest.get("inputs", {})
    try:
        loaded = _loaded(bundle)
        plan = make_plan(loaded, split=inputs["benchmark"]["split"], benchmark=benchmark)
    except HarnessError as exc:
        found.problems.append(f"profile.yaml or benchmark: {exc}{_where_it_was(inputs)}")
        return None
    except (KeyError, TypeError) as exc:
        found.problems.append(f"manifest.json: inputs.benchmark.split is missing or malformed ({exc!r})")
        return None
    bench = plan.benchmark
    preds = stored_predictions(bundle)
    if not np.array_equal(preds.ids, bench.ids):
        found.problems.append("predictions.parquet: its ids differ from the benchmark rows of the recorded split")
        return None
    outcome = measure_and_judge(plan, preds)
    stored_summary = json.loads((bundle / "summary.json").read_text(encoding="utf-8"))
    model = inputs.get("model", {})
    subject = Subject(bench.id, bench.sha256, plan.split, len(bench.frame), bench.files(), bench.root,
                      bench.card.label.column, bench.frame.head(0), model, model.get("sandbox"), "",
                      labels=bench.card.labels)
    clock = policy_clock(loaded.profile, dt.date.fromisoformat(str(manifest.get("as_of"))),
                         superseded_by=recorded_successor(stored_summary))  # the catalogue of the run, as recorded
    summary = {**_summary(loaded, subject, outcome, clock), "created_at": manifest.get("created_at")}
    if "assessment" in stored_summary:  # covered by the lab's signature, checked against the submission
        summary["assessment"] = stored_summary["assessment"]
    m, v = outcome.measurements, outcome.verdicts
    _compare_inputs(manifest, summary, loaded, bench.files(), found)
    _compare_tables(bundle, "measurements", m, found)
    _compare_tables(bundle, "verdicts", v, found)
    _compare_json(bundle / "summary.json", stored_summary, summary, _json(summary), found)
    html, markdown = render_reports(summary, m, v, figures=figures_of(plan.profile, outcome.table))
    _compare_text(bundle / "report.html", html, found)
    _compare_text(bundle / "report.md", markdown, found)
    found.checks.append("recomputed from the stored profile and predictions and compared byte for byte: "
                        "measurements.csv/.json, verdicts.csv/.json, summary.json, report.html, report.md")
    return Recomputed(plan, preds, summary)


def _compare_inputs(manifest: dict[str, Any], summary: dict[str, Any], loaded: LoadedProfile,
                    files: list[tuple[Path, str]], found: Findings) -> None:
    inputs = manifest.get("inputs", {})
    profile = {k: v for k, v in inputs.get("profile", {}).items() if k != "path"}
    benchmark = {k: v for k, v in inputs.get("benchmark", {}).items() if k not in ("files", "found")}
    if profile.get("sha256") != loaded.sha256:
        found.problems.append(f"profile.yaml: SHA-256 {loaded.sha256} differs from the profile hash recorded at "
                              f"run time ({profile.get('sha256')})")
    _diff("manifest.json inputs.profile", profile, summary["profile"], found)
    _diff("manifest.json inputs.benchmark", benchmark, summary["benchmark"], found)
    recorded = [f.get("sha256") for f in inputs.get("benchmark", {}).get("files", [])]
    if recorded != [sha for _, sha in files]:
        found.problems.append(f"manifest.json inputs.benchmark.files: SHA-256 {recorded} differ from the "
                              f"benchmark's files {[sha for _, sha in files]}")
    for key in ("as_of", "seed"):
        want = summary["policy"]["as_of"] if key == "as_of" else summary["seed"]
        if manifest.get(key) != want:
            found.problems.append(f"manifest.json {key}: {manifest.get(key)!r}, recomputed {want!r}")


def _diff(where: str, stored: Any, fresh: Any, found: Findings) -> None:
    """Name every field, by its path, where two JSON values differ."""
    if isinstance(stored, dict) and isinstance(fresh, dict):
        for key in list(fresh) + [k for k in stored if k not in fresh]:
            if key not in stored:
                found.problems.append(f"{where}.{key}: missing, recomputed {fresh[key]!r}")
            elif key not in fresh:
                found.problems.append(f"{where}.{key}: {stored[key]!r} is not a field the harness writes")
            else:
                _diff(f"{where}.{key}", stored[key], fresh[key], found)
    elif isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh):
        for i, (a, b) in enumerate(zip(stored, fresh)):
            _diff(f"{where}[{i}]", a, b, found)
    elif stored != fresh or type(stored) is not type(fresh):
        found.problems.append(f"{where}: stored {stored!r}, recomputed {fresh!r}")


def _row_name(row: dict[str, Any]) -> str:
    return f"{row.get('requirement')} / {row.get('group')}"


def _compare_tables(bundle: Path, stem: str, fresh: pd.DataFrame, found: Findings) -> None:
    csv_text = fresh.to_csv(index=False)
    stored = (bundle / f"{stem}.csv").read_text(encoding="utf-8")
    if stored != csv_text:
        before = len(found.problems)
        a, b = list(csv.DictReader(io.StringIO(stored))), list(csv.DictReader(io.StringIO(csv_text)))
        _rows(f"{stem}.csv", a, b, found, show=str)
        if len(found.problems) == before:
            found.problems.append(f"{stem}.csv: differs from the recomputed table byte for byte")
    json_text = _table_json(fresh)
    stored = (bundle / f"{stem}.json").read_text(encoding="utf-8")
    if stored != json_text:
        before = len(found.problems)
        try:
            rows = json.loads(stored)
        except json.JSONDecodeError as exc:
            rows = None
            found.problems.append(f"{stem}.json: not JSON: {exc}")
        if isinstance(rows, list):
            _rows(f"{stem}.json", rows, json.loads(json_text), found)
        if len(found.problems) == before:
            found.problems.append(f"{stem}.json: differs from the recomputed table byte for byte")


def _rows(name: str, stored: list[Any], fresh: list[dict[str, Any]], found: Findings, *,
          show: Callable[[Any], str] = repr) -> None:
    if len(stored) != len(fresh) or [_row_name(r) for r in stored if isinstance(r, dict)] != [
            _row_name(r) for r in fresh]:
        found.problems.append(f"{name}: {len(stored)} rows stored, {len(fresh)} recomputed")
        return
    for a, b in zip(stored, fresh):
        for key in list(b) + [k for k in a if k not in b]:
            if a.get(key) != b.get(key):
                found.problems.append(f"{name}: {_row_name(b)} {key}: stored {show(a.get(key))}, "
                                      f"recomputed {show(b.get(key))}")


def _compare_json(path: Path, stored: Any, fresh: Any, text: str, found: Findings) -> None:
    before = len(found.problems)
    _diff(path.name, stored, json.loads(text), found)
    if len(found.problems) == before and path.read_text(encoding="utf-8") != text:
        found.problems.append(f"{path.name}: differs from the recomputed file byte for byte")


def _compare_text(path: Path, fresh: str, found: Findings) -> None:
    stored = path.read_text(encoding="utf-8")
    if stored == fresh:
        return
    a, b = stored.splitlines(), fresh.splitlines()
    line = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    got = a[line].strip()[:80] if line < len(a) else "(end of file)"
    want = b[line].strip()[:80] if line < len(b) else "(end of file)"
    found.problems.append(f"{path.name}: differs from the report re-rendered from the recomputed results, "
                          f"first at line {line + 1}: stored {got!r}, re-rendered {want!r}")
