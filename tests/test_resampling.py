"""Intervals and tests against scipy and a worked example; the multinomial bootstrap
against the row bootstrap it stands for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats as st

from harness import resampling
from harness.measurements import measure
from harness.profile import parse_profile
from harness.resampling import (
    Multinomial,
    clopper_pearson,
    fisher_exact_p,
    katz_log_ratio,
    percentile_interval,
    replicate_counts,
    two_proportion_z_p,
    wilson,
)
from harness.stats import build_atoms

GRID = [(x, n) for n in (1, 2, 5, 10, 30, 99, 1000) for x in sorted({0, 1, n // 3, n // 2, n - 1, n})]
CONFIDENCES = (0.8, 0.95, 0.99)


# --- analytic intervals against scipy -------------------------------------------------------

@pytest.mark.parametrize("confidence", CONFIDENCES)
@pytest.mark.parametrize(("ours", "method"), [(wilson, "wilson"), (clopper_pearson, "exact")],
                         ids=["wilson", "clopper_pearson"])
def test_proportion_interval_equals_scipy(ours, method: str, confidence: float) -> None:
    x = np.array([x for x, _ in GRID])
    n = np.array([n for _, n in GRID])
    lo, hi = ours(x, n, confidence)
    for i, (xi, ni) in enumerate(GRID):
        ci = st.binomtest(xi, ni).proportion_ci(confidence_level=confidence, method=method)
        assert lo[i] == pytest.approx(ci.low, abs=1e-10), (xi, ni)
        assert hi[i] == pytest.approx(ci.high, abs=1e-10), (xi, ni)
    if ours is clopper_pearson:  # the exact interval reaches 0 and 1 exactly
        assert np.all(lo[x == 0] == 0.0) and np.all(hi[x == n] == 1.0)


@pytest.mark.parametrize("ours", [wilson, clopper_pearson], ids=["wilson", "clopper_pearson"])
def test_proportion_interval_of_empty_group_is_nan(ours) -> None:
    lo, hi = ours(np.array([0, 3]), np.array([0, 10]), 0.95)
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert np.isfinite(lo[1]) and np.isfinite(hi[1])


# --- the worked example: 48 of 80 selected against 12 of 40 ------------------------------
# Four-fifths-rule example (EEOC / UGESP Q&A style): selection rates 0.60 and 0.30, so the
# impact ratio is 0.50. Pooled rate 0.5, z = 0.3 / sqrt(0.25 (1/80 + 1/40)) = 3.098,
# two-sided p = 0.0019; Katz: se = sqrt(1/12 - 1/40 + 1/48 - 1/80) = 0.258, 95% CI
# 0.5 exp(+-1.96 se) = (0.30, 0.83); Fisher's exact two-sided p = 0.0034.

def test_worked_example_katz_z_and_fisher() -> None:
    assert (12 / 40) / (48 / 80) == pytest.approx(0.50)
    lo, hi = katz_log_ratio(12, 40, 48, 80, 0.95)
    assert (round(lo, 2), round(hi, 2)) == (0.30, 0.83)
    assert float(f"{two_proportion_z_p(12, 40, 48, 80):.2g}") == 0.0019
    assert float(f"{fisher_exact_p(12, 40, 48, 80):.2g}") == 0.0034


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(12, 40, 48, 80), (3, 9, 7, 8), (0, 20, 5, 25),
                                                    (30, 30, 10, 40), (5, 200, 17, 310)])
def test_fisher_equals_scipy_and_z_is_symmetric(x1: int, n1: int, x2: int, n2: int) -> None:
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    assert fisher_exact_p(x1, n1, x2, n2) == pytest.approx(st.fisher_exact(table).pvalue, rel=1e-12)
    # The pooled z test is the chi-square test without continuity correction (z^2 = chi^2).
    chi2 = st.chi2_contingency(table, correction=False).pvalue
    assert two_proportion_z_p(x1, n1, x2, n2) == pytest.approx(chi2, rel=1e-9)
    assert two_proportion_z_p(x1, n1, x2, n2) == two_proportion_z_p(x2, n2, x1, n1)


def test_katz_is_nan_when_a_count_is_zero_and_covers_the_ratio() -> None:
    assert all(np.isnan(katz_log_ratio(0, 20, 5, 25, 0.95)))
    lo, hi = katz_log_ratio(5, 200, 17, 310, 0.95)
    assert lo < (5 / 200) / (17 / 310) < hi


# --- the multinomial bootstrap ------------------------------------------------------------

COUNTS = np.array([120, 280, 7, 1, 0, 42])  # atom counts, N = 450


def test_each_atom_is_drawn_in_proportion_to_its_count() -> None:
    b, n = 40_000, COUNTS.sum()
    draws = np.concatenate(list(replicate_counts(COUNTS, replicates=b, seed=8)))
    assert np.all(draws[:, COUNTS == 0] == 0)  # resampling never invents a row
    # Multinomial(N, c / N): atom counts have mean c and variance c (1 - c / N); allow 5 SE of the mean.
    p = COUNTS / n
    se = np.sqrt(n * p * (1 - p) / b)
    assert np.all(np.abs(draws.mean(axis=0) - COUNTS) <= 5 * se)
    np.testing.assert_allclose(draws.var(axis=0), n * p * (1 - p), rtol=0.05)  # relative SE under 1% each


def _chi_square_p(draws: np.ndarray, pmf) -> float:
    """Goodness of fit of integer ``draws`` to ``pmf``, values of expected count under 5 pooled."""
    values = np.arange(draws.max() + 2)
    expected = pmf(values) * draws.size
    expected[-1] += draws.size - expected.sum()  # the upper tail
    observed = np.bincount(draws, minlength=values.size).astype(float)
    keep = expected >= 5
    pooled_obs = np.append(observed[keep], observed[~keep].sum())
    pooled_exp = np.append(expected[keep], expected[~keep].sum())
    if pooled_exp[-1] < 5:
        pooled_obs[-2] += pooled_obs[-1]
        pooled_exp[-2] += pooled_exp[-1]
        pooled_obs, pooled_exp = pooled_obs[:-1], pooled_exp[:-1]
    return float(st.chisquare(pooled_obs, pooled_exp * pooled_obs.sum() / pooled_exp.sum()).pvalue)


# small, medium and large atoms: inversion tables (means up to 256) and numpy's Poisson (above)
MIXED = np.array([0, 1, 3, 3, 50, 300, 1000, 1])


@pytest.mark.parametrize("margin", [resampling.POISSON_MARGIN, 0.0], ids=["default", "half-rejected"])
def test_multinomial_draws_are_exactly_multinomial(monkeypatch: pytest.MonkeyPatch, margin: float) -> None:
    """Poisson counts completed to N: each atom's count is Binomial(N, p), pairs covary as -N p p'.

    With a margin of 0 the Poisson total exceeds N in half the replicates, which are drawn
    again; the result must still be multinomial.
    """
    monkeypatch.setattr(resampling, "POISSON_MARGIN", margin)
    n, b = int(MIXED.sum()), 20_000
    draws = Multinomial(MIXED)(np.random.default_rng(7), b)
    assert draws.shape == (b, MIXED.size) and np.all(draws.sum(axis=1) == n)
    assert np.all(draws[:, MIXED == 0] == 0)
    for j in (1, 4, 5, 6):
        p_value = _chi_square_p(draws[:, j], lambda k, j=j: st.binom.pmf(k, n, MIXED[j] / n))
        assert p_value > 1e-3, (j, p_value)
    q = (MIXED[4] + MIXED[6]) / n  # a sum of two atoms is Binomial(N, p + p'): checks their covariance
    assert _chi_square_p(draws[:, 4] + draws[:, 6], lambda k: st.binom.pmf(k, n, q)) > 1e-3


def test_poisson_inversion_matches_scipy_for_small_and_large_means() -> None:
    means = np.array([0.0, 0.05, 1.0, 7.5, 200.0, 400.0])  # 400: numpy's sampler
    draws = resampling._PoissonInverse(means)(np.random.default_rng(3), 40_000)
    assert np.all(draws[:, 0] == 0)
    for j in range(1, means.size):
        p_value = _chi_square_p(draws[:, j], lambda k, j=j: st.poisson.pmf(k, means[j]))
        assert p_value > 1e-3, (means[j], p_value)


def test_small_benchmarks_use_numpy_multinomial_with_the_same_stream() -> None:
    small = np.array([3, 5, 2])
    ours = Multinomial(small)(np.random.default_rng(1), 50)
    theirs = np.random.default_rng(1).multinomial(10, small / 10, size=50)
    np.testing.assert_array_equal(ours, theirs)
    assert np.all(Multinomial(np.zeros(3, dtype=np.int64))(np.random.default_rng(1), 4) == 0)


def test_replicates_keep_the_total_and_come_in_batches_of_the_requested_total() -> None:
    big = np.ones(300_000, dtype=np.int64)  # forces several batches
    batches = list(replicate_counts(big, replicates=40, seed=3))
    assert len(batches) > 1
    draws = np.concatenate(batches)
    assert draws.shape == (40, big.size)
    assert np.all(draws.sum(axis=1) == big.sum())
    small = np.concatenate(list(replicate_counts(COUNTS, replicates=1234, seed=3)))
    assert small.shape == (1234, COUNTS.size) and np.all(small.sum(axis=1) == COUNTS.sum())
    assert np.all(small >= 0)


def test_same_seed_same_replicates_other_seed_other_replicates() -> None:
    first = np.concatenate(list(replicate_counts(COUNTS, replicates=500, seed=11)))
    again = np.concatenate(list(replicate_counts(COUNTS, replicates=500, seed=11)))
    other = np.concatenate(list(replicate_counts(COUNTS, replicates=500, seed=12)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_bootstrap_of_a_selection_rate_has_binomial_mean_and_spread() -> None:
    n, x, b = 450, 120, 20_000
    p = x / n
    draws = np.concatenate(list(replicate_counts(np.array([x, n - x]), replicates=b, seed=5)))
    rate = draws[:, 0] / n
    sd = np.sqrt(p * (1 - p) / n)  # 0.0208
    # Monte-Carlo error with B = 20,000: the mean has SE sd / sqrt(B) = 1.5e-4, so 5 SE is 7e-4;
    # the sample SD has relative SE about 1 / sqrt(2B) = 0.5%, so 5 SE is 2.5%.
    assert abs(rate.mean() - p) < 5 * sd / np.sqrt(b)
    assert rate.std(ddof=1) == pytest.approx(sd, rel=5 / np.sqrt(2 * b))


def _profile(seed: int, replicates: int):
    data = {
        "id": "test-profile", "version": 1, "title": "t", "sector": "t", "authority": "t", "legal_basis": ["t"],
        "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
        "benchmark": {"id": "none", "sha256": "0" * 64}, "task": "binary_classification",
        "inference": {"bootstrap": {"replicates": replicates, "seed": seed}},
        "requirements": [{"id": "sr", "title": "sr", "metric": "selection_rate", "groups": ["g"],
                          "interval": "bootstrap_percentile"}],
    }
    return parse_profile(yaml.safe_dump(data))


def test_cell_bootstrap_interval_agrees_with_row_bootstrap() -> None:
    """measure's multinomial bootstrap against np.random.Generator.integers resampling of rows.

    Both resample all rows of the table (so group sizes vary too) and their per-group 2.5 / 97.5
    percentiles estimate the same quantiles. The rate lives on a
    grid of step 1/n; with B = 20,000 a 2.5% quantile has Monte-Carlo SE about
    sqrt(0.025 * 0.975 / B) / density, under 0.001 for these n; the tolerance is one grid
    step plus 4 SE of a difference of two such estimates.
    """
    rng = np.random.default_rng(21)
    sizes, rates = {"a": 400, "b": 150}, {"a": 0.3, "b": 0.55}
    g = np.repeat(list(sizes), list(sizes.values()))
    d = np.concatenate([rng.random(n) < rates[k] for k, n in sizes.items()]).astype(np.int8)
    y = rng.integers(0, 2, g.size)
    b = 20_000
    measurements, _ = measure(_profile(seed=1, replicates=b), build_atoms(pd.DataFrame({"g": g}), y, d))
    measurements = measurements.set_index("group")
    picks = rng.integers(0, g.size, size=(b, g.size), dtype=np.int32)  # rows of the whole table, as measure
    for name, n in sizes.items():
        member = g[picks] == name
        rates_b = (d[picks] * member).sum(axis=1) / member.sum(axis=1)
        row_lo, row_hi = np.percentile(rates_b, [2.5, 97.5])
        p = d[g == name].mean()
        sd = np.sqrt(p * (1 - p) / n)
        density = st.norm.pdf(1.96) / sd
        tol = 1 / n + 4 * np.sqrt(2) * np.sqrt(0.025 * 0.975 / b) / density
        assert measurements.loc[name, "ci_low"] == pytest.approx(row_lo, abs=tol)
        assert measurements.loc[name, "ci_high"] == pytest.approx(row_hi, abs=tol)
        # and both are near the exact binomial quantiles of Binomial(n, p) / n
        assert row_lo == pytest.approx(st.binom.ppf(0.025, n, p) / n, abs=tol)


def test_cell_bootstrap_interval_of_the_whole_table_agrees_with_row_bootstrap() -> None:
    """``replicate_counts`` itself (no groups, no measure) against the row bootstrap."""
    rng = np.random.default_rng(22)
    n, b = 500, 20_000
    d = (rng.random(n) < 0.2).astype(np.int8)
    counts = np.array([(d == 0).sum(), (d == 1).sum()])
    cell = np.concatenate(list(replicate_counts(counts, replicates=b, seed=4)))[:, 1] / n
    row = d[rng.integers(0, n, size=(b, n))].mean(axis=1)
    sd = np.sqrt(0.2 * 0.8 / n)
    tol = 1 / n + 4 * np.sqrt(2) * np.sqrt(0.025 * 0.975 / b) / (st.norm.pdf(1.96) / sd)
    np.testing.assert_allclose(np.percentile(cell, [2.5, 97.5]), np.percentile(row, [2.5, 97.5]), atol=tol)
    # each SD has relative Monte-Carlo SE 1 / sqrt(2B); their ratio 1 / sqrt(B): allow 5 SE
    assert cell.std() == pytest.approx(row.std(), rel=5 / np.sqrt(b))


# --- percentile interval --------------------------------------------------------------------

def test_percentile_interval_ignores_nan_replicates() -> None:
    rng = np.random.default_rng(0)
    clean = rng.normal(size=(1000, 3))
    draws = clean.copy()
    draws[::3, 0] = np.nan  # a third of column 0 undefined
    draws[:, 2] = np.nan  # column 2 never defined
    lo, hi = percentile_interval(draws, 0.9)
    kept = clean[:, 0][~np.isnan(draws[:, 0])]
    close = {"rtol": 1e-12, "atol": 0}
    np.testing.assert_allclose([lo[0], hi[0]], np.quantile(kept, [0.05, 0.95]), **close)
    np.testing.assert_allclose([lo[1], hi[1]], np.quantile(clean[:, 1], [0.05, 0.95]), **close)
    assert np.isnan(lo[2]) and np.isnan(hi[2])
    lo_all, hi_all = percentile_interval(clean, 0.9)
    np.testing.assert_allclose(lo_all, np.quantile(clean, 0.05, axis=0), **close)
    np.testing.assert_allclose(hi_all, np.quantile(clean, 0.95, axis=0), **close)
    # the replicates set to NaN were left out, not counted: the full column gives another bound
    assert not np.isclose(lo[0], np.quantile(clean[:, 0], 0.05), rtol=1e-6)


def test_rows_map_to_the_atoms_that_hold_them() -> None:
    count = np.array([0, 5, 1, 0, 0, 130, 2, 7, 0, 1])
    draw = Multinomial(count)
    rows = np.arange(count.sum())
    np.testing.assert_array_equal(draw._atoms_of(rows.copy()), np.repeat(np.arange(count.size), count))


def test_batches_are_the_same_in_any_order_and_on_any_number_of_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import measurements

    count = np.arange(1, 3001)  # 3,000 atoms: several batches of 333 replicates
    reps = resampling.Replicates(count, replicates=1000, seed=5)
    assert len(reps) > 2
    forward = [reps.batch(i) for i in range(len(reps))]
    for i in reversed(range(len(reps))):
        np.testing.assert_array_equal(reps.batch(i), forward[i])
    np.testing.assert_array_equal(np.concatenate(forward),
                                  np.concatenate(list(replicate_counts(count, replicates=1000, seed=5))))

    rng = np.random.default_rng(1)
    rows = 4000
    table = build_atoms(pd.DataFrame({"g": rng.choice(["a", "b", "c"], rows)}), rng.integers(0, 2, rows),
                        rng.integers(0, 2, rows), score=rng.random(rows))
    profile = parse_profile(yaml.safe_dump({
        "id": "t", "version": 1, "title": "t", "sector": "t", "authority": "t", "legal_basis": ["t"],
        "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
        "benchmark": {"id": "none", "sha256": "0" * 64}, "task": "binary_classification",
        "inference": {"bootstrap": {"replicates": 600, "seed": 2}},
        "requirements": [{"id": m, "title": m, "metric": m, "groups": ["g"], "interval": "bootstrap_percentile"}
                         for m in ("auroc", "sensitivity", "brier")]}))
    results = []
    for threads in (1, 2, 3):
        monkeypatch.setattr(measurements, "_threads", lambda threads=threads: threads)
        results.append(measure(profile, table)[0])
    pd.testing.assert_frame_equal(results[0], results[1], check_exact=True)
    pd.testing.assert_frame_equal(results[0], results[2], check_exact=True)
