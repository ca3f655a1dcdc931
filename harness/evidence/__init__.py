"""Evidence: what a run leaves behind and how an auditor checks it.

``bundle`` writes and hashes the evidence folder; ``tracking`` is the only module that
imports MLflow (it logs a finished bundle and reads a run back); ``verify`` recomputes a
bundle and compares it with its MLflow run.
"""
