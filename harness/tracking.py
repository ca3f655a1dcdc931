"""The only module that imports MLflow.

MLflow is imported inside each function, so importing the harness stays fast
and MLflow is needed only by the runs that use it.
"""

from __future__ import annotations

import tempfile

from harness.errors import ModelError

__all__ = ["load_model"]


# --- loading vendor models ---------------------------------------------------


def load_model(uri: str) -> object:
    """Load an MLflow model from a ``runs:/``, ``models:/`` or ``file:`` URI or a model directory.

    A model with the ``sklearn`` flavor comes back as the scikit-learn estimator
    itself, so ``predict_proba`` stays available for scores; it is read from a
    temporary copy that is removed afterwards. Any other model comes back as an
    ``mlflow.pyfunc.PyFuncModel`` (decisions only), loaded from the URI, as it may
    keep using its files. The flavor is read from the copy's MLmodel file, because
    ``mlflow.models.get_model_info`` rejects ``file:`` URIs.
    """
    try:
        import mlflow.artifacts
        import mlflow.models
        import mlflow.pyfunc
        import mlflow.sklearn

        with tempfile.TemporaryDirectory(prefix="oversight-model-") as scratch:
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=scratch)
            if "sklearn" in mlflow.models.Model.load(local).flavors:
                return mlflow.sklearn.load_model(local)
        return mlflow.pyfunc.load_model(uri)
    except Exception as exc:
        raise ModelError(
            f"cannot load MLflow model {uri!r}: {type(exc).__name__}: {exc}; expected a "
            "runs:/<run_id>/<name>, models:/<model_id or name/version> or file: URI, "
            "or a directory that contains an MLmodel file"
        ) from exc
