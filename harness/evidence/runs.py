"""Reading runs back: the runs that logged a bundle, their content and their evidence files.

The reading side of MLflow, beside ``tracking`` (the writing side). Reading never creates a
store, and an unreachable server is reported at once, not after minutes of retries.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from harness.errors import InputError, TrackingError

from .tracking import _quiet_mlflow, resolved_uri

__all__ = ["RunRecord", "RunRef", "check_store", "download_run_files", "find_run", "read_run",
           "search_profile_runs"]


@dataclass(frozen=True)
class RunRef:
    run_id: str
    status: str  # FINISHED, RUNNING, FAILED, KILLED, SCHEDULED
    deleted: bool


@dataclass(frozen=True)
class RunRecord:
    """A run as read back: what it logged, and a local copy of its ``evidence/`` artifacts."""

    run_id: str
    status: str
    deleted: bool
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    artifacts: tuple[str, ...]  # file names under evidence/
    local: Path | None  # where they were downloaded; None when the run has none


def check_store(tracking_uri: str | None) -> str:
    """The resolved URI of a store that exists; reading must never create one."""
    uri = resolved_uri(tracking_uri)
    if uri.startswith("sqlite:"):
        path = uri.split("sqlite:///", 1)[1] if uri.startswith("sqlite:///") else ""
        if path and path != ":memory:" and not Path(path).is_file():
            raise TrackingError(f"MLflow store {uri}: the SQLite file {path} does not exist; nothing was created "
                                "(check --tracking-uri or MLFLOW_TRACKING_URI)")
    elif uri.startswith("file:") or "://" not in uri:
        from urllib.parse import unquote, urlparse

        path = unquote(urlparse(uri).path) if uri.startswith("file:") else uri
        if not Path(path).is_dir():
            raise TrackingError(f"MLflow store {uri}: the folder {path} does not exist; nothing was created "
                                "(check --tracking-uri or MLFLOW_TRACKING_URI)")
    return uri


@contextlib.contextmanager
def _no_retries() -> Iterator[None]:
    """Reading for verify: an unreachable server is reported at once, not after minutes of retries."""
    defaults = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
    added = [k for k in defaults if k not in os.environ]
    os.environ.update({k: defaults[k] for k in added})
    try:
        with _quiet_mlflow():
            yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def read_run(run_id: str, *, tracking_uri: str | None = None, dst: Path | None = None) -> RunRecord:
    """A run's tags, params and metrics, and its ``evidence/`` artifacts downloaded into ``dst``."""
    uri = check_store(tracking_uri)
    try:
        with _no_retries():
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
            from mlflow.tracking import MlflowClient

            run = MlflowClient(tracking_uri=uri).get_run(run_id)
            # The run's own artifact location, not MLflow's per-process cache keyed by run id alone.
            repo = get_artifact_repository(run.info.artifact_uri, tracking_uri=uri)
            names = tuple(sorted(Path(a.path).name for a in repo.list_artifacts("evidence") if not a.is_dir))
            local = None
            if names and dst is not None:
                local = Path(repo.download_artifacts("evidence", dst_path=str(dst)))
    except Exception as exc:
        raise TrackingError(f"cannot read MLflow run {run_id} at {uri}: {type(exc).__name__}: {exc}") from exc
    return RunRecord(run_id, run.info.status, run.info.lifecycle_stage == "deleted", dict(run.data.tags),
                     dict(run.data.params), dict(run.data.metrics), names, local)


def find_run(manifest_sha256: str, *, tracking_uri: str | None = None) -> list[RunRef]:
    """Every run, active or deleted, in any experiment, tagged with this manifest hash."""
    uri = check_store(tracking_uri)
    try:
        with _no_retries():
            from mlflow.entities import ViewType
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=uri)
            ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
            runs = client.search_runs(ids, filter_string=f"tags.`oversight.manifest_sha256` = '{manifest_sha256}'",
                                      run_view_type=ViewType.ALL) if ids else []
    except Exception as exc:
        raise TrackingError(f"cannot search MLflow at {uri}: {type(exc).__name__}: {exc}") from exc
    return [RunRef(r.info.run_id, r.info.status, r.info.lifecycle_stage == "deleted") for r in runs]


# --- reading runs back for comparisons ----------------------------------------


def search_profile_runs(profile_id: str, *, tracking_uri: str, max_results: int) -> list[dict[str, Any]]:
    """Runs of the experiment named after ``profile_id``, newest first: id, start time (ms), tags.

    Raises ``InputError`` when the experiment does not exist, naming the URI searched.
    """
    try:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri)
        exp = client.get_experiment_by_name(profile_id)
        if exp is None:
            raise InputError(f"profile '{profile_id}': no MLflow experiment of that name at {tracking_uri}")
        runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"],
                                  max_results=max_results)
    except InputError:
        raise
    except Exception as exc:
        raise TrackingError(f"cannot search MLflow at {tracking_uri}: {type(exc).__name__}: {exc}") from exc
    return [{"run_id": r.info.run_id, "start_time": r.info.start_time, "tags": dict(r.data.tags)} for r in runs]


def download_run_files(run_id: str, names: list[str], dst: Path, *,
                       tracking_uri: str) -> tuple[Path, dict[str, str]]:
    """Copies of ``evidence/<name>`` of a run in ``dst/evidence`` (``names`` empty: every file), and its tags.

    A run id that does not exist is an ``InputError``; any other failure a ``TrackingError``.
    """
    try:
        import mlflow.artifacts
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        try:
            tags = dict(MlflowClient(tracking_uri=tracking_uri).get_run(run_id).data.tags)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise InputError(f"run {run_id}: no such MLflow run at {tracking_uri}") from None
            raise
        if not names:  # the folder arrives as dst/evidence
            mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="evidence", dst_path=str(dst),
                                                tracking_uri=tracking_uri)
        (dst / "evidence").mkdir(parents=True, exist_ok=True)
        for name in names:  # a single file arrives under its own name
            mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=f"evidence/{name}",
                                                dst_path=str(dst / "evidence"), tracking_uri=tracking_uri)
    except InputError:
        raise
    except Exception as exc:
        raise TrackingError(f"cannot read the evidence of MLflow run {run_id} at {tracking_uri}: "
                            f"{type(exc).__name__}: {exc}") from exc
    return dst / "evidence", tags
