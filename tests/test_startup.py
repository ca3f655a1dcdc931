"""Start-up cost: importing the package or the command line loads no heavy library it does not use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
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


def test_the_intervals_and_tests_without_scipy_stats_equal_scipy_stats_bit_for_bit():
    """resampling computes with scipy.special, which scipy.stats calls: the same values, not close ones."""
    from scipy import special, stats

    from harness import resampling

    rng = np.random.default_rng(12)
    n = rng.integers(1, 100_000, 20_000).astype(float)
    x = np.floor(rng.random(n.size) * (n + 1))
    for confidence in (0.8, 0.9, 0.95, 0.99):
        a = (1 - confidence) / 2
        lo, hi = resampling.clopper_pearson(x, n, confidence)
        with np.errstate(invalid="ignore"):
            assert np.array_equal(lo, np.where(x > 0, stats.beta.ppf(a, x, n - x + 1), 0.0))
            assert np.array_equal(hi, np.where(x < n, stats.beta.ppf(1 - a, x + 1, n - x), 1.0))
        assert resampling._z(confidence) == float(stats.norm.ppf(0.5 + confidence / 2))
    z = np.concatenate([rng.normal(size=5_000) * 4, [0.0, np.inf, -np.inf, np.nan]])  # what bca_interval uses
    assert np.array_equal(special.ndtr(-np.abs(z)), stats.norm.sf(np.abs(z)), equal_nan=True)
    assert np.array_equal(special.ndtr(z), stats.norm.cdf(z), equal_nan=True)
    q = np.concatenate([rng.random(5_000), [0.0, 1.0, 0.5]])
    assert np.array_equal(special.ndtri(q), stats.norm.ppf(q))
    for n1, n2 in rng.integers(1, 500, (200, 2)):
        x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        expected = 1.0 if se == 0 else float(2 * stats.norm.sf(abs((x1 / n1 - x2 / n2) / se)))
        assert resampling.two_proportion_z_p(x1, n1, x2, n2) == expected
    for mean in [0.0, 0.3, 7.5, 250.0, 10_000.0]:
        cdf = resampling._poisson_cdf(mean)
        expected = stats.poisson.cdf(np.arange(cdf.size), mean)
        expected[-1] = 1.0
        assert np.array_equal(cdf, expected)


def test_a_run_s_statistics_do_not_import_scipy_stats():
    code = ("import numpy as np\nfrom harness import resampling\n"
            "resampling.clopper_pearson(np.array([3.0]), np.array([10.0]), 0.95)\n"
            "resampling.two_proportion_z_p(3, 10, 5, 12)\nresampling._z(0.95)\n"
            "reps = resampling.Replicates(np.array([5, 7, 0, 3]), replicates=50, seed=1)\n"
            "[reps.batch(i) for i in range(len(reps))]\n"
            "resampling.bca_interval(np.ones((20, 2)), np.ones(2), np.ones((5, 2)), np.ones(5), 0.95)")
    assert "scipy.stats" not in _loaded_after(code)["heavy"]
