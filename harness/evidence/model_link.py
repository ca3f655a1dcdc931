"""The judged model on the run's page: MLflow 3's LoggedModel link, or the ``.skops`` file itself.

An MLflow model URI that names a LoggedModel of the store the run goes to (``models:/m-…``,
``models:/<name>/<version>``, ``runs:/<run>/<path>``) is linked as the run's model input, so
the model's page lists the evaluation and its metrics. A model from another store cannot be
linked; its URI and fingerprint stay in the run's params and tags. A ``.skops`` file is logged
as the artifact ``model/<name>`` when its bytes still hash to what was judged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

__all__ = ["MODEL_ARTIFACTS", "linked_model", "log_model_file"]

MODEL_ARTIFACTS = "model"


def _model_id(client: Any, uri: str) -> str | None:
    """The LoggedModel id an MLflow model URI names in ``client``'s store, if it names one there."""
    if uri.startswith("models:/"):
        ref = uri[len("models:/"):].strip("/")
        if ref.startswith("m-") and "/" not in ref:
            return ref
        name, _, version = ref.partition("/")
        if name and version.isdigit():
            return client.get_model_version(name, version).model_id
        return None
    if uri.startswith("runs:/"):
        run_id, _, path = uri[len("runs:/"):].partition("/")
        run = client.get_run(run_id)
        models = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'")
        named = [m for m in models if m.name == path.strip("/")]
        return named[0].model_id if len(named) == 1 else None
    return None


def linked_model(client: Any, model: dict[str, Any]) -> str | None:
    """The id of the LoggedModel the judged MLflow model is in this store; None when there is none to link."""
    if model.get("kind") != "mlflow":
        return None
    try:
        model_id = _model_id(client, str(model.get("uri", "")))
        if model_id is None:
            return None
        client.get_logged_model(model_id)  # it must exist here, or the link would point nowhere
    except Exception:  # another store's model, or a registry without LoggedModels: nothing to link
        return None
    return model_id


def log_model_file(client: Any, run_id: str, model: dict[str, Any]) -> None:
    """Log the judged ``.skops`` file as ``model/<name>``, only if its bytes are the ones judged."""
    if model.get("kind") != "skops":
        return
    path = Path(str(model.get("uri", "")))
    try:
        data = path.read_bytes()
    except OSError:  # moved or deleted since (a later ``oversight sync``): its hash is still in the tags
        return
    if hashlib.sha256(data).hexdigest() == model.get("sha256"):
        client.log_artifact(run_id, str(path), artifact_path=MODEL_ARTIFACTS)
