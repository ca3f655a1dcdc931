"""Sample-size planning: exact binomial cases against scipy, power against a published formula, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as st

from harness.cli import main
from harness.planning import binomial_outlook, never_passes
from harness.planning_power import flagged_ratio
from harness.profile import Requirement, Significance, Support, Threshold

ROOT = Path(__file__).resolve().parents[1]
HEALTH = ROOT / "sector_profiles/health/health-mortality-risk-v1.yaml"
HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _req(rule: str, t: float, *, op: str = "min", null: float | None = None, metric: str = "sensitivity",
         **extra) -> Requirement:
    return Requirement(id="R", title="r", metric=metric, threshold=Threshold(**{op: t}), rule=rule,
                       null_threshold=null, **extra)


def _scipy_outlook(n: int, p: float, method: str, passes) -> tuple[float, float]:
    """Independent: scipy's binomtest intervals for every count, weighted by the binomial pmf."""
    width = prob = 0.0
    for x in range(n + 1):
        ci = st.binomtest(x, n).proportion_ci(confidence_level=0.95, method=method)
        pmf = st.binom.pmf(x, n, p)
        width += pmf * (ci.high - ci.low)
        prob += pmf * passes(x / n, ci.low, ci.high)
    return width, prob


@pytest.mark.parametrize("method,scipy_method", [("clopper_pearson", "exact"), ("wilson", "wilson")])
@pytest.mark.parametrize("n,p", [(40, 0.85), (123, 0.78)])
def test_bound_rule_matches_scipy(method, scipy_method, n, p):
    width, prob = binomial_outlook(_req("bound", 0.75), size=n, support=(n, n, 0), p=p, confidence=0.95,
                                   method=method)
    want_w, want_p = _scipy_outlook(n, p, scipy_method, lambda v, lo, hi: lo >= 0.75)
    assert width == pytest.approx(want_w, abs=1e-9)
    assert prob == pytest.approx(want_p, abs=1e-9)


def test_max_threshold_bound_uses_the_upper_bound():
    width, prob = binomial_outlook(_req("bound", 0.10, op="max", metric="fnr"), size=364, support=(364, 364, 0),
                                   p=0.05, confidence=0.95, method="clopper_pearson")
    want_w, want_p = _scipy_outlook(364, 0.05, "exact", lambda v, lo, hi: hi <= 0.10)
    assert (width, prob) == pytest.approx((want_w, want_p), abs=1e-9)


def test_dual_rule_needs_goal_and_bound():
    req = _req("dual", 0.80, null=0.70)
    _, prob = binomial_outlook(req, size=60, support=(60, 60, 0), p=0.85, confidence=0.95, method="clopper_pearson")
    _, want = _scipy_outlook(60, 0.85, "exact", lambda v, lo, hi: v >= 0.80 and lo >= 0.70)
    assert prob == pytest.approx(want, abs=1e-9)


def test_point_rule_is_the_binomial_tail():
    _, prob = binomial_outlook(_req("point", 0.75), size=76, support=(76, 76, 0), p=0.80, confidence=0.95,
                               method="clopper_pearson")
    assert prob == pytest.approx(st.binom.sf(56, 76, 0.80), abs=1e-12)  # P(X >= 57), 57/76 = 0.75


def test_minimum_support_makes_every_count_insufficient():
    req = _req("point", 0.75, min_support=Support(positives=100))
    _, prob = binomial_outlook(req, size=76, support=(76, 76, 0), p=0.99, confidence=0.95, method="wilson")
    assert prob == 0.0
    assert never_passes(req, size=76, denominator="positives", support=(76, 76, 0), confidence=0.95,
                        method="wilson") == "76 positives < 100 required: judged insufficient_data whatever the system"


def test_eleven_rows_can_never_pass_a_bound_of_075():
    req = _req("bound", 0.75, metric="accuracy")
    note = never_passes(req, size=11, denominator="rows", support=(11, 5, 6), confidence=0.95,
                        method="clopper_pearson")
    assert note == "11 rows: even a perfect system's lower 97.5% bound is 0.715 < 0.75"


def test_smallest_passable_size_is_the_published_closed_form():
    """Clopper and Pearson (1934): at x = n the lower bound is (alpha/2)^(1/n), so a perfect
    system can clear t only when n >= ln(alpha/2) / ln(t) (Jovanovic and Levy, "A look at the
    rule of three", The American Statistician 51(2), 1997, for the one-sided case)."""
    req = _req("bound", 0.75, metric="accuracy")
    need = math.ceil(math.log(0.025) / math.log(0.75))  # 13

    def note(n: int) -> str:
        return never_passes(req, size=n, denominator="rows", support=(n, n, 0), confidence=0.95,
                            method="clopper_pearson")

    assert note(need - 1) != "" and note(need) == ""


def test_expected_width_meets_the_normal_sample_size_formula():
    """Cochran, Sampling Techniques (3rd ed., 1977), eq. 4.2: n = z^2 p (1 - p) / E^2 rows give a
    95% interval of half-width E; at p = 0.5 and E = 0.05 that is 385 rows."""
    n = math.ceil(st.norm.ppf(0.975) ** 2 * 0.25 / 0.05**2)
    width, _ = binomial_outlook(_req("point", 0.5, metric="accuracy"), size=n, support=(n, n // 2, n - n // 2),
                                p=0.5, confidence=0.95, method="wilson")
    assert n == 385
    assert width == pytest.approx(2 * 0.05, abs=0.002)


def _fleiss_power(p1: float, p2: float, n1: int, n2: int, alpha: float = 0.05) -> float:
    """Power of the pooled two-proportion z test: Fleiss, Levin and Paik, Statistical Methods for
    Rates and Proportions (3rd ed., 2003), eq. 4.14 (the far tail neglected)."""
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    null_se = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    alt_se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return float(st.norm.cdf((abs(p1 - p2) - st.norm.ppf(1 - alpha / 2) * null_se) / alt_se))


def test_ratio_flagged_with_80_percent_power_matches_fleiss():
    req = Requirement(id="IR", title="ir", metric="impact_ratio", of="selection_rate", groups=["g"],
                      threshold=Threshold(min=0.8), on_breach="flag",
                      significance=Significance(test="two_proportion_z", alpha=0.05))
    n, rate = 100, 0.5
    found = flagged_ratio(req, reference_rate=rate, n_group=n, n_ref=n, support=(n, 50, 50), rng_seed=(7,))
    assert flagged_ratio(req, reference_rate=rate, n_group=n, n_ref=n, support=(n, 50, 50), rng_seed=(7,)) == found
    grid = np.linspace(0.3, 0.8, 5001)
    power = np.array([_fleiss_power(r * rate, rate, n, n) for r in grid])
    want = grid[power >= 0.8].max()  # about 0.61: there, the estimate is below 0.8 almost always
    assert found == pytest.approx(want, abs=0.03)


@pytest.fixture(scope="module")
def health_plan() -> dict:
    res = run("profile", "plan", str(HEALTH), "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_plan_json_has_every_group_with_exact_values(health_plan):
    rows = {(r["requirement"], r["group"]): r for r in health_plan["groups"]}
    band = rows["D6-age", "50-59"]
    assert (band["size"], band["denominator"], band["method"], band["assumed"]) == (76, "positives",
                                                                                  "exact_binomial", 0.8)
    assert band["pass_probability"] == pytest.approx(st.binom.sf(56, 76, 0.80), abs=1e-12)
    assert rows["D7-ece", "all"]["method"] == "not_planned"
    assert rows["D7-ece", "all"]["note"] == "score metric: needs simulated benchmarks, not planned"
    assert rows["D3", "all"]["note"] == "the denominator of ppv depends on the model's decisions, not planned"
    assert health_plan["split"] == "test" and health_plan["margin"] == 0.05


def test_assume_changes_the_truth_planned_for(health_plan):
    res = run("profile", "plan", str(HEALTH), "--json", "--assume", "D6-age=0.75")
    rows = {(r["requirement"], r["group"]): r for r in json.loads(res.stdout)["groups"]}
    assert rows["D6-age", "50-59"]["pass_probability"] == pytest.approx(st.binom.sf(56, 76, 0.75), abs=1e-12)


def test_hopeless_group_is_named(tmp_path):
    text = HEALTH.read_text().replace("requirements:\n", "requirements:\n  - id: X-age\n    title: x\n"
                                      "    metric: sensitivity\n    groups: [age_band]\n"
                                      "    threshold: {min: 0.97}\n    rule: bound\n", 1)
    path = tmp_path / "p.yaml"
    path.write_text(text)
    res = run("profile", "plan", str(path))
    assert res.exit_code == 0, res.output
    assert ("Groups no system can pass at their size:\n  X-age 50-59: 76 positives: even a perfect system's "
            "lower 97.5% bound is 0.953 < 0.97") in res.stdout


def test_impact_ratios_get_power_by_simulation():
    res = run("profile", "plan", str(HIRING), "--json")
    rows = [r for r in json.loads(res.stdout)["groups"] if r["requirement"] == "H3-sex"]
    assert [r["method"] for r in rows] == ["simulation", "simulation"]
    assert all(0 < r["flagged_ratio"] < 0.8 and 0 < r["pass_probability"] <= 1 for r in rows)
    assert rows[0]["note"] == ("against m (336 rows, assumed rate 0.077); rows simulated as independent: the "
                               "profile's cluster-robust test needs more")


@pytest.mark.parametrize("assume,message", [
    ("D6-ag=0.8", "error: --assume 'D6-ag=0.8': unknown requirement 'D6-ag'; did you mean 'D6-age'? valid choices: D1, D2, D5, "
               "D6-sex, D6-age, D7-brier, D7-ece, D7-oe, D7-slope, D3, D3-npv"),
    ("D1", "error: --assume 'D1': expected REQ=VALUE, e.g. D1=0.85"),
    ("D1=1.5", "error: --assume 'D1=1.5': expected a number in [0, 1] for metric 'sensitivity', found '1.5'"),
    ("D1=nan", "error: --assume 'D1=nan': expected a number in [0, 1] for metric 'sensitivity', found 'nan'"),
])
def test_bad_assumption_exits_2(assume, message):
    res = run("profile", "plan", str(HEALTH), "--assume", assume)
    assert res.exit_code == 2
    assert res.stderr.strip() == message
    assert res.stdout == ""


def test_missing_profile_exits_2(tmp_path):
    res = run("profile", "plan", str(tmp_path / "none.yaml"))
    assert res.exit_code == 2
    assert "none.yaml" in res.stderr and "Traceback" not in res.stderr


def _binormal_auroc_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley and McNeil, Radiology 143(1), 1982, eq. 1 (the variance of the Mann-Whitney AUROC,
    after Bamber 1975), with Q1 = Q2 the binormal model's own: P(two positives both outscore a
    negative) = P(Z1 > 0, Z2 > 0), Zi ~ N(d, 2) with correlation 1/2."""
    d = math.sqrt(2) * st.norm.ppf(auc)
    q = st.multivariate_normal(mean=[0, 0], cov=[[1, 0.5], [0.5, 1]]).cdf([d / math.sqrt(2)] * 2)
    return math.sqrt((auc * (1 - auc) + (n_pos + n_neg - 2) * (q - auc**2)) / (n_pos * n_neg))


def test_auroc_width_from_simulated_benchmarks_matches_the_binormal_variance(health_plan):
    row = next(r for r in health_plan["groups"] if r["requirement"] == "D5")
    assert (row["method"], row["assumed"], row["positives"], row["negatives"]) == ("simulation", 0.8, 642, 1766)
    want = 2 * st.norm.ppf(0.975) * _binormal_auroc_se(0.8, 642, 1766)  # 0.039
    assert row["expected_width"] == pytest.approx(want, rel=0.10)
    assert row["pass_probability"] == 1.0  # the lower bound sits about 5 standard errors above 0.75
