"""An MLflow pyfunc model (models from code) that returns a table of decisions and probabilities."""

import mlflow.models
import mlflow.pyfunc
import numpy as np
import pandas as pd


class TablePyfunc(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        probability = 1 / (1 + np.exp(-model_input["income"].to_numpy()))
        decision = (probability > 0.5).astype(int)
        return pd.DataFrame({"decision": decision, "probability": probability})


mlflow.models.set_model(TablePyfunc())
