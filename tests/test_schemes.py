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


def _ols_cluster_p(y: np.ndarray, in_first: np.ndarray, clusters: np.ndarray) -> float:
    """p-value of the group coefficient of y ~ 1 + group, sandwich variance over clusters, factor C/(C-1)."""
    x = np.column_stack([np.ones(y.size), in_first.astype(float)])
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    resid = y - x @ beta
    ids = np.unique(clusters)
    meat = sum(np.outer(x[clusters == c].T @ resid[clusters == c], x[clusters == c].T @ resid[clusters == c])
               for c in ids)
    cov = len(ids) / (len(ids) - 1) * bread @ meat @ bread
    return float(2 * st.norm.sf(abs(beta[1]) / np.sqrt(cov[1, 1])))


def test_cluster_z_equals_the_cluster_robust_regression_test():
    from harness.resampling import cluster_z_p

    rng = np.random.default_rng(8)
    clusters = np.repeat(np.arange(60), 6)
    first = rng.random(clusters.size) < 0.5  # both groups inside most clusters
    p = np.clip(0.25 + rng.normal(0, 0.15, 60), 0.02, 0.98)[clusters] - 0.08 * first
    y = (rng.random(clusters.size) < p).astype(float)
    totals = pd.DataFrame({"c": clusters, "g": first, "y": y}).groupby(["c", "g"])["y"].agg(["sum", "count"])
    totals = totals.unstack("g", fill_value=0)
    ours = cluster_z_p(totals[("sum", True)], totals[("count", True)], totals[("sum", False)],
                       totals[("count", False)])
    assert ours == pytest.approx(_ols_cluster_p(y, first, clusters), rel=1e-9)
    # One row per cluster: the unpooled Wald test, its variance times C / (C - 1).
    singles = np.arange(y.size)
    n1, n0 = first.sum(), (~first).sum()
    p1, p0 = y[first].mean(), y[~first].mean()
    wald = (p1 - p0) / np.sqrt(y.size / (y.size - 1) * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0))
    assert cluster_z_p(y * first, first, y * ~first, ~first) == pytest.approx(2 * st.norm.sf(abs(wald)), rel=1e-9)
    assert cluster_z_p(y * first, first, y * ~first, ~first) == pytest.approx(
        _ols_cluster_p(y, first, singles), rel=1e-9)


def test_significance_under_cluster_resampling_is_the_cluster_robust_test():
    from harness.resampling import cluster_z_p

    rng = np.random.default_rng(9)
    clusters = np.repeat(np.arange(80), 4)
    race = np.where(rng.random(clusters.size) < 0.5, "b", "w")
    p = np.clip(0.3 + rng.normal(0, 0.2, 80), 0.01, 0.99)[clusters] * np.where(race == "b", 0.7, 1.0)
    y = (rng.random(clusters.size) < p).astype(int)
    req = [{"id": "ir", "title": "t", "metric": "impact_ratio", "groups": ["race"],
            "significance": {"test": "auto"}}]
    table = build_atoms(pd.DataFrame({"race": race}), y, y, cluster=clusters)
    out = measure(_profile(req, unit="cluster"), table)[0].set_index("group")
    frame = pd.DataFrame({"c": clusters, "r": race, "y": y})
    t = frame.groupby(["c", "r"])["y"].agg(["sum", "count"]).unstack("r", fill_value=0)
    expected = cluster_z_p(t[("sum", "b")], t[("count", "b")], t[("sum", "w")], t[("count", "w")])
    assert out.loc["w", "reference_group"] == "w" and np.isnan(out.loc["w", "p_value"])
    assert out.loc["b", "p_value"] == pytest.approx(expected, rel=1e-12)
    assert set(out["interval"]) == {"bootstrap_percentile"}


def test_proportions_default_to_the_cluster_bootstrap_under_cluster_resampling():
    clusters = np.repeat(np.arange(40), 5)
    y = (np.arange(clusters.size) % 3 == 0).astype(int)
    table = build_atoms(pd.DataFrame({"g": ["a"] * y.size}), y, y, cluster=clusters)
    req = [{"id": "sr", "title": "t", "metric": "selection_rate"}]
    assert measure(_profile(req, unit="cluster"), table)[0]["interval"].tolist() == ["bootstrap_percentile"]
    assert measure(_profile(req), table)[0]["interval"].tolist() == ["clopper_pearson"]


@pytest.mark.parametrize("method", ["bootstrap_percentile", "bootstrap_bca"])
def test_a_proportion_observed_at_one_gets_clopper_pearson_not_a_zero_width_bootstrap(method):
    """50 of 50 positives detected: every replicate is 1; the interval is the exact one instead."""
    label = np.r_[np.ones(50, int), np.zeros(50, int)]
    decision = np.r_[np.ones(50, int), (np.arange(50) < 10).astype(int)]
    frame = pd.DataFrame({"g": ["a"] * 100})
    req = [{"id": "se", "title": "t", "metric": "sensitivity", "interval": method},
           {"id": "sp", "title": "t", "metric": "specificity", "interval": method}]
    out = measure(_profile(req), build_atoms(frame, label, decision))[0].set_index("requirement")
    assert out.loc["se", "interval"] == "clopper_pearson" and out.loc["sp", "interval"] == method
    assert out.loc["se", "ci_low"] == pytest.approx(0.025 ** (1 / 50), rel=1e-12)  # beta(50, 1) quantile
    assert out.loc["se", "ci_high"] == 1.0
    assert out.loc["sp", "ci_low"] < 0.8 < out.loc["sp", "ci_high"]


def test_degenerate_fallback_uses_the_effective_sample_size():
    label = np.ones(40, int)
    weight = np.r_[np.full(20, 1.0), np.full(20, 3.0)]
    frame = pd.DataFrame({"g": ["a"] * 40})
    req = [{"id": "se", "title": "t", "metric": "sensitivity", "weighted": True}]
    out = measure(_profile(req), build_atoms(frame, label, label, weight=weight))[0]
    kish = weight.sum() ** 2 / (weight**2).sum()  # 32 of the 40 rows
    assert out["ci_low"][0] == pytest.approx(0.025 ** (1 / kish), rel=1e-12)
    clusters = np.repeat(np.arange(8), 5)
    req = [{"id": "se", "title": "t", "metric": "sensitivity"}]
    out = measure(_profile(req, unit="cluster"), build_atoms(frame, label, label, cluster=clusters))[0]
    assert out["interval"][0] == "clopper_pearson"
    assert out["ci_low"][0] == pytest.approx(0.025 ** (1 / 8), rel=1e-12)  # at most 8 independent units


def _ratio_profile(method: str):
    return _profile([{"id": "ir", "title": "t", "metric": "impact_ratio", "groups": ["g"], "interval": method}])


@pytest.mark.parametrize("method", ["katz_log", "bootstrap_percentile", "bootstrap_bca"])
def test_every_group_of_an_impact_ratio_gets_an_interval_capped_at_one(method):
    """The top group's ratio is 1; its interval reaches down as far as its rate over the next one allows."""
    sizes, hits = {"a": 400, "b": 400, "c": 400}, {"a": 44, "b": 40, "c": 24}
    g = np.concatenate([[k] * n for k, n in sizes.items()])
    y = np.concatenate([(np.arange(n) < hits[k]).astype(int) for k, n in sizes.items()])
    out = measure(_ratio_profile(method), build_atoms(pd.DataFrame({"g": g}), y, y))[0].set_index("group")
    assert out["value"].tolist() == pytest.approx([1.0, 40 / 44, 24 / 44], rel=1e-12)
    assert (out["ci_high"] <= 1.0).all() and out["ci_low"].notna().all()
    assert out.loc["a", "ci_low"] < 0.9  # a's rate could well be below b's
    if method == "katz_log":
        se = np.sqrt(1 / 44 - 1 / 400 + 1 / 40 - 1 / 400)  # a over b, by hand
        assert out.loc["a", "ci_low"] == pytest.approx(44 / 40 * np.exp(-st.norm.ppf(0.975) * se), rel=1e-12)
        assert out.loc["a", "ci_high"] == 1.0


def test_impact_ratio_replicates_keep_the_comparator_fixed():
    """Two groups tied at the top: the interval of the third is centred on its ratio, not pulled down."""
    rng = np.random.default_rng(12)
    g = np.repeat(["a", "b", "c"], 3000)
    rate = {"a": 0.10, "b": 0.07, "c": 0.10}
    y = (rng.random(g.size) < np.vectorize(rate.get)(g)).astype(int)
    out = measure(_ratio_profile("bootstrap_percentile"), build_atoms(pd.DataFrame({"g": g}), y, y))[0]
    b = out.set_index("group").loc["b"]
    top = max(y[g == "a"].mean(), y[g == "c"].mean())
    draws = rng.binomial(3000, y[g == "b"].mean(), 20000) / rng.binomial(3000, top, 20000)
    lo, hi = np.quantile(draws, [0.025, 0.975])  # the fixed-comparator bootstrap, drawn independently
    assert b["ci_low"] == pytest.approx(lo, abs=0.01) and b["ci_high"] == pytest.approx(hi, abs=0.01)


def test_grouped_jackknife_beyond_the_unit_limit_gives_nearly_the_exact_bca(monkeypatch):
    """Over JACKKNIFE_UNITS atoms, BCa's acceleration comes from a delete-a-group jackknife."""
    import harness.resampling as rs

    rng = np.random.default_rng(21)
    n = 3000
    y = (rng.random(n) < 0.3).astype(int)
    s = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.2 * y)))  # 3,000 distinct scores: 3,000 atoms
    table = build_atoms(pd.DataFrame({"g": ["a"] * n}), y, (s > 0.5).astype(int), score=s)
    req = [{"id": "auc", "title": "t", "metric": "auroc", "interval": "bootstrap_bca"}]
    grouped = measure(_profile(req), table)[0]
    counts = [c for c, _ in rs.jackknife_counts(table.count, seed=3)]
    assert sum(len(c) for c in counts) == rs.JACKKNIFE_UNITS  # groups, not one table per atom
    removed = np.concatenate(counts).sum(axis=1)
    assert set(np.unique(table.count.sum() - removed)) <= {n // 2000, n // 2000 + 1}  # equal sizes, to one row
    monkeypatch.setattr(rs, "JACKKNIFE_UNITS", 10_000)
    exact = measure(_profile(req), table)[0]
    width = exact["ci_high"][0] - exact["ci_low"][0]
    assert abs(grouped["ci_low"][0] - exact["ci_low"][0]) < 0.02 * width
    assert abs(grouped["ci_high"][0] - exact["ci_high"][0]) < 0.02 * width


def test_grouped_jackknife_estimates_the_acceleration_of_a_skewed_mean():
    """Mean of exponential rows: acceleration = skewness / (6 sqrt(n)) = 2 / (6 sqrt(n))."""
    from harness.resampling import JACKKNIFE_UNITS, _acceleration

    rng = np.random.default_rng(0)
    x = np.sort(rng.exponential(1.0, 6000))
    count = rng.integers(1, 4, x.size)
    values, weights = [], []
    for counts, w in jackknife_counts(count, seed=3):
        values.append((counts * x).sum(axis=1) / counts.sum(axis=1))
        weights.append(w)
    assert sum(map(len, values)) == JACKKNIFE_UNITS
    grouped = _acceleration(np.concatenate(values), np.concatenate(weights))
    assert grouped == pytest.approx(2 / (6 * np.sqrt(count.sum())), rel=0.3)


def test_calibration_measures_default_to_bca():
    rng = np.random.default_rng(2)
    s = rng.uniform(0.05, 0.95, 400)
    y = (rng.random(400) < s).astype(int)
    table = build_atoms(pd.DataFrame({"g": ["a"] * 400}), y, (s > 0.5).astype(int), score=s)
    req = [{"id": m, "title": "t", "metric": m} for m in ("calibration_slope", "calibration_intercept", "auroc")]
    out = measure(_profile(req), table)[0].set_index("requirement")["interval"]
    assert out.to_dict() == {"calibration_slope": "bootstrap_bca", "calibration_intercept": "bootstrap_bca",
                             "auroc": "bootstrap_percentile"}
