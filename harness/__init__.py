"""oversight-harness: performance-based oversight of high-impact AI.

Evaluate a model, or a vendor's declared predictions, against a sector profile and get a
verdict backed by confidence intervals, an evidence bundle and an MLflow run.
"""

__version__ = "0.1.0"

from .benchmark import Benchmark, load_benchmark
from .errors import (
    BenchmarkError,
    EvidenceError,
    HarnessError,
    InputError,
    ModelError,
    PredictionsError,
    ProfileError,
    RunError,
    TrackingError,
)
from .evaluation import Evaluation, evaluate
from .predictors import Predictions
from .profile import Profile, Requirement, load_profile
from .evidence.verify import verify_bundle

__all__ = [
    "Benchmark",
    "BenchmarkError",
    "Evaluation",
    "EvidenceError",
    "HarnessError",
    "InputError",
    "ModelError",
    "Predictions",
    "PredictionsError",
    "Profile",
    "ProfileError",
    "Requirement",
    "RunError",
    "TrackingError",
    "__version__",
    "evaluate",
    "load_benchmark",
    "load_profile",
    "verify_bundle",
]
