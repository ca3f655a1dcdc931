"""One evaluation end to end: plan, predict, measure, judge, write evidence, track.

This module only wires the stages together; each stage lives in its own module.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Literal

import pandas as pd
import yaml

from . import evaluation_views as views
from .declared import read_predictions
from .declared_frames import in_memory, read_in_memory
from .errors import InputError, TrackingError
from .evidence.bundle import Bundle, write_bundle
from .evidence.naming import bundle_name, scratch_dir, sweep_leftovers
from .evidence.store import DEFAULT_TIMEOUT
from .measurements import measure
from .plan import (Plan, atoms_of, check_columns, check_pinned, locate_benchmark, make_plan, score_limits,
                   validate_scores)
from .predictors import Predictions, load_model, predict
from .profile import LoadedProfile, Profile, load_profile, parse_profile
from .progress import Reporter, as_reporter, reporting, stage
from .report import figures_of, render_reports
from .sandbox import Limits, Options
from .stats import AtomTable
from .subject import Sealed, Subject, dataset_of as _dataset, summarise as _summary
from .supersession import check_supersedes, in_force_successor
from .verdict import Measured, PolicyClock, judge, overall_verdict, policy_clock

if TYPE_CHECKING:
    from .evidence.sync import Pending

__all__ = ["Evaluation", "Outcome", "Sealed", "VERDICT_COLUMNS", "evaluate", "judge_all", "measure_and_judge"]

VERDICT_COLUMNS = ["requirement", "title", "metric", "family", "group", "status", "blocking", "rule",
                   "operator", "threshold", "compared", "reason"]
Progress = Callable[[str], None]
Engine = Literal["local", "stream", "dask"]
PredictionsInput = str | Path | pd.DataFrame | Mapping[str, Any]


@dataclass(frozen=True, repr=False)
class Evaluation:
    """The outcome of ``evaluate``: verdicts, measurements, and where the evidence went.

    ``by_group(requirement)`` and ``overall`` are the frames to read it by; ``measurements``
    and ``verdicts`` the long tables the bundle stores.
    """

    verdict: str
    policy_status: str
    policy: PolicyClock
    measurements: pd.DataFrame
    verdicts: pd.DataFrame
    summary: dict[str, Any]
    predictions: Predictions | None  # None when the stream or Dask engine wrote them chunk by chunk
    bundle: Path | None
    run_id: str | None
    tracking_error: str | None = None  # why the run was not logged; the bundle is then pending
    pending: Path | None = None  # the marker ``oversight sync`` logs the bundle from
    model_log: str = ""  # what the model process printed (also the bundle's model.log)

    def by_group(self, requirement: str) -> pd.DataFrame:
        """One row per group of ``requirement``: value, ci_low, ci_high, n, status, threshold, reason."""
        return views.by_group(self.measurements, self.verdicts, requirement)

    @property
    def overall(self) -> pd.DataFrame:
        """One row per requirement: metric, threshold, rule, blocking, worst status, groups not passing."""
        return views.overall(self.summary, self.verdicts)

    def __repr__(self) -> str:
        return views.short_repr(self)

    def _repr_html_(self) -> str:
        return views.html_view(self)


def _as_loaded(profile: str | Path | Profile | LoadedProfile) -> LoadedProfile:
    if isinstance(profile, LoadedProfile):
        return profile
    if isinstance(profile, Profile):  # read back as a file would be, so every check of a profile applies
        text = yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        return LoadedProfile(profile=parse_profile(text, source=f"<Profile {profile.id}>"), path=None, text=text,
                             sha256=hashlib.sha256(text.encode()).hexdigest())
    return load_profile(profile)


NO_MODEL_LOG = "No model ran: the predictions were declared in a file, so there is no model output.\n"


def _predictions(plan: Plan, model: Any, predictions: str | Path | None,
                 options: Options) -> tuple[Predictions, dict[str, Any] | None, str]:
    """The predictions, how the model ran (None for a declared file) and what it printed."""
    bench = plan.benchmark
    task = plan.profile.task
    if predictions is not None:
        with stage("reading the predictions", total=len(bench.ids), unit="rows") as tick:
            declared = read_predictions(predictions, expected_ids=bench.ids, task=task,
                                        score_range=score_limits(plan.profile))
            tick.advance(len(bench.ids))
        return declared, None, NO_MODEL_LOG
    inputs = bench.model_inputs(plan.profile.model_inputs.allow_sensitive)
    with load_model(model, options=options) as runnable, stage("predicting", total=len(inputs), unit="rows") as tick:
        preds = predict(runnable, inputs, bench.ids, task=task)
        tick.advance(len(inputs))
    return preds, runnable.record(), runnable.log()


def _local(loaded: LoadedProfile, model: Any, predictions: PredictionsInput | None, split: str | None,
           say: Progress, options: Options, scratch: Path,
           sealed: Sealed | None) -> tuple[AtomTable, Subject, Predictions, "pd.DataFrame | Path"]:
    plan = make_plan(loaded, split=split, benchmark=None if sealed is None else sealed.benchmark)
    bench = plan.benchmark
    say(f"benchmark {bench.id}: {len(bench.frame):,} rows ({plan.split} split), hash verified")
    payload: pd.DataFrame | Path
    if in_memory(predictions):  # stored as the canonical Parquet its hash names
        preds, payload = read_in_memory(predictions, scratch, expected_ids=bench.ids,  # type: ignore[arg-type]
                                        task=plan.profile.task, score_range=score_limits(plan.profile))
        sandbox, log = None, NO_MODEL_LOG
    else:
        preds, sandbox, log = _predictions(plan, model, predictions, options)  # type: ignore[arg-type]
        if sealed is not None:
            preds = replace(preds, source=sealed.source)
        payload = preds.frame()
    validate_scores(preds.score, plan.profile, preds.source.get("uri", "predictions"))
    say(f"predictions from {preds.source['kind']}: {len(preds.ids):,} rows")
    subject = Subject(bench.id, bench.sha256, plan.split, len(bench.frame), bench.files(), bench.root,
                      bench.card.label.column, bench.frame.head(1000), preds.source, sandbox, log,
                      labels=bench.card.labels)
    return atoms_for(plan, preds), subject, preds, payload


def _streamed(loaded: LoadedProfile, model: Any, split: str | None, *, engine: str, chunk_rows: int,
              scheduler: str | None, scratch: Path, say: Progress, options: Options) -> tuple[AtomTable, Subject, Path]:
    from .stream import StreamJob, dask_statistics, open_source, stream_statistics

    profile = loaded.profile
    source = open_source(locate_benchmark(loaded)[0], expected_id=profile.benchmark.id)
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
            table = stream_statistics(job, source, chunk_rows=chunk_rows, predictions_path=path)
    grid = table.grid
    validate_scores(None if grid is None else grid.values, profile, loaded_model.uri)
    src = {"kind": loaded_model.kind, "uri": loaded_model.uri, "sha256": loaded_model.sha256,
           "fingerprint": loaded_model.sha256[:16]}
    subject = Subject(source.id, source.sha256, chosen, table.n_rows, source.files(), source.root,
                      source.card.label.column, _head(path, 1000), src, loaded_model.record(), loaded_model.log(),
                      labels=source.card.labels)
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
    predictions: PredictionsInput | None = None,
    as_of: dt.date | None = None,
    out: str | Path | None = None,
    tracking: bool = True,
    tracking_uri: str | None = None,
    split: str | None = None,
    engine: Engine = "local",
    chunk_rows: int = 250_000,
    scheduler: str | None = None,
    progress: Progress | Reporter | None = None,
    sign_key: str | Path | None = None,
    tracking_timeout: float = DEFAULT_TIMEOUT,
    sandbox: bool = True,
    limits: Limits | None = None,
    trust_model: bool = False,
    trusted_types: Sequence[str] = (),
    nested: bool = True,
    sealed: Sealed | None = None,
) -> "Evaluation":
    """Evaluate a model (or declared predictions) against a sector profile.

    ``engine``: "local" holds the benchmark in memory; "stream" reads it in chunks of
    ``chunk_rows``; "dask" computes each chunk's statistics on a Dask cluster (``scheduler``
    address, or a local cluster of two workers). All three give identical numbers.
    ``sign_key``: an Ed25519 private key file; the bundle's manifest is signed with it.
    A tracking store that is unreachable or refuses the run (within ``tracking_timeout``
    seconds per connection and request) does not fail the evaluation: the bundle is left
    pending for ``oversight sync`` and ``tracking_error`` says why.

    A model file or MLflow model runs in a separate process (``sandbox=True``), under
    bubblewrap where it can run, within ``limits`` (``harness.sandbox.Limits``); pickle
    files and, without bubblewrap, MLflow models run only with ``trust_model=True``;
    ``trusted_types`` are extra types a ``.skops`` file may load. A model object passed
    from Python is the caller's own code and runs in this process.

    ``predictions``: a CSV or Parquet file, a DataFrame, or a mapping of column name to
    array (columns ``id``, ``decision``, optional ``score``; ``id``, ``prediction`` for
    regression); in memory they are checked as a file is, and the bundle stores them as the
    canonical Parquet whose SHA-256 the evidence names. Nothing is written unless asked:
    ``out`` (a folder) gives a bundle, and so does tracking (in ``out``, default ``reports``).

    MLflow's global state (tracking and registry URI, active experiment and run,
    environment) is never changed. Called inside an active MLflow run of the same store,
    the evaluation is logged as a nested run of it (tag ``mlflow.parentRunId``, in that
    run's experiment; ``oversight sync`` keeps the nesting); with ``nested=False`` an
    evaluation that would log inside an active run is refused before any work starts.
    ``sealed``: a lab's assessment of a submission (``harness.conformity.assess``), judged on
    the sealed part.
    """
    reporter = as_reporter(progress)
    say = reporter.note if reporter is not None else (lambda _msg: None)
    if (model is None) == (predictions is None):
        raise InputError("give exactly one of a model (--model) or a predictions file (--predictions)")
    if sealed is not None and (engine != "local" or predictions is None):
        raise InputError("an assessment judges a submission's predictions with engine 'local'")
    if engine != "local" and predictions is not None:
        raise InputError(f"engine '{engine}' runs a model chunk by chunk; declared predictions are evaluated "
                         "with engine 'local'")
    options = Options(sandbox=sandbox, limits=limits or Limits(), trust_model=trust_model,
                      trusted_types=tuple(trusted_types))
    loaded = _as_loaded(profile)
    as_of = as_of or dt.date.today()
    check_supersedes(loaded)  # before any model runs: a wrong link costs nothing
    successor = in_force_successor(loaded.profile, as_of)
    parent = _caller_run(nested) if tracking else None
    signer = None
    if sign_key is not None:
        from .evidence.signing import load_signer

        signer = load_signer(Path(sign_key))
    out_dir = Path(out or "reports")
    with reporting(reporter), _workspace(out_dir, writes=out is not None or tracking) as scratch:
        payload: pd.DataFrame | Path
        if engine == "local":
            table, subject, preds, payload = _local(loaded, model, predictions, split, say, options, scratch,
                                                    sealed)
        else:
            table, subject, payload = _streamed(loaded, model, split, engine=engine, chunk_rows=chunk_rows,
                                                scheduler=scheduler, scratch=scratch, say=say,
                                                options=options)
            preds = None  # type: ignore[assignment]
        opts = loaded.profile.inference
        say(f"measuring {len(loaded.profile.requirements)} requirements "
            f"({opts.bootstrap.replicates:,} bootstrap replicates)")
        outcome = judge_table(loaded.profile, table)
        clock = policy_clock(loaded.profile, as_of, superseded_by=successor)
        summary = _summary(loaded, subject, outcome, clock)
        if sealed is not None:
            summary["assessment"] = sealed.record
        bundle, pending = None, None
        if out is not None or tracking:
            bundle, pending = _evidence(loaded, subject, payload, outcome, summary, out_dir,
                                        tracking_uri=tracking_uri if tracking else None, tracking=tracking,
                                        signer=signer, parent=parent, sealed=sealed)
            summary = {**summary, "manifest_sha256": bundle.manifest_sha256}
            say(f"evidence bundle written: {bundle.path}")
    run_id, error = None, None
    if pending is not None and bundle is not None:
        run_id, error = _track(bundle, summary, outcome, pending, tracking_timeout)
        say(f"MLflow run {run_id} logged" if run_id else f"MLflow run not logged; bundle pending: {pending.path}")
    return Evaluation(outcome.verdict, clock.status, clock, outcome.measurements, outcome.verdicts, summary,
                      preds, bundle.path if bundle else None, run_id, error,
                      pending.path if pending is not None and error else None, subject.model_log)


@contextlib.contextmanager
def _workspace(out_dir: Path, *, writes: bool) -> Iterator[Path]:
    """Scratch space beside the bundles when evidence is written; otherwise a temporary folder, gone after."""
    if not writes:
        with tempfile.TemporaryDirectory(prefix="oversight-") as tmp:
            yield Path(tmp)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(out_dir)
    with scratch_dir(out_dir) as scratch:
        yield scratch


def _caller_run(nested: bool) -> dict[str, str] | None:
    from .evidence.tracking import caller_run

    return caller_run(nested=nested)


def _evidence(loaded: LoadedProfile, subject: Subject, payload: pd.DataFrame | Path, outcome: "Outcome",
              summary: dict[str, Any], out_dir: Path, *, tracking_uri: str | None,
              tracking: bool, signer: Any, parent: dict[str, str] | None,
              sealed: Sealed | None = None) -> tuple[Bundle, "Pending | None"]:
    """The bundle under a fresh name; when tracking, its pending marker is written first."""
    name = bundle_name(loaded.profile.id, str(loaded.profile.version), summary["created_at"],
                       summary["model"]["fingerprint"])
    pending = _pending(out_dir, name, subject, tracking_uri) if tracking else None
    if pending is not None and parent is not None:
        pending.record["parent"] = parent  # kept if logging fails, so ``oversight sync`` nests the run too
    return _write(loaded, subject, payload, outcome, summary, out_dir, name, pending, signer=signer,
                  sealed=sealed), pending


def _pending(out_dir: Path, name: str, subject: Subject, tracking_uri: str | None) -> "Pending":
    """The marker that keeps the bundle on record for ``oversight sync`` until its run is FINISHED."""
    from .evidence.sync import Pending
    from .evidence.tracking import dataset_record, resolved_uri

    return Pending(out_dir, name, tracking_uri=resolved_uri(tracking_uri), dataset=dataset_record(_dataset(subject)))


def _track(bundle: Bundle, summary: dict[str, Any], outcome: "Outcome", pending: "Pending",
           timeout: float) -> tuple[str | None, str | None]:
    """Log the bundle; a tracking failure leaves it pending and is returned, not raised."""
    from .evidence.tracking import log_evaluation

    try:
        run_id = log_evaluation(bundle, summary, outcome.measurements, outcome.verdicts, pending.record["dataset"],
                                tracking_uri=pending.record["tracking_uri"], timeout=timeout,
                                parent=pending.record.get("parent"))
    except TrackingError as exc:
        pending.failed(str(exc))
        return None, str(exc)
    pending.resolved()
    return run_id, None


@dataclass(frozen=True)
class Outcome:
    measurements: pd.DataFrame
    verdicts: pd.DataFrame
    verdict: str
    unknown: dict[str, int]
    scores_exact: bool | None
    table: AtomTable | None = field(default=None, repr=False, compare=False)  # what the report's curves read


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
    return Outcome(measurements, verdicts, verdict, unknown, exact, table)


def measure_and_judge(plan: Plan, preds: Predictions) -> Outcome:
    return judge_table(plan.profile, atoms_for(plan, preds))


def judge_all(profile: Profile, measurements: pd.DataFrame) -> pd.DataFrame:
    rows = []
    conf = profile.inference.confidence
    for m in measurements.itertuples(index=False):
        req = profile.requirement(m.requirement)
        measured = Measured(value=m.value, ci_low=m.ci_low, ci_high=m.ci_high, n=m.n, positives=m.positives,
                            negatives=m.negatives, excluded=bool(m.excluded), p_value=m.p_value, confidence=conf,
                            p_adjusted=m.p_adjusted)
        j = judge(req, measured)
        th = req.threshold
        rows.append({
            "requirement": req.id, "title": req.title, "metric": req.metric, "family": m.family,
            "group": m.group, "status": j.status, "blocking": req.is_blocking,
            "rule": req.rule if th else "none", "operator": th.operator if th else "",
            "threshold": th.value if th else math.nan, "compared": j.compared, "reason": j.reason,
        })
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def _found(loaded: LoadedProfile, sealed: Sealed | None) -> dict[str, str]:
    """Where the benchmark was found on this machine (the SHA-256 above says what it was)."""
    if sealed is not None:
        return {"where": "the lab's sealed part", "folder": sealed.benchmark.name}
    folder, where = locate_benchmark(loaded)
    return {"where": where, "folder": str(folder)}


def _write(loaded: LoadedProfile, subject: Subject, predictions: pd.DataFrame | Path, outcome: Outcome,
           summary: dict[str, Any], out: Path, name: str, pending: "Pending | None", *, signer: Any,
           sealed: Sealed | None) -> Bundle:
    inputs = {
        "profile": {**summary["profile"], "path": str(loaded.path or "")},
        "benchmark": {**summary["benchmark"],
                      "files": [{"path": f"{path.parent.name}/{path.name}", "sha256": sha}
                                for path, sha in subject.files],
                      "found": _found(loaded, sealed)},
        "model": summary["model"],
    }
    m, v = outcome.measurements, outcome.verdicts
    try:
        return write_bundle(
            out, name, profile_text=loaded.text, predictions=predictions, measurements=m,
            verdicts=v, summary=summary, inputs=inputs,
            render=lambda: render_reports(summary, m, v, figures=figures_of(loaded.profile, outcome.table)),
            tracking=pending is not None, signer=signer, model_log=subject.model_log,
            extra_files=None if sealed is None else sealed.files,
        )
    except BaseException:
        if pending is not None:
            pending.resolved()  # no bundle, so nothing to log later
        raise
