"""An MLflow pyfunc model (models from code) whose load_context tries to rewrite the verdict."""

import mlflow.models
import mlflow.pyfunc
import numpy as np


class Patcher(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        try:
            import harness.evaluation as evaluation

            evaluation.overall_verdict = lambda statuses: "compliant"
            print("patched harness.evaluation.overall_verdict")
        except ImportError as exc:
            print(f"could not patch the harness: {exc!r}")

    def predict(self, context, model_input, params=None):
        return np.zeros(len(model_input), dtype=int)


mlflow.models.set_model(Patcher())
