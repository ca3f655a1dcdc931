"""One evaluation end to end: plan, predict, measure, judge, write evidence, track.

This module only wires the stages together; each stage lives in its own module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
import yaml

from . import __version__
from .errors import InputError
from .evidence.bundle import Bundle, write_bundle
from .measurements import measure
from .plan import Plan, atoms_of, check_columns, check_pinned, make_plan, validate_scores
from .predictors import Predictions, load_model, predict, read_predictions
from .profile import LoadedProfile, Profile, load_profile
from .report import render_html, render_markdown
from .sandbox import Limits, Options
from .stats import AtomTable
from .verdict import Measured, PolicyClock, judge, overall_verdict, policy_clock

__all__ = ["Evaluation", "Outcome", "VERDICT_COLUMNS", "evaluate", "judge_all", "measure_and_judge"]

VERDICT_COLUMNS = ["requirement", "title", "metric", "family", "group", "status", "blocking", "rule",
                   "operator", "threshold", "compared", "reason"]
Progress = Callable[[str], None]
Engine = Literal["local", "stream", "dask"]


@dataclass(frozen=True)
class Evaluation:
    verdict: str
    policy_status: str
    policy: PolicyClock
    measurements: pd.DataFrame
    verdicts: pd.DataFrame
    summary: dict[str, Any]
    predictions: Predictions | None  # None when the stream or Dask engine wrote them chunk by chunk
    bundle: Path | None
    run_id: str | None
    model_log: str = ""  # what the model process printed (also the bundle's model.log)


def _as_loaded(profile: str | Path | Profile | LoadedProfile) -> LoadedProfile:
    if isinstance(profile, LoadedProfile):
        return profile
    if isinstance(profile, Profile):
        text = yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        return LoadedProfile(profile=profile, path=None, text=text,
                             sha256=hashlib.sha256(text.encode()).hexdigest())
    return load_profile(profile)


@dataclass(frozen=True)
class Subject:
    """What was judged: which benchmark rows, from which files, and whose predictions."""

    benchmark_id: str
    sha256: str
    split: str
    rows: int
    files: list[tuple[Path, str]]
    root: Path
    label_column: str
    sample: pd.DataFrame  # a few rows, for the MLflow dataset's schema
    source: dict[str, str]  # the predictions' provenance
    sandbox: dict[str, Any] | None  # how the model ran; None for declared predictions
    model_log: str


NO_MODEL_LOG = "No model ran: the predictions were declared in a file, so there is no model output.\n"


def _predictions(plan: Plan, model: Any, predictions: str | Path | None,
                 options: Options) -> tuple[Predictions, dict[str, Any] | None, str]:
    """The predictions, how the model ran (None for a declared file) and what it printed."""
    bench = plan.benchmark
    task = plan.profile.task
    if predictions is not None:
        return read_predictions(predictions, expected_ids=bench.ids, task=task), None, NO_MODEL_LOG
    inputs = bench.model_inputs(plan.profile.model_inputs.allow_sensitive)
    with load_model(model, options=options) as runnable:
        preds = predict(runnable, inputs, bench.ids, task=task)
    return preds, runnable.record(), runnable.log()


def _local(loaded: LoadedProfile, model: Any, predictions: str | Path | None, split: str | None,
           say: Progress, options: Options) -> tuple[AtomTable, Subject, Predictions]:
    plan = make_plan(loaded, split=split)
    bench = plan.benchmark
    say(f"benchmark {bench.id}: {len(bench.frame):,} rows ({plan.split} split), hash verified")
    preds, sandbox, log = _predictions(plan, model, predictions, options)
    validate_scores(preds.score, plan.profile, preds.source.get("uri", "predictions"))
    say(f"predictions from {preds.source['kind']}: {len(preds.ids):,} rows")
    subject = Subject(bench.id, bench.sha256, plan.split, len(bench.frame), bench.files(), bench.root,
                      bench.card.label.column, bench.frame.head(1000), preds.source, sandbox, log)
    return atoms_for(plan, preds), subject, preds


def _streamed(loaded: LoadedProfile, model: Any, split: str | None, *, engine: str, chunk_rows: int,
              scheduler: str | None, scratch: Path, say: Progress, options: Options) -> tuple[AtomTable, Subject, Path]:
    from .stream import StreamJob, dask_statistics, open_source, stream_statistics

    profile = loaded.profile
    source = open_source(profile.benchmark.id)
    check_pinned(profile, source.sha256)
    check_columns(loaded, source.card, source.columns)
    chosen = split or profile.benchmark.split
    if engine == "dask" and options.sandbox and isinstance(model, (str, Path)):
        raise InputError(f"engine 'dask' sends the model to the cluster's workers, where model {model} cannot "
                         "run in the sandbox; use engine 'stream' (one sandboxed model process for all chunks), "
                         "or --no-sandbox to load the model file on the workers without isolation")
    path = scratch / "predictions.parquet"
    with load_model(model, options=options) as loaded_model:
        job = StreamJob(profile, source.card, chosen, loaded_model)
        say(f"benchmark {source.id}: hash verified; {engine} engine, chunks of {chunk_rows:,} rows")
        if engine == "dask":
            table = dask_statistics(job, source, chunk_rows=chunk_rows, predictions_path=path,
                                    scheduler=scheduler, progress=say)
        else:
            table = stream_statistics(job, source, chunk_rows=chunk_rows, predictions_path=path, progress=say)
    grid = table.grid
    validate_scores(None if grid is None else grid.values, profile, loaded_model.uri)
    src = {"kind": loaded_model.kind, "uri": loaded_model.uri, "sha256": loaded_model.sha256,
           "fingerprint": loaded_model.sha256[:16]}
    subject = Subject(source.id, source.sha256, chosen, table.n_rows, source.files(), source.root,
                      source.card.label.column, _head(path, 1000), src, loaded_model.record(), loaded_model.log())
    return table, subject, path


def _head(path: Path, rows: int) -> pd.DataFrame:
    """The first rows of a Parquet file, without reading the rest."""
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(path, pre_buffer=False)
    batch = next(reader.iter_batches(batch_size=rows), None)
    return pd.DataFrame() if batch is None else batch.to_pandas()


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
    engine: Engine = "local",
    chunk_rows: int = 250_000,
    scheduler: str | None = None,
    progress: Progress | None = None,
    sandbox: bool = True,
    limits: Limits | None = None,
    trust_model: bool = False,
    trusted_types: Sequence[str] = (),
) -> "Evaluation":
    """Evaluate a model (or declared predictions) against a sector profile.

    ``engine``: "local" holds the benchmark in memory; "stream" reads it in chunks of
    ``chunk_rows``; "dask" computes each chunk's statistics on a Dask cluster (``scheduler``
    address, or a local cluster of two workers). All three give identical numbers.

    A model file or MLflow model runs in a separate process (``sandbox=True``), under
    bubblewrap where it can run, within ``limits`` (``harness.sandbox.Limits``); pickle
    files and, without bubblewrap, MLflow models run only with ``trust_model=True``;
    ``trusted_types`` are extra types a ``.skops`` file may load. A model object passed
    from Python is the caller's own code and runs in this process.
    """
    say = progress or (lambda _msg: None)
    if (model is None) == (predictions is None):
        raise InputError("give exactly one of a model (--model) or a predictions file (--predictions)")
    if engine != "local" and predictions is not None:
        raise InputError(f"engine '{engine}' runs a model chunk by chunk; declared predictions are evaluated "
                         "with engine 'local'")
    options = Options(sandbox=sandbox, limits=limits or Limits(), trust_model=trust_model,
                      trusted_types=tuple(trusted_types))
    loaded = _as_loaded(profile)
    out_dir = Path(out or "reports")
    with tempfile.TemporaryDirectory(prefix=".scratch-", dir=_scratch_parent(out_dir)) as scratch:
        if engine == "local":
            table, subject, preds = _local(loaded, model, predictions, split, say, options)
            payload: pd.DataFrame | Path = preds.frame()
        else:
            table, subject, payload = _streamed(loaded, model, split, engine=engine, chunk_rows=chunk_rows,
                                                scheduler=scheduler, scratch=Path(scratch), say=say,
                                                options=options)
            preds = None
        opts = loaded.profile.inference
        say(f"measuring {len(loaded.profile.requirements)} requirements "
            f"({opts.bootstrap.replicates:,} bootstrap replicates)")
        outcome = judge_table(loaded.profile, table)
        clock = policy_clock(loaded.profile, as_of or dt.date.today())
        summary = _summary(loaded, subject, outcome, clock)
        bundle = None
        if out is not None or tracking:
            bundle = _write(loaded, subject, payload, outcome, summary, out_dir)
            summary = {**summary, "manifest_sha256": bundle.manifest_sha256}
            say(f"evidence bundle written: {bundle.path}")
    run_id = None
    if tracking:
        from .evidence.tracking import log_evaluation

        run_id = log_evaluation(bundle, summary, outcome.measurements, outcome.verdicts, _dataset(subject),
                                tracking_uri=tracking_uri)
        say(f"MLflow run {run_id} logged")
    return Evaluation(outcome.verdict, clock.status, clock, outcome.measurements, outcome.verdicts, summary,
                      preds, bundle.path if bundle else None, run_id, subject.model_log)


def _scratch_parent(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _dataset(subject: Subject) -> DatasetRef:
    return DatasetRef(subject.benchmark_id, subject.root, subject.sha256, subject.label_column, subject.sample)


@dataclass(frozen=True)
class DatasetRef:
    """The benchmark as MLflow sees it: id, where it lives, its hash and a sample for the schema."""

    id: str
    root: Path
    sha256: str
    label_column: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class Outcome:
    measurements: pd.DataFrame
    verdicts: pd.DataFrame
    verdict: str
    unknown: dict[str, int]
    scores_exact: bool | None


def atoms_for(plan: Plan, preds: Predictions) -> AtomTable:
    """Sufficient statistics of an in-memory benchmark and its predictions."""
    bench = plan.benchmark
    return atoms_of(plan.profile, plan.groups, bench.y, preds, weight=bench.weights, cluster=bench.clusters)


def judge_table(profile: Profile, table: AtomTable) -> Outcome:
    """The pure core of an evaluation: measurements and verdicts from statistics."""
    measurements, unknown = measure(profile, table)
    verdicts = judge_all(profile, measurements)
    verdict = overall_verdict(verdicts.loc[verdicts["blocking"], "status"].tolist())
    exact = None if table.grid is None else bool(table.grid.exact)
    return Outcome(measurements, verdicts, verdict, unknown, exact)


def measure_and_judge(plan: Plan, preds: Predictions) -> Outcome:
    return judge_table(plan.profile, atoms_for(plan, preds))


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


def _summary(loaded: LoadedProfile, subject: Subject, outcome: Outcome, clock: PolicyClock) -> dict[str, Any]:
    p = loaded.profile
    src = subject.source
    return {
        "profile": {"id": p.id, "version": str(p.version), "title": p.title, "sector": p.sector,
                    "authority": p.authority, "legal_basis": list(p.legal_basis),
                    "effective_from": p.effective_from.isoformat(), "enforcement_from": p.enforcement_from.isoformat(),
                    "sha256": loaded.sha256},
        "verdict": outcome.verdict,
        "policy": {"status": clock.status, "as_of": clock.as_of.isoformat(), "message": clock.message},
        "benchmark": {"id": subject.benchmark_id, "sha256": subject.sha256, "split": subject.split,
                      "rows": int(subject.rows)},
        "model": {"kind": src["kind"], "uri": src.get("uri", ""), "fingerprint": src.get("fingerprint", ""),
                  "sha256": src.get("sha256", ""), "sandbox": subject.sandbox},
        "confidence": p.inference.confidence,
        "seed": p.inference.bootstrap.seed,
        "bootstrap_replicates": p.inference.bootstrap.replicates,
        "bootstrap_unit": p.inference.bootstrap.unit,
        "bootstrap_score_bins": p.inference.bootstrap.score_bins,
        "scores_exact": outcome.scores_exact,
        "harness_version": __version__,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "requirements": [{"id": r.id, "title": r.title, "metric": r.metric, "blocking": r.is_blocking,
                          "rule": r.rule if r.threshold else "none", "threshold": _threshold_text(r),
                          "description": r.description.strip()} for r in p.requirements],
        "counts": {"unknown_category": outcome.unknown},
        "manifest_sha256": "",
    }


def _free_name(out: Path, name: str) -> str:
    candidate, i = name, 1
    while (out / candidate).exists():
        i += 1
        candidate = f"{name}-{i}"
    return candidate


def _write(loaded: LoadedProfile, subject: Subject, predictions: pd.DataFrame | Path, outcome: Outcome,
           summary: dict[str, Any], out: Path) -> Bundle:
    stamp = summary["created_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    p = loaded.profile
    name = f"{p.id}-v{p.version}-{stamp}-{summary['model']['fingerprint'][:8] or 'preds'}"
    inputs = {
        "profile": {**summary["profile"], "path": str(loaded.path or "")},
        "benchmark": {**summary["benchmark"],
                      "files": [{"path": f"{path.parent.name}/{path.name}", "sha256": sha}
                                for path, sha in subject.files]},
        "model": summary["model"],
    }
    m, v = outcome.measurements, outcome.verdicts
    return write_bundle(
        out, _free_name(out, name), profile_text=loaded.text, predictions=predictions, measurements=m,
        verdicts=v, summary=summary, inputs=inputs, model_log=subject.model_log,
        render=lambda: (render_html(summary, m, v), render_markdown(summary, m, v)),
    )
