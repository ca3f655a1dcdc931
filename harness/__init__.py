"""oversight-harness: performance-based oversight of high-impact AI.

Evaluate a model, or a vendor's declared predictions, against a sector profile and get a
verdict backed by confidence intervals, an evidence bundle and an MLflow run.

The public names are imported when first used (PEP 562), so that ``import harness`` and
every ``oversight`` command pay only for what they touch: ``oversight --help`` does not
load pandas, scikit-learn or MLflow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# public name -> the module that defines it
_SOURCES = {
    "Benchmark": ".benchmark",
    "load_benchmark": ".benchmark",
    "BenchmarkError": ".errors",
    "EvidenceError": ".errors",
    "HarnessError": ".errors",
    "InputError": ".errors",
    "ModelError": ".errors",
    "PredictionsError": ".errors",
    "ProfileError": ".errors",
    "RunError": ".errors",
    "TrackingError": ".errors",
    "Evaluation": ".evaluation",
    "evaluate": ".evaluation",
    "Predictions": ".predictors",
    "Profile": ".profile",
    "Requirement": ".profile",
    "load_profile": ".profile",
    "verify_bundle": ".evidence.verify",
}

__all__ = sorted([*_SOURCES, "__version__"])

if TYPE_CHECKING:
    from .benchmark import Benchmark, load_benchmark
    from .errors import (BenchmarkError, EvidenceError, HarnessError, InputError, ModelError, PredictionsError,
                         ProfileError, RunError, TrackingError)
    from .evaluation import Evaluation, evaluate
    from .evidence.verify import verify_bundle
    from .predictors import Predictions
    from .profile import Profile, Requirement, load_profile


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use and keep the name, so later look-ups are plain."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(source, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
