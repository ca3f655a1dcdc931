"""Evidence: what a run leaves behind and how an auditor checks it.

``bundle`` writes and hashes the evidence folder (a fixed list of files per harness
version); ``naming`` gives bundles unique names and removes the temporary folders of dead
runs; ``signing`` signs its manifest with Ed25519; ``tracking`` (logs a finished bundle and
says what a run must hold) and ``runs`` (reads runs back) are the only modules that import MLflow;
``store`` bounds every wait on a tracking store and creates SQLite stores safely; ``sync``
logs pending bundles later; ``verify`` orchestrates the checks of ``checks`` (every derived
file recomputed) and ``against_mlflow`` (the run that logged the bundle) into one
``VerifyResult``; ``compare`` and ``diff`` set runs and bundles side by side.
"""
