"""MLflow's writing side: loading vendor models' files, logging a finished bundle as a run.

With ``runs`` (the reading side) the only modules of the harness process that import
MLflow. MLflow is imported inside each function, so importing the harness stays fast and
MLflow is needed only by the runs that use it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from harness.errors import InputError, ModelError, TrackingError

from .metric_names import FIELDS, metric_key
from .naming import owner, owner_alive
from .run_page import NOTE_TAG, requirement_status, run_name, run_note
from .model_link import linked_model, log_model_file as _log_model_file
from .store import DEFAULT_TIMEOUT, bounded_store

__all__ = ["OPERATIONAL_TAGS", "RunContent", "caller_run", "create_sqlite_store", "dataset_record", "download_model",
           "expected_run", "load_model", "log_evaluation", "metric_key", "resolved_uri", "sweep_runs", "sweep_store"]


# --- loading vendor models ---------------------------------------------------


def download_model(uri: str, dst: Path) -> Path:
    """A local copy of an MLflow model's files in ``dst`` (a new folder); nothing of the model runs."""
    try:
        import mlflow.artifacts

        dst.mkdir(parents=True)
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst)))
    except Exception as exc:
        raise ModelError(
            f"cannot load MLflow model {uri!r}: {type(exc).__name__}: {exc}; expected a "
            "runs:/<run_id>/<name>, models:/<model_id or name/version> or file: URI, "
            "or a directory that contains an MLmodel file"
        ) from exc


def load_model(local: Path, *, uri: str) -> object:
    """Load an MLflow model in this process from its local copy (``download_model``).

    Only with ``--no-sandbox``: this runs the model's code here. A model with the
    ``sklearn`` flavor comes back as the scikit-learn estimator itself, so
    ``predict_proba`` stays available for scores; any other model as an
    ``mlflow.pyfunc.PyFuncModel`` (decisions only), which may keep using its files.
    """
    try:
        import mlflow.models
        import mlflow.pyfunc
        import mlflow.sklearn

        if "sklearn" in mlflow.models.Model.load(str(local)).flavors:
            return mlflow.sklearn.load_model(str(local))
        return mlflow.pyfunc.load_model(str(local))
    except Exception as exc:
        raise ModelError(f"cannot load MLflow model {uri!r}: {type(exc).__name__}: {exc}") from exc


# --- logging evaluations -----------------------------------------------------

def resolved_uri(tracking_uri: str | None = None) -> str:
    """The tracking URI a run would use: the argument, MLFLOW_TRACKING_URI, or MLflow's default."""
    import mlflow

    if tracking_uri:
        return tracking_uri
    return mlflow.get_tracking_uri()


def _metrics(measurements: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in measurements.itertuples(index=False):
        for field in FIELDS:
            v = float(getattr(m, field))
            if math.isfinite(v):
                out[metric_key(m.requirement, m.metric, m.group, field)] = v
    return out


def _tags(summary: dict[str, Any], verdicts: pd.DataFrame, manifest_sha256: str) -> dict[str, str]:
    """Tags the runs table filters on: one per requirement with its worst status, and the inputs' hashes."""
    p = summary["profile"]
    status = requirement_status(verdicts)
    tags = {
        **{f"oversight.requirement.{r['id']}": status.get(r["id"], "reported") for r in summary["requirements"]},
        "oversight.profile_id": p["id"],
        "oversight.profile_version": p["version"],
        "oversight.profile_sha256": p["sha256"],
        "oversight.sector": p["sector"],
        "oversight.verdict": summary["verdict"],
        "oversight.policy_status": summary["policy"]["status"],
        "oversight.as_of": summary["policy"]["as_of"],
        "oversight.benchmark_id": summary["benchmark"]["id"],
        "oversight.benchmark_sha256": summary["benchmark"]["sha256"],
        "oversight.split": summary["benchmark"]["split"],
        "oversight.conformant": str(summary["conformance"]["conformant"]).lower(),
        "oversight.model_kind": summary["model"]["kind"],
        "oversight.model_fingerprint": summary["model"]["fingerprint"],
        "oversight.model_sha256": summary["model"]["sha256"],
        "oversight.manifest_sha256": manifest_sha256,
        "oversight.harness_version": summary["harness_version"],
    }
    if newer := summary["policy"].get("superseded_by"):  # a newer version was in force on the evaluation date
        tags["oversight.policy.superseded_by"] = f"{newer['id']}@{newer['version']}"
    return tags


def _params(summary: dict[str, Any]) -> dict[str, str]:
    """The run's settings, and each requirement's metric, threshold and decision rule."""
    per_requirement = {}
    for r in summary["requirements"]:
        per_requirement.update({f"{r['id']}.metric": r["metric"], f"{r['id']}.threshold": r["threshold"],
                                f"{r['id']}.rule": r["rule"], f"{r['id']}.blocking": str(r["blocking"]).lower()})
    return {
        **per_requirement,
        "profile": f"{summary['profile']['id']} v{summary['profile']['version']}",
        "benchmark": summary["benchmark"]["id"],
        "split": summary["benchmark"]["split"],
        "rows": str(summary["benchmark"]["rows"]),
        "model_uri": summary["model"]["uri"][:500] or "(in memory)",
        "confidence": str(summary["confidence"]),
        "bootstrap_replicates": str(summary["bootstrap_replicates"]),
        "bootstrap_unit": str(summary["bootstrap_unit"]),
        "bootstrap_score_bins": str(summary["bootstrap_score_bins"]),
        "seed": str(summary["seed"]),
        "as_of": summary["policy"]["as_of"],
    }


@dataclass(frozen=True)
class RunContent:
    """What the harness logs for one bundle: verify compares a run with exactly this."""

    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]


def expected_run(summary: dict[str, Any], measurements: pd.DataFrame, verdicts: pd.DataFrame,
                 manifest_sha256: str, *, signer_fingerprint: str | None = None) -> RunContent:
    """The tags, params and metrics of the run that logs this bundle; one function for logging and verify."""
    tags = _tags(summary, verdicts, manifest_sha256)
    if signer_fingerprint:
        tags["oversight.signer_fingerprint"] = signer_fingerprint
    metrics = _metrics(measurements)
    blocking = verdicts["blocking"].astype(str).str.lower() == "true"
    metrics["blocking_failures"] = float(verdicts.loc[blocking, "status"].isin(["fail", "flag"]).sum())
    return RunContent(tags, _params(summary), metrics)


# MLflow refuses dataset digests longer than 36 characters (client validation and a
# String(36) column), so the digest carries the first 36 hex digits of the SHA-256 —
# 144 bits, against the 32 bits of MLflow's own digest of the first 10,000 rows — and
# the dataset input's tag ``oversight.sha256`` carries all 64.
DIGEST_CHARS = 36
_OWNER_TAGS = ("oversight.host", "oversight.pid", "oversight.pid_started")
# Tags about the logging process, not the evidence: verify does not compare them with the bundle.
OPERATIONAL_TAGS = (*_OWNER_TAGS, "oversight.failure")
_BATCH = 1000  # MLflow's limit of metrics per log_batch call


def dataset_record(benchmark: Any) -> dict[str, Any]:
    """The benchmark as MLflow's dataset entity, keyed by its SHA-256, as a JSON-ready dict.

    Computed before the bundle is written and kept in its pending marker, so that
    ``oversight sync`` logs the very same dataset later without the benchmark at hand.
    """
    import mlflow
    from mlflow.data.code_dataset_source import CodeDatasetSource

    # a portable reference, the same on every machine: never the folder the benchmark was read from
    source = CodeDatasetSource({"oversight.benchmark": benchmark.id,
                                "oversight.benchmark_version": str(benchmark.version),
                                "oversight.sha256": benchmark.sha256})
    with _quiet_mlflow():
        dataset = mlflow.data.from_pandas(benchmark.frame, source=source, name=benchmark.id,
                                          targets=benchmark.label_column,
                                          digest=benchmark.sha256[:DIGEST_CHARS])
        entity = dataset._to_mlflow_entity()
    return {"name": entity.name, "digest": entity.digest, "source_type": entity.source_type,
            "source": entity.source, "schema": entity.schema, "profile": entity.profile,
            "sha256": benchmark.sha256}


def _log_dataset(client: Any, run_id: str, record: dict[str, Any], model_id: str | None) -> None:
    from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelInput

    entity = Dataset(name=record["name"], digest=record["digest"], source_type=record["source_type"],
                     source=record["source"], schema=record.get("schema"), profile=record.get("profile"))
    tags = [InputTag("mlflow.data.context", "evaluation"), InputTag("oversight.sha256", record["sha256"])]
    models = [LoggedModelInput(model_id)] if model_id else None
    client.log_inputs(run_id, datasets=[DatasetInput(entity, tags=tags)], models=models)


@contextlib.contextmanager
def _quiet_mlflow() -> Iterator[None]:
    """Keep MLflow's database-setup INFO lines and two advisory warnings off the user's terminal."""
    import mlflow  # noqa: F401 - importing configures MLflow's logger, which this then quiets

    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
            yield
    finally:
        logger.setLevel(level)


def log_evaluation(bundle: Any, summary: dict[str, Any], measurements: pd.DataFrame, verdicts: pd.DataFrame,
                   benchmark: Any, *, tracking_uri: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                   parent: dict[str, str] | None = None) -> str:
    """Log one finished evidence bundle as one FINISHED MLflow run; return the run id.

    ``benchmark`` is the benchmark (id, root, sha256, label_column, frame) or its
    ``dataset_record``. Idempotent: a bundle already logged (same manifest hash, run
    FINISHED) is not logged twice. ``parent`` (``caller_run``) makes the run a nested run
    of the caller's, in the caller's experiment, when it lives in this store. The caller's
    global MLflow state is left alone: everything goes through one ``MlflowClient``.
    """
    uri = resolved_uri(tracking_uri)
    record = benchmark if isinstance(benchmark, dict) else dataset_record(benchmark)
    try:
        with _quiet_mlflow(), bounded_store(uri, timeout, create_sqlite=create_sqlite_store) as store_uri:
            nest = parent if parent and _same_store(parent["tracking_uri"], uri) else None
            return _log_run(bundle, summary, measurements, verdicts, record, store_uri, parent=nest)
    except TrackingError as exc:
        raise TrackingError(f"{exc}; the evidence bundle is complete at {bundle.path}") from exc
    except Exception as exc:
        raise TrackingError(f"MLflow at {uri} could not log the run: {type(exc).__name__}: {exc}; "
                            f"the evidence bundle is complete at {bundle.path}") from exc


def caller_run(*, nested: bool) -> dict[str, str] | None:
    """The caller's active MLflow run (id, experiment, store), read without changing any state.

    None when there is none; MLflow not imported yet means no run can be active. With
    ``nested=False`` an active run is refused, as ``mlflow.start_run()`` refuses one.
    """
    import sys

    if "mlflow" not in sys.modules:
        return None
    import mlflow

    active = mlflow.active_run()
    if active is None:
        return None
    if not nested:
        raise InputError(f"MLflow run {active.info.run_id} is active and nested=False: end it first, or pass "
                         "nested=True to log the evaluation as a nested run of it")
    return {"run_id": active.info.run_id, "experiment_id": active.info.experiment_id,
            "tracking_uri": mlflow.get_tracking_uri()}


def _same_store(a: str, b: str) -> bool:
    return a.split("?", 1)[0].rstrip("/") == b.split("?", 1)[0].rstrip("/")


def _log_run(bundle: Any, summary: dict[str, Any], measurements: pd.DataFrame, verdicts: pd.DataFrame,
             record: dict[str, Any], uri: str, *, parent: dict[str, str] | None) -> str:
    """Create the run with its tags, then params, metrics, dataset, model, artifacts; FINISHED last."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment_id = parent["experiment_id"] if parent else _experiment(client, summary["profile"]["id"])
    done = _claim(client, experiment_id, bundle.manifest_sha256)
    if done is not None:
        return done
    signer = (getattr(bundle, "signature", None) or {}).get("fingerprint")
    content = expected_run(summary, measurements, verdicts, bundle.manifest_sha256, signer_fingerprint=signer)
    page = {NOTE_TAG: run_note(summary, verdicts, bundle_path=str(bundle.path))}
    if parent:
        page["mlflow.parentRunId"] = parent["run_id"]
    run_id = client.create_run(experiment_id, run_name=run_name(summary),
                               tags={**content.tags, **page, **_owner_tags()}).info.run_id
    stamp = int(time.time() * 1000)
    client.log_batch(run_id, params=[Param(k, v) for k, v in content.params.items()])
    model_id = linked_model(client, summary["model"])
    link = {"model_id": model_id, "dataset_name": record["name"], "dataset_digest": record["digest"]} if model_id else {}
    items = [Metric(k, v, stamp, 0, **link) for k, v in content.metrics.items()]
    for i in range(0, len(items), _BATCH):
        client.log_batch(run_id, metrics=items[i:i + _BATCH])
    _log_dataset(client, run_id, record, model_id)
    _log_model_file(client, run_id, summary["model"])
    client.log_artifacts(run_id, str(bundle.path), artifact_path="evidence")
    client.set_terminated(run_id, "FINISHED")
    return run_id


def _experiment(client: Any, name: str) -> str:
    """The experiment's id, created if needed; another process may create it at the same moment."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _claim(client: Any, experiment_id: str, manifest_sha256: str) -> str | None:
    """The FINISHED run of this bundle if there is one; runs of it left by dead processes are marked FAILED."""
    runs = client.search_runs([experiment_id], f"tags.`oversight.manifest_sha256` = '{manifest_sha256}'")
    finished = [r for r in runs if r.info.status == "FINISHED"]
    if finished:
        return finished[0].info.run_id
    for run in runs:
        if run.info.status == "RUNNING" and _owner_dead(run.data.tags) is False:
            raise TrackingError(f"run {run.info.run_id} of this bundle is being logged by process "
                                f"{run.data.tags.get('oversight.pid')} now")
    sweep_runs(client, [experiment_id])
    return None


def _owner_tags() -> dict[str, str]:
    me = owner()
    return dict(zip(_OWNER_TAGS, (me["host"], str(me["pid"]), repr(me["started"]))))


def _owner_dead(tags: dict[str, str]) -> bool | None:
    """True when the run's process is gone, False when alive, None when not ours to judge."""
    if not all(k in tags for k in _OWNER_TAGS):
        return None
    alive = owner_alive(dict(zip(("host", "pid", "started"), (tags[k] for k in _OWNER_TAGS))))
    return None if alive is None else not alive


def create_sqlite_store(path: Path) -> None:
    """A complete, migrated MLflow store in the SQLite file ``path`` (see ``store.ensure_sqlite``)."""
    from mlflow.store.tracking import DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    uri = f"sqlite:///{path}"
    store = SqlAlchemyStore(uri, os.path.abspath(DEFAULT_LOCAL_FILE_AND_ARTIFACT_PATH))
    store.engine.dispose()
    SqlAlchemyStore._engine_map.pop(uri, None)


def sweep_runs(client: Any, experiment_ids: list[str]) -> list[str]:
    """Mark FAILED the RUNNING runs of ``experiment_ids`` whose owner process (on this host) is gone."""
    if not experiment_ids:
        return []
    swept = []
    for run in client.search_runs(experiment_ids, "attributes.status = 'RUNNING'", max_results=1000):
        if _owner_dead(run.data.tags):
            client.set_tag(run.info.run_id, "oversight.failure", "the process that logged this run died "
                           "before the run was complete")
            client.set_terminated(run.info.run_id, "FAILED")
            swept.append(run.info.run_id)
    return swept


def sweep_store(tracking_uri: str | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """``sweep_runs`` over every experiment of a store; the ids of the runs marked FAILED."""
    from mlflow.tracking import MlflowClient

    uri = resolved_uri(tracking_uri)
    try:
        with _quiet_mlflow(), bounded_store(uri, timeout, create_sqlite=create_sqlite_store) as store_uri:
            client = MlflowClient(tracking_uri=store_uri)
            return sweep_runs(client, [e.experiment_id for e in client.search_experiments()])
    except TrackingError:
        raise
    except Exception as exc:
        raise TrackingError(f"cannot sweep MLflow at {uri}: {type(exc).__name__}: {exc}") from exc
