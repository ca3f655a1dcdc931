"""The semantics new sectors need: split discipline, metric direction, and the profile fields behind them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from harness.benchmark import load_benchmark
from harness.cli import main
from harness.errors import ProfileError
from harness.evidence.tracking import expected_run
from harness.measurements import measure
from harness.profile import Profile, parse_profile
from harness.resampling import katz_log_ratio
from harness.stats import build_atoms

ROOT = Path(__file__).resolve().parents[1]
HIRING = str(ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml")
EXPLORATORY = "exploratory run, not evidence: it judged the 'all' split, but the profile judges the 'test' split"


def _run(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    bench = load_benchmark("resume-audit-2004")
    preds = tmp_path / "callbacks.csv"
    pd.DataFrame({"id": bench.ids, "decision": bench.frame["received_callback"]}).to_csv(preds, index=False)
    res = CliRunner().invoke(main, ["run", "--profile", HIRING, "--predictions", str(preds), "--no-tracking",
                                    "--out", str(tmp_path / "out"), "--as-of", "2026-03-01", *args],
                             catch_exceptions=False)
    return res.exit_code, res.stdout, next((tmp_path / "out").iterdir())


@pytest.fixture(scope="module")
def exploratory(tmp_path_factory) -> tuple[int, str, Path]:
    return _run(tmp_path_factory.mktemp("all"), "--split", "all", "--json")


def test_another_split_is_exploratory_in_the_json(exploratory):
    code, stdout, _ = exploratory
    doc = json.loads(stdout)
    assert (code, doc["verdict"], doc["conformant"], doc["conformance_reason"]) == (
        1, "non_compliant", False, EXPLORATORY)


def test_another_split_is_exploratory_in_the_summary_reports_and_tags(exploratory):
    _, _, bundle = exploratory
    summary = json.loads((bundle / "summary.json").read_text())
    assert summary["conformance"] == {"conformant": False, "profile_split": "test", "reason": EXPLORATORY}
    assert f"**Exploratory:** {EXPLORATORY}" in (bundle / "report.md").read_text()
    assert f"<strong>Exploratory:</strong> {EXPLORATORY.replace(chr(39), '&#39;')}" in (
        bundle / "report.html").read_text()
    content = expected_run(summary, pd.DataFrame(columns=["requirement", "group"]),
                           pd.DataFrame(columns=["blocking", "status"]), "0" * 64)
    assert content.tags["oversight.conformant"] == "false"


def test_another_split_is_exploratory_in_the_banner(tmp_path):
    code, stdout, _ = _run(tmp_path, "--split", "all")
    lines = stdout.splitlines()
    assert code == 1
    assert lines[1].startswith("verdict: NON-COMPLIANT (EXPLORATORY)   policy: ")
    assert lines[3] == f"EXPLORATORY: {EXPLORATORY}"


def test_the_profiles_split_is_conformant(tmp_path):
    code, stdout, bundle = _run(tmp_path, "--json")
    doc = json.loads(stdout)
    summary = json.loads((bundle / "summary.json").read_text())
    assert (doc["conformant"], doc["conformance_reason"]) == (True, None)
    assert summary["conformance"] == {"conformant": True, "profile_split": "test", "reason": ""}
    assert "Exploratory" not in (bundle / "report.md").read_text()


# --- between-group metrics follow the base metric's direction ---------------------------------

def _profile(requirements: list[dict], **extra: object) -> Profile:
    data = {
        "id": "semantics", "version": 1, "title": "t", "sector": "t", "authority": "t", "legal_basis": ["t"],
        "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
        "benchmark": {"id": "none", "sha256": "0" * 64}, "task": "binary_classification",
        "inference": {"bootstrap": {"replicates": 100, "seed": 3}}, "requirements": requirements, **extra,
    }
    return parse_profile(yaml.safe_dump(data, sort_keys=False))


def _rows() -> pd.DataFrame:
    """Four groups whose false positive rates are 0.1, 0.25, 0.4 and 0 (label 0 rows only matter)."""
    parts = []
    for group, fp, negatives, positives in (("a", 4, 40, 30), ("b", 10, 40, 30), ("c", 16, 40, 30),
                                            ("z", 0, 40, 30)):
        y = [0] * negatives + [1] * positives
        d = [1] * fp + [0] * (negatives - fp) + [1] * (positives // 2) + [0] * (positives - positives // 2)
        parts.append(pd.DataFrame({"g": group, "y": y, "d": d}))
    return pd.concat(parts, ignore_index=True)


def _measure(profile: Profile, rows: pd.DataFrame) -> pd.DataFrame:
    table = build_atoms(rows[["g"]], rows["y"].to_numpy(), rows["d"].to_numpy())
    return measure(profile, table)[0].set_index("group")


@pytest.mark.parametrize("drop", [[], ["z"]], ids=["with-a-zero-rate", "without"])
def test_impact_ratio_and_difference_of_a_lower_is_better_metric(drop):
    rows = _rows()
    rows = rows[~rows["g"].isin(drop)]
    neg = rows[rows["y"] == 0]
    fpr = neg.groupby("g")["d"].mean()  # independent: the share of negatives decided 1
    best = fpr.min()
    ratio = pd.Series({g: 1.0 if v == 0 else best / v for g, v in fpr.items()})
    gap = fpr - best
    m = _measure(_profile([{"id": "IR", "title": "t", "metric": "impact_ratio", "of": "fpr", "groups": ["g"]},
                           {"id": "D", "title": "t", "metric": "difference", "of": "fpr", "groups": ["g"]}]), rows)
    ir, d = m[m["requirement"] == "IR"], m[m["requirement"] == "D"]
    np.testing.assert_allclose(ir.loc[fpr.index, "value"], ratio.loc[fpr.index], atol=1e-12)
    np.testing.assert_allclose(d.loc[fpr.index, "value"], gap.loc[fpr.index], atol=1e-12)
    assert set(ir["reference_group"]) == set(d["reference_group"]) == {fpr.idxmin()}
    assert (ir["ci_high"] <= 1.0).all() and (ir["ci_low"] <= ir["value"] + 1e-12).all()


def test_impact_ratio_of_a_higher_is_better_metric_divides_by_the_highest():
    rows = _rows()
    rate = rows.groupby("g")["d"].mean()
    m = _measure(_profile([{"id": "IR", "title": "t", "metric": "impact_ratio", "groups": ["g"]}]), rows)
    np.testing.assert_allclose(m.loc[rate.index, "value"], rate / rate.max(), atol=1e-12)
    assert set(m["reference_group"]) == {rate.idxmax()}


def test_katz_interval_of_a_lower_is_better_ratio_is_the_best_over_the_group():
    rows = _rows()
    rows = rows[rows["g"] != "z"]
    m = _measure(_profile([{"id": "IR", "title": "t", "metric": "impact_ratio", "of": "fpr", "groups": ["g"],
                            "interval": "katz_log"}]), rows)
    lo, hi = katz_log_ratio(4, 40, 16, 40, 0.95)  # group c against the best other group, a
    assert (m.loc["c", "ci_low"], m.loc["c", "ci_high"]) == pytest.approx((lo, min(hi, 1.0)))


# --- favourable_decision ----------------------------------------------------------------------

def test_selection_rates_count_the_favourable_decision():
    rows = _rows()
    reqs = [{"id": "SR", "title": "t", "metric": "selection_rate", "groups": ["g"]},
            {"id": "IR", "title": "t", "metric": "impact_ratio", "groups": ["g"],
             "significance": {"test": "fisher"}},
            {"id": "F", "title": "t", "metric": "fpr", "groups": ["g"]}]
    adverse = _measure(_profile(reqs, favourable_decision=0), rows)
    usual = _measure(_profile(reqs), rows)
    released = 1 - rows.groupby("g")["d"].mean()  # independent: the share decided 0, the favourable outcome
    sr, ir = adverse[adverse["requirement"] == "SR"], adverse[adverse["requirement"] == "IR"]
    np.testing.assert_allclose(sr.loc[released.index, "value"], released, atol=1e-12)
    np.testing.assert_allclose(ir.loc[released.index, "value"], released / released.max(), atol=1e-12)
    assert set(ir["reference_group"]) == {"z"}  # the group released most often
    pd.testing.assert_frame_equal(adverse[adverse["requirement"] == "F"], usual[usual["requirement"] == "F"])


def test_the_report_says_which_outcome_is_favourable(exploratory):
    _, _, bundle = exploratory
    line = "Favourable outcome: decision 1 (selection rates and impact ratios count decision 1)"
    assert json.loads((bundle / "summary.json").read_text())["favourable_decision"] == 1
    assert f"- {line}" in (bundle / "report.md").read_text()
    assert "<dt>Favourable outcome</dt>\n    <dd>decision 1 (selection" in (bundle / "report.html").read_text()


# --- score: probability | rank ----------------------------------------------------------------

def test_rank_scores_are_measured_by_ranking_metrics_only():
    rows = _rows()
    rows["s"] = rows["d"] * 5.0 + rows["y"] * 2.0  # a points scale, not a probability
    reqs = [{"id": "A", "title": "t", "metric": "auroc", "groups": ["g"]},
            {"id": "P", "title": "t", "metric": "average_precision", "groups": ["g"]}]
    table = build_atoms(rows[["g"]], rows["y"].to_numpy(), rows["d"].to_numpy(), score=rows["s"].to_numpy())
    ranked = measure(_profile(reqs, score="rank", inference={"bootstrap": {"replicates": 100, "seed": 3},
                                                             "score_range": [0.0, 7.0]}), table)[0]
    assert ranked["value"].notna().all()
    with pytest.raises(ProfileError, match=r"<profile>:\d+: requirements\[0\]\.metric: metric 'brier' reads scores "
                                           r"as probabilities, but the profile's score is 'rank'"):
        _profile([{"id": "B", "title": "t", "metric": "brier"}], score="rank")
