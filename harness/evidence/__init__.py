"""Evidence: what a run leaves behind and how an auditor checks it.

``bundle`` writes and hashes the evidence folder (a fixed list of files per harness
version); ``signing`` signs its manifest with Ed25519; ``tracking`` is the only module that
imports MLflow (it logs a finished bundle, says what a run must hold, and reads a run back);
``verify`` orchestrates the checks of ``checks`` (every derived file recomputed) and
``against_mlflow`` (the run that logged the bundle) into one ``VerifyResult``.
"""
