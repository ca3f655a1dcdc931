"""Evidence: what a run leaves behind and how an auditor checks it.

``bundle`` writes and hashes the evidence folder; ``naming`` gives bundles unique names and
removes the temporary folders of dead runs; ``tracking`` is the only module that imports
MLflow (it logs a finished bundle and reads a run back); ``store`` bounds every wait on a
tracking store and creates SQLite stores safely; ``sync`` logs pending bundles later;
``verify`` recomputes a bundle and compares it with its MLflow run.
"""
