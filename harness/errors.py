"""The one exception hierarchy of the harness.

Every error says what went wrong, where, what was expected and what was found.
The CLI maps each branch to an exit code and prints the message without a
traceback unless ``--debug`` is given::

    HarnessError
    ├── InputError            exit 2: the caller gave us something we cannot use
    │   ├── ProfileError        sector profile YAML: file, field path, line
    │   ├── BenchmarkError      benchmark card or data file (hash mismatch, missing column)
    │   └── PredictionsError    predictions file or model output (missing ids, bad values)
    └── RunError              exit 3: inputs were valid but the run could not finish
        ├── ModelError          loading or calling the vendor's model failed
        ├── TrackingError       MLflow could not be reached or refused the run
        └── EvidenceError       an evidence bundle could not be written or does not verify
"""

from __future__ import annotations

__all__ = [
    "BenchmarkError",
    "EvidenceError",
    "HarnessError",
    "InputError",
    "ModelError",
    "PredictionsError",
    "ProfileError",
    "RunError",
    "TrackingError",
]


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    exit_code: int = 3


class InputError(HarnessError):
    exit_code = 2


class ProfileError(InputError):
    """One or more problems in a sector profile; ``problems`` holds each line of the report."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class BenchmarkError(InputError):
    pass


class PredictionsError(InputError):
    pass


class RunError(HarnessError):
    exit_code = 3


class ModelError(RunError):
    pass


class TrackingError(RunError):
    pass


class EvidenceError(RunError):
    pass
