"""significance.adjust: adjusted p-values against the procedures written out by hand, in runs and plans."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats as st

from harness.cli import main
from harness.evaluation import judge_all
from harness.measurements import measure
from harness.multiplicity import adjust_p_values
from harness.planning_power import flagged_ratio
from harness.profile import Profile, Requirement, Significance, Threshold, parse_profile
from harness.stats import build_atoms

ROOT = Path(__file__).resolve().parents[1]
NAN = math.nan


# --- the procedures, as the papers state them: which hypotheses are rejected at level alpha -----

def holm_rejects(p: list[float], alpha: float) -> set[int]:
    """Holm (1979): step down from the smallest p; reject while p_(k) <= alpha / (m - k + 1)."""
    tested = sorted((x, i) for i, x in enumerate(p) if not math.isnan(x))
    m, out = len(tested), set()
    for k, (x, i) in enumerate(tested, start=1):
        if x > alpha / (m - k + 1):
            break
        out.add(i)
    return out


def bh_rejects(p: list[float], alpha: float) -> set[int]:
    """Benjamini & Hochberg (1995): the largest k with p_(k) <= k alpha / m; reject the k smallest."""
    tested = sorted((x, i) for i, x in enumerate(p) if not math.isnan(x))
    m = len(tested)
    largest = max((k for k, (x, _) in enumerate(tested, start=1) if x <= k * alpha / m), default=0)
    return {i for _, i in tested[:largest]}


def bonferroni_rejects(p: list[float], alpha: float) -> set[int]:
    m = sum(not math.isnan(x) for x in p)
    return {i for i, x in enumerate(p) if not math.isnan(x) and x <= alpha / m}


PROCEDURES = {"holm": holm_rejects, "benjamini_hochberg": bh_rejects, "bonferroni": bonferroni_rejects}
VECTORS = [
    [0.01, 0.04, 0.03, 0.005],
    [0.02, 0.02, 1.0, NAN, 0.5],  # a tie, a p-value of 1, a group without a test
    [1.0, 1.0, 1.0],
    [0.001, 0.0101, 0.0102, 0.0103, 0.04, 0.2, 0.2, 0.9],
    [0.3],
    [NAN, NAN],
]


@pytest.mark.parametrize("method", sorted(PROCEDURES))
@pytest.mark.parametrize("p", VECTORS, ids=range(len(VECTORS)))
def test_adjusted_below_alpha_is_the_procedures_rejection_at_every_alpha(method, p):
    adjusted = adjust_p_values(np.array(p), method)
    finite = [x for x in adjusted if not math.isnan(x)]
    # levels in (0, 1) between and around the adjusted values, none exactly on one
    near = {x * f for x in finite for f in (0.9999, 1.0001)}
    levels = sorted(a for a in {*np.linspace(0.0005, 0.9995, 400), *near} if 0 < a < 1)
    for alpha in levels:
        got = {i for i, x in enumerate(adjusted) if not math.isnan(x) and x <= alpha}
        assert got == PROCEDURES[method](p, alpha), (alpha, adjusted)
    assert np.array_equal(np.isnan(adjusted), np.isnan(p))
    assert all(0 <= x <= 1 for x in finite)


@pytest.mark.parametrize("method,p,want", [
    # sorted 0.005, 0.01, 0.03, 0.04: Holm 4x, 3x, 2x, 1x then running maximum; BH m/k x then running minimum
    ("holm", [0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
    ("benjamini_hochberg", [0.01, 0.04, 0.03, 0.005], [0.02, 0.04, 0.04, 0.02]),
    ("bonferroni", [0.01, 0.04, 0.03, 0.005], [0.04, 0.16, 0.12, 0.02]),
    ("holm", [0.02, 0.02, 1.0, NAN, 0.5], [0.08, 0.08, 1.0, NAN, 1.0]),
    ("benjamini_hochberg", [0.02, 0.02, 1.0, NAN, 0.5], [0.04, 0.04, 1.0, NAN, 0.5 * 4 / 3]),
    ("bonferroni", [0.02, 0.02, 1.0, NAN, 0.5], [0.08, 0.08, 1.0, NAN, 1.0]),
    ("none", [0.02, 0.02, 1.0, NAN, 0.5], [0.02, 0.02, 1.0, NAN, 0.5]),
])
def test_adjusted_values_worked_by_hand(method, p, want):
    np.testing.assert_allclose(adjust_p_values(np.array(p), method), want, rtol=1e-12)


@pytest.mark.parametrize("p", [v for v in VECTORS if not all(math.isnan(x) for x in v)], ids=str)
def test_benjamini_hochberg_agrees_with_scipy(p):
    p = np.array(p)
    finite = ~np.isnan(p)
    want = st.false_discovery_control(p[finite], method="bh")
    np.testing.assert_allclose(adjust_p_values(p, "benjamini_hochberg")[finite], want, rtol=1e-12)


# --- in a run: measurements keep both, flags use the adjusted -----------------------------------

def _profile(adjust: str) -> Profile:
    data = {
        "id": "multiplicity", "version": 1, "title": "t", "sector": "t", "authority": "t", "legal_basis": ["t"],
        "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
        "benchmark": {"id": "none", "sha256": "0" * 64}, "task": "binary_classification",
        "inference": {"bootstrap": {"replicates": 100, "seed": 3}},
        "requirements": [{"id": "IR", "title": "t", "metric": "impact_ratio", "groups": ["g"],
                          "threshold": {"min": 0.8}, "on_breach": "flag",
                          "significance": {"test": "two_proportion_z", "alpha": 0.05, "adjust": adjust}}],
    }
    return parse_profile(yaml.safe_dump(data, sort_keys=False))


def _rows() -> pd.DataFrame:
    """Six groups of 200: five selected at 0.5, group "b" at 0.39 (ratio 0.78, raw p about 0.027)."""
    parts = []
    for group in "abcdef":
        selected = 78 if group == "b" else 100
        parts.append(pd.DataFrame({"g": group, "y": [1] * 100 + [0] * 100,
                                   "d": [1] * selected + [0] * (200 - selected)}))
    return pd.concat(parts, ignore_index=True)


def _z_p(x1: int, x2: int, n: int = 200) -> float:
    pooled = (x1 + x2) / (2 * n)
    z = (x1 - x2) / n / math.sqrt(pooled * (1 - pooled) * 2 / n)
    return float(2 * st.norm.sf(abs(z)))


@pytest.fixture(scope="module")
def judged() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    rows = _rows()
    table = build_atoms(rows[["g"]], rows["y"].to_numpy(), rows["d"].to_numpy())
    out = {}
    for adjust in ("none", "holm", "bonferroni", "benjamini_hochberg"):
        profile = _profile(adjust)
        m = measure(profile, table)[0]
        out[adjust] = (m.set_index("group"), judge_all(profile, m).set_index("group"))
    return out


def test_the_family_is_every_group_tested_against_the_reference(judged):
    m, _ = judged["holm"]
    raw = _z_p(100, 78)
    assert m.loc["a", "reference_group"] == "a" and math.isnan(m.loc["a", "p_value"])
    assert m.loc["b", "p_value"] == pytest.approx(raw, rel=1e-12)
    assert list(m.loc[["c", "d", "e", "f"], "p_value"]) == [1.0] * 4
    assert m.loc["b", "p_adjusted"] == pytest.approx(5 * raw, rel=1e-12)  # smallest of five: Holm's 5 x p
    assert list(m.loc[["c", "d", "e", "f"], "p_adjusted"]) == [1.0] * 4
    assert math.isnan(m.loc["a", "p_adjusted"])


def test_without_adjustment_the_adjusted_column_is_the_raw_one(judged):
    m, v = judged["none"]
    np.testing.assert_array_equal(m["p_adjusted"].to_numpy(), m["p_value"].to_numpy())
    assert v.loc["b", "status"] == "flag"
    assert v.loc["b", "reason"] == (f"estimate 0.780 misses min 0.8 and the difference is significant "
                                    f"(p = {_z_p(100, 78):.3g} < 0.05)")


@pytest.mark.parametrize("adjust,label,factor", [
    ("holm", "Holm-adjusted", 5), ("bonferroni", "Bonferroni-adjusted", 5),
    ("benjamini_hochberg", "Benjamini-Hochberg-adjusted", 5),  # rank 1 of 5, and the others are at 1
])
def test_flags_use_the_adjusted_p_value(judged, adjust, label, factor):
    _, v = judged[adjust]
    raw = _z_p(100, 78)
    assert v.loc["b", "status"] == "pass"
    assert v.loc["b", "reason"] == (f"estimate 0.780 misses min 0.8 but the difference is not significant "
                                    f"({label} p = {factor * raw:.3g} >= 0.05; unadjusted p = {raw:.3g})")


def test_measurement_json_and_csv_of_a_run_carry_both_p_values(tmp_path, callbacks_csv):
    doc = yaml.safe_load((ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml").read_text(encoding="utf-8"))
    for req in doc["requirements"]:
        if "significance" in req:
            req["significance"]["adjust"] = "holm"
    doc["benchmark"]["path"] = str(ROOT / "benchmarks" / doc["benchmark"]["id"])
    path = tmp_path / "hiring-holm.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(main, ["run", "--profile", str(path), "--predictions", str(callbacks_csv),
                                    "--no-tracking", "--out", str(tmp_path / "out"), "--as-of", "2026-03-01",
                                    "--json"], catch_exceptions=False)
    out = json.loads(res.stdout)
    groups = next(r for r in out["requirements"] if r["id"] == "H3-race")["groups"]
    tested = [g for g in groups if g["p_value"] is not None]
    assert tested and all(g["p_adjusted"] >= g["p_value"] for g in tested)
    want = adjust_p_values(np.array([g["p_value"] for g in tested]), "holm")
    np.testing.assert_allclose([g["p_adjusted"] for g in tested], want, rtol=1e-12)
    bundle = next((tmp_path / "out").iterdir())
    stored = pd.read_csv(bundle / "measurements.csv")
    assert {"p_value", "p_adjusted"} <= set(stored.columns)


def test_an_unknown_adjustment_is_refused_with_the_choices(tmp_path):
    doc = yaml.safe_load((ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml").read_text(encoding="utf-8"))
    doc["requirements"][3]["significance"]["adjust"] = "hochberg"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(main, ["profile", "validate", str(path)])
    line = next(i + 1 for i, text in enumerate(path.read_text(encoding="utf-8").splitlines()) if "hochberg" in text)
    assert res.exit_code == 2
    assert res.stderr.strip() == (f"{path}:{line}: requirements[3].significance.adjust: Input should be 'none', "
                                  "'holm', 'bonferroni' or 'benjamini_hochberg', found 'hochberg'")


# --- planning: power at the Bonferroni level of the requirement's comparisons -------------------

def _fleiss_power(p1: float, p2: float, n: int, alpha: float) -> float:
    """Fleiss, Levin & Paik (2003), eq. 4.14: power of the pooled two-proportion z test, n per group."""
    pbar = (p1 + p2) / 2
    null_se, alt_se = math.sqrt(pbar * (1 - pbar) * 2 / n), math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / n)
    return float(st.norm.cdf((abs(p1 - p2) - st.norm.ppf(1 - alpha / 2) * null_se) / alt_se))


def test_plan_flags_a_smaller_ratio_when_p_values_are_adjusted():
    n, rate = 100, 0.5
    found = {}
    for adjust in ("none", "bonferroni"):
        req = Requirement(id="IR", title="ir", metric="impact_ratio", of="selection_rate", groups=["g"],
                          threshold=Threshold(min=0.8), on_breach="flag",
                          significance=Significance(test="two_proportion_z", alpha=0.05, adjust=adjust))
        found[adjust] = flagged_ratio(req, reference_rate=rate, n_group=n, n_ref=n, support=(n, 50, 50),
                                      rng_seed=(7,), comparisons=4)
    grid = np.linspace(0.2, 0.8, 6001)
    want = grid[np.array([_fleiss_power(r * rate, rate, n, 0.05 / 4) for r in grid]) >= 0.8].max()
    assert found["bonferroni"] == pytest.approx(want, abs=0.03)
    assert found["bonferroni"] < found["none"] - 0.03
