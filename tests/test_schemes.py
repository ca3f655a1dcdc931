"""Resampling schemes: clusters, strata, the jackknife and BCa against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as st

from harness.errors import ProfileError
from harness.measurements import measure
from harness.profile import parse_profile
from harness.resampling import bca_interval, jackknife_counts, replicate_counts
from harness.stats import build_atoms


def _profile(requirements: list[dict], **bootstrap) -> object:
    data = {
        "id": "schemes", "version": 1, "title": "t", "sector": "t", "authority": "t", "legal_basis": ["t"],
        "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
        "benchmark": {"id": "none", "sha256": "0" * 64}, "task": "binary_classification",
        "inference": {"bootstrap": {"replicates": 2000, "seed": 3, **bootstrap}}, "requirements": requirements,
    }
    return parse_profile(yaml.safe_dump(data))


def test_cluster_replicates_take_whole_clusters():
    count = np.array([2, 3, 1, 4, 5])
    cluster = np.array([0, 0, 1, 2, 2])
    for batch in replicate_counts(count, replicates=300, seed=1, cluster=cluster):
        k = batch[:, [0, 2, 3]] / count[[0, 2, 3]]  # each cluster's multiplicity
        assert np.array_equal(batch[:, 1] / 3, k[:, 0]) and np.array_equal(batch[:, 4] / 5, k[:, 2])
        assert np.array_equal(k.sum(axis=1), np.full(len(batch), 3))  # three clusters drawn each time


def test_stratified_replicates_keep_each_stratum_size():
    count = np.array([5, 7, 2, 9, 4])
    strata = np.array([0, 0, 1, 1, 1])
    batch = next(replicate_counts(count, replicates=500, seed=2, strata=strata))
    assert (batch[:, :2].sum(axis=1) == 12).all() and (batch[:, 2:].sum(axis=1) == 15).all()


def test_jackknife_leaves_out_one_row_per_atom_or_one_cluster():
    count = np.array([3, 1, 2])
    (counts, weights), = list(jackknife_counts(count))
    assert counts.tolist() == [[2, 1, 2], [3, 0, 2], [3, 1, 1]] and weights.tolist() == [3, 1, 2]
    (counts, weights), = list(jackknife_counts(count, cluster=np.array([0, 1, 1])))
    assert counts.tolist() == [[0, 1, 2], [3, 0, 0]] and weights.tolist() == [1, 1]


def test_bca_matches_scipy_on_a_skewed_statistic():
    """BCa of a small-sample proportion (skewed) against scipy.stats.bootstrap(method='BCa')."""
    rng = np.random.default_rng(11)
    y = (rng.random(60) < 0.1).astype(float)
    draws = rng.choice(y, size=(20000, y.size)).mean(axis=1)[:, None]
    jack = np.array([[np.delete(y, i).mean()] for i in range(y.size)])
    lo, hi = bca_interval(draws, np.array([y.mean()]), jack, np.ones(y.size), 0.95)
    ref = st.bootstrap((y,), np.mean, n_resamples=20000, method="BCa", random_state=5).confidence_interval
    assert lo[0] == pytest.approx(ref.low, abs=0.006) and hi[0] == pytest.approx(ref.high, abs=0.006)
    plo, phi = np.quantile(draws, [0.025, 0.975])
    assert hi[0] > phi  # the correction moves the interval towards the long right tail


def test_cluster_bootstrap_widens_intervals_for_correlated_rows():
    rng = np.random.default_rng(4)
    clusters = np.repeat(np.arange(150), 8)
    p = np.clip(0.3 + rng.normal(0, 0.2, 150), 0.01, 0.99)[clusters]
    y = (rng.random(clusters.size) < p).astype(int)
    frame = pd.DataFrame({"g": ["a"] * clusters.size})
    req = [{"id": "sr", "title": "t", "metric": "selection_rate", "interval": "bootstrap_percentile"}]
    rows = measure(_profile(req), build_atoms(frame, y, y))[0]
    clus = measure(_profile(req, unit="cluster"), build_atoms(frame, y, y, cluster=clusters))[0]
    assert rows["value"][0] == clus["value"][0]
    width_rows = rows["ci_high"][0] - rows["ci_low"][0]
    width_clus = clus["ci_high"][0] - clus["ci_low"][0]
    # Design effect from the data: variance of the mean under cluster sampling / under row sampling.
    means = pd.Series(y).groupby(clusters).mean()
    deff = (means.var(ddof=1) / 150) / (y.var(ddof=1) / y.size)
    assert deff > 1.5
    assert width_clus / width_rows == pytest.approx(np.sqrt(deff), rel=0.12)


def test_cluster_unit_needs_a_cluster_column():
    req = [{"id": "sr", "title": "t", "metric": "selection_rate", "interval": "bootstrap_percentile"}]
    with pytest.raises(ProfileError, match="inference.bootstrap.unit: 'cluster' needs a benchmark"):
        measure(_profile(req, unit="cluster"), build_atoms(pd.DataFrame({"g": ["a", "b"]}), [0, 1], [1, 1]))


def test_cluster_and_stratify_exclude_each_other():
    with pytest.raises(ProfileError, match="choose either unit 'cluster' or 'stratify: true', not both"):
        _profile([{"id": "a", "title": "t", "metric": "accuracy"}], unit="cluster", stratify=True)
