"""One evaluation end to end: plan, predict, measure, judge, write evidence, track.

This module only wires the stages together; each stage lives in its own module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

from . import __version__
from .errors import InputError
from .evidence import Bundle, write_bundle
from .measurements import measure
from .plan import Plan, make_plan, validate_scores
from .predictors import Predictions, predict, read_predictions
from .profile import LoadedProfile, Profile, load_profile
from .report import render_html, render_markdown
from .stats import GridSpec, build_atoms
from .verdict import Measured, PolicyClock, judge, overall_verdict, policy_clock

__all__ = ["Evaluation", "Outcome", "VERDICT_COLUMNS", "evaluate", "judge_all", "measure_and_judge"]

VERDICT_COLUMNS = ["requirement", "title", "metric", "family", "group", "status", "blocking", "rule",
                   "operator", "threshold", "compared", "reason"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Evaluation:
    verdict: str
    policy_status: str
    policy: PolicyClock
    measurements: pd.DataFrame
    verdicts: pd.DataFrame
    summary: dict[str, Any]
    predictions: Predictions
    bundle: Path | None
    run_id: str | None


def _as_loaded(profile: str | Path | Profile | LoadedProfile) -> LoadedProfile:
    if isinstance(profile, LoadedProfile):
        return profile
    if isinstance(profile, Profile):
        text = yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        return LoadedProfile(profile=profile, path=None, text=text,
                             sha256=hashlib.sha256(text.encode()).hexdigest())
    return load_profile(profile)


def _predictions(plan: Plan, model: Any, predictions: str | Path | None) -> Predictions:
    if (model is None) == (predictions is None):
        raise InputError("give exactly one of a model (--model) or a predictions file (--predictions)")
    bench = plan.benchmark
    if predictions is not None:
        return read_predictions(predictions, expected_ids=bench.ids)
    inputs = bench.model_inputs(plan.profile.model_inputs.allow_sensitive)
    return predict(model, inputs, bench.ids)


def evaluate(
    profile: str | Path | Profile | LoadedProfile,
    *,
    model: Any = None,
    predictions: str | Path | None = None,
    as_of: dt.date | None = None,
    out: str | Path | None = None,
    tracking: bool = True,
    tracking_uri: str | None = None,
    split: str | None = None,
    progress: Progress | None = None,
) -> "Evaluation":
    """Evaluate a model (or declared predictions) against a sector profile."""
    say = progress or (lambda _msg: None)
    loaded = _as_loaded(profile)
    plan = make_plan(loaded, split=split)
    say(f"benchmark {plan.benchmark.id}: {len(plan.benchmark.frame):,} rows ({plan.split} split), hash verified")
    preds = _predictions(plan, model, predictions)
    validate_scores(preds.score, plan, preds.source.get("uri", "predictions"))
    say(f"predictions from {preds.source['kind']}: {len(preds.ids):,} rows")
    opts = plan.profile.inference
    say(f"measuring {len(plan.profile.requirements)} requirements ({opts.bootstrap.replicates:,} bootstrap replicates)")
    outcome = measure_and_judge(plan, preds)
    clock = policy_clock(plan.profile, as_of or dt.date.today())
    measurements, verdicts, verdict = outcome.measurements, outcome.verdicts, outcome.verdict
    summary = _summary(plan, preds, verdict, clock, outcome.unknown, outcome.scores_exact)
    bundle = None
    if out is not None or tracking:
        bundle = _write(plan, preds, measurements, verdicts, summary, Path(out or "reports"))
        summary = {**summary, "manifest_sha256": bundle.manifest_sha256}
        say(f"evidence bundle written: {bundle.path}")
    run_id = None
    if tracking:
        from .tracking import log_evaluation

        run_id = log_evaluation(bundle, summary, measurements, verdicts, plan.benchmark, tracking_uri=tracking_uri)
        say(f"MLflow run {run_id} logged")
    return Evaluation(verdict, clock.status, clock, measurements, verdicts, summary, preds,
                      bundle.path if bundle else None, run_id)


@dataclass(frozen=True)
class Outcome:
    measurements: pd.DataFrame
    verdicts: pd.DataFrame
    verdict: str
    unknown: dict[str, int]
    scores_exact: bool | None


def measure_and_judge(plan: Plan, preds: Predictions) -> Outcome:
    """The pure core of an evaluation: statistics, measurements, verdicts."""
    bench = plan.benchmark
    opts = plan.profile.inference
    table = build_atoms(plan.groups, bench.y, preds.decision, score=preds.score if plan.needs_score else None,
                        weight=bench.weights if plan.needs_weights else None,
                        cluster=bench.clusters if opts.bootstrap.unit == "cluster" else None,
                        spec=GridSpec(opts.score_bins, tuple(opts.score_range)))
    measurements, unknown = measure(plan.profile, table)
    verdicts = judge_all(plan.profile, measurements)
    verdict = overall_verdict(verdicts.loc[verdicts["blocking"], "status"].tolist())
    exact = None if table.grid is None else bool(table.grid.exact)
    return Outcome(measurements, verdicts, verdict, unknown, exact)


def judge_all(profile: Profile, measurements: pd.DataFrame) -> pd.DataFrame:
    rows = []
    conf = profile.inference.confidence
    for m in measurements.itertuples(index=False):
        req = profile.requirement(m.requirement)
        measured = Measured(value=m.value, ci_low=m.ci_low, ci_high=m.ci_high, n=m.n, positives=m.positives,
                            negatives=m.negatives, excluded=bool(m.excluded), p_value=m.p_value, confidence=conf)
        j = judge(req, measured)
        th = req.threshold
        rows.append({
            "requirement": req.id, "title": req.title, "metric": req.metric, "family": m.family,
            "group": m.group, "status": j.status, "blocking": req.is_blocking,
            "rule": req.rule if th else "none", "operator": th.operator if th else "",
            "threshold": th.value if th else math.nan, "compared": j.compared, "reason": j.reason,
        })
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def _threshold_text(req: Any) -> str:
    if req.threshold is None:
        return "report only"
    text = req.threshold.text()
    return f"{text} (bound goal {req.null_threshold:g})" if req.rule == "dual" else text


def _summary(plan: Plan, preds: Predictions, verdict: str, clock: PolicyClock, unknown: dict[str, int],
             scores_exact: bool | None) -> dict[str, Any]:
    p = plan.profile
    return {
        "profile": {"id": p.id, "version": str(p.version), "title": p.title, "sector": p.sector,
                    "authority": p.authority, "legal_basis": list(p.legal_basis),
                    "effective_from": p.effective_from.isoformat(), "enforcement_from": p.enforcement_from.isoformat(),
                    "sha256": plan.loaded.sha256},
        "verdict": verdict,
        "policy": {"status": clock.status, "as_of": clock.as_of.isoformat(), "message": clock.message},
        "benchmark": {"id": plan.benchmark.id, "sha256": plan.benchmark.sha256, "split": plan.split,
                      "rows": int(len(plan.benchmark.frame))},
        "model": {"kind": preds.source["kind"], "uri": preds.source.get("uri", ""),
                  "fingerprint": preds.source.get("fingerprint", ""), "sha256": preds.source.get("sha256", "")},
        "confidence": p.inference.confidence,
        "seed": p.inference.bootstrap.seed,
        "bootstrap_replicates": p.inference.bootstrap.replicates,
        "scores_exact": scores_exact,
        "harness_version": __version__,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "requirements": [{"id": r.id, "title": r.title, "metric": r.metric, "blocking": r.is_blocking,
                          "rule": r.rule if r.threshold else "none", "threshold": _threshold_text(r),
                          "description": r.description.strip()} for r in p.requirements],
        "counts": {"unknown_category": unknown},
        "manifest_sha256": "",
    }


def _free_name(out: Path, name: str) -> str:
    candidate, i = name, 1
    while (out / candidate).exists():
        i += 1
        candidate = f"{name}-{i}"
    return candidate


def _write(plan: Plan, preds: Predictions, measurements: pd.DataFrame, verdicts: pd.DataFrame,
           summary: dict[str, Any], out: Path) -> Bundle:
    stamp = summary["created_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    name = f"{plan.profile.id}-v{plan.profile.version}-{stamp}-{summary['model']['fingerprint'][:8] or 'preds'}"
    inputs = {
        "profile": {**summary["profile"], "path": str(plan.loaded.path or "")},
        "benchmark": {**summary["benchmark"],
                      "files": [{"path": f"{path.parent.name}/{path.name}", "sha256": sha}
                                for path, sha in plan.benchmark.files()]},
        "model": summary["model"],
    }
    return write_bundle(
        out, _free_name(out, name), profile_text=plan.loaded.text, predictions=preds.frame(), measurements=measurements,
        verdicts=verdicts, summary=summary, inputs=inputs,
        render=lambda: (render_html(summary, measurements, verdicts), render_markdown(summary, measurements, verdicts)),
    )
