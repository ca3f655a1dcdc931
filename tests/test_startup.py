"""Start-up cost: importing the package or the command line loads no heavy library it does not use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("mlflow", "skops", "matplotlib", "scipy.stats", "sklearn", "dask", "cryptography")

PUBLIC = ["Benchmark", "BenchmarkError", "Evaluation", "EvidenceError", "HarnessError", "InputError", "ModelError",
          "Predictions", "PredictionsError", "Profile", "ProfileError", "Requirement", "RunError", "TrackingError",
          "__version__", "evaluate", "load_benchmark", "load_profile", "verify_bundle"]


def _loaded_after(code: str) -> dict[str, list[str]]:
    """Run ``code`` in a fresh interpreter on this checkout; which heavy modules (and pandas) it loaded."""
    probe = (f"{code}\nimport json, sys\n"
             f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], "
             f"'pandas': 'pandas' in sys.modules}}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_package_and_the_command_line_loads_no_heavy_library():
    found = _loaded_after("import harness, harness.cli\nharness.__version__; dir(harness)")
    assert found == {"heavy": [], "pandas": False}


def test_help_loads_neither_pandas_nor_a_heavy_library():
    found = _loaded_after("from harness.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert found == {"heavy": [], "pandas": False}


def test_evaluate_is_importable_without_mlflow_skops_or_matplotlib():
    """What a declared-predictions run needs is imported when it runs; nothing of a model or the report."""
    assert _loaded_after("from harness import evaluate, load_profile, verify_bundle")["heavy"] == []


def test_every_public_name_resolves_and_dir_lists_it():
    assert harness.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(harness, name) is not None
    assert set(PUBLIC) <= set(dir(harness))
    from harness import evaluate
    from harness.evaluation import evaluate as defined

    assert evaluate is defined


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="^module 'harness' has no attribute 'evalute'$"):
        harness.evalute  # noqa: B018
    assert not hasattr(harness, "evalute")
