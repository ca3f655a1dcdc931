"""The only module that imports MLflow.

MLflow is imported inside each function, so importing the harness stays fast
and MLflow is needed only by the runs that use it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import warnings
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from harness.errors import ModelError, TrackingError

__all__ = ["download_model", "find_run", "load_model", "log_evaluation", "metric_key", "read_run", "resolved_uri"]


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

_METRIC_SAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


def resolved_uri(tracking_uri: str | None = None) -> str:
    """The tracking URI a run would use: the argument, MLFLOW_TRACKING_URI, or MLflow's default."""
    import mlflow

    if tracking_uri:
        return tracking_uri
    return mlflow.get_tracking_uri()


def metric_key(requirement: str, group: str, field: str) -> str:
    """MLflow metric name for one requirement, group and field: ``H3-race/black/value``."""
    safe = _METRIC_SAFE.sub("_", group.replace(" × ", "_x_"))
    return f"{requirement}/{safe}/{field}"


def _metrics(measurements: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in measurements.itertuples(index=False):
        for field in ("value", "ci_low", "ci_high", "n"):
            v = float(getattr(m, field))
            if math.isfinite(v):
                out[metric_key(m.requirement, m.group, field)] = v
    return out


def _tags(summary: dict[str, Any], manifest_sha256: str) -> dict[str, str]:
    p = summary["profile"]
    return {
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
        "oversight.model_kind": summary["model"]["kind"],
        "oversight.model_fingerprint": summary["model"]["fingerprint"],
        "oversight.manifest_sha256": manifest_sha256,
        "oversight.harness_version": summary["harness_version"],
    }


def _params(summary: dict[str, Any]) -> dict[str, str]:
    return {
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


# MLflow refuses dataset digests longer than 36 characters (client validation and a
# String(36) column), so the digest carries the first 36 hex digits of the SHA-256 —
# 144 bits, against the 32 bits of MLflow's own digest of the first 10,000 rows — and
# the dataset input's tag ``oversight.sha256`` carries all 64.
DIGEST_CHARS = 36


def _log_dataset(benchmark: Any) -> None:
    """The benchmark as a dataset input keyed by its SHA-256, not by MLflow's partial digest."""
    import mlflow

    dataset = mlflow.data.from_pandas(benchmark.frame, source=str(benchmark.root), name=benchmark.id,
                                      targets=benchmark.label_column,
                                      digest=benchmark.sha256[:DIGEST_CHARS])
    mlflow.log_input(dataset, context="evaluation", tags={"oversight.sha256": benchmark.sha256})


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
                   benchmark: Any, *, tracking_uri: str | None = None) -> str:
    """Log one finished evidence bundle as one MLflow run; return the run id."""
    try:
        with _quiet_mlflow():
            return _log_run(bundle, summary, measurements, verdicts, benchmark, tracking_uri)
    except Exception as exc:
        raise TrackingError(f"MLflow at {tracking_uri or 'the default tracking URI'} refused the run: "
                            f"{type(exc).__name__}: {exc}; the evidence bundle is complete at {bundle.path}") from exc


def _log_run(bundle: Any, summary: dict[str, Any], measurements: pd.DataFrame, verdicts: pd.DataFrame,
             benchmark: Any, tracking_uri: str | None) -> str:
    import mlflow

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.set_experiment(summary["profile"]["id"])
    name = f"{summary['model']['fingerprint'][:8] or 'predictions'} {summary['policy']['as_of']}"
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name=name) as run:
        mlflow.set_tags(_tags(summary, bundle.manifest_sha256))
        mlflow.log_params(_params(summary))
        mlflow.log_metrics(_metrics(measurements))
        mlflow.log_metric("blocking_failures", int(verdicts.loc[verdicts["blocking"], "status"]
                                                   .isin(["fail", "flag"]).sum()))
        _log_dataset(benchmark)
        mlflow.log_artifacts(str(bundle.path), artifact_path="evidence")
        return run.info.run_id


def read_run(run_id: str, *, tracking_uri: str | None = None) -> dict[str, Any]:
    """Tags, params and metrics of a run, and a local copy of its evidence artifacts."""
    try:
        import mlflow
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri)
        run = client.get_run(run_id)
        local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="evidence",
                                                    tracking_uri=tracking_uri)
    except Exception as exc:
        raise TrackingError(f"cannot read MLflow run {run_id}: {type(exc).__name__}: {exc}") from exc
    return {"tags": dict(run.data.tags), "params": dict(run.data.params), "metrics": dict(run.data.metrics),
            "artifacts": local, "inputs": run.inputs}


def find_run(manifest_sha256: str, experiment: str, *, tracking_uri: str | None = None) -> str | None:
    """The id of the run that logged the bundle with this manifest hash, if any."""
    try:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri)
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            return None
        runs = client.search_runs([exp.experiment_id],
                                  filter_string=f"tags.`oversight.manifest_sha256` = '{manifest_sha256}'")
    except Exception as exc:
        raise TrackingError(f"cannot search MLflow: {type(exc).__name__}: {exc}") from exc
    return runs[0].info.run_id if runs else None
