"""Sector profiles: the defaults are valid; every mistake is reported word for word."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ProfileError
from harness.plan import make_plan
from harness.profile import load_profile, parse_profile

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = sorted((ROOT / "sector_profiles").glob("*/*.yaml"))

HEAD = """\
id: bad
version: 1
title: t
sector: hiring
authority: a
legal_basis: [x]
effective_from: 2026-01-22
enforcement_from: 2027-01-22
benchmark: {id: resume-audit-2004, sha256: 97560798cabdc67604fc5185e996f3fa224982ceb28f838eaa38c6c0405ae117}
task: binary_classification
inference:
  bootstrap: {replicates: 500, seed: 1}
requirements:
"""


def test_three_default_profiles_validate_against_their_benchmarks():
    assert {p.parent.name for p in DEFAULTS} == {"hiring", "health", "transport"}
    for path in DEFAULTS:
        plan = make_plan(load_profile(path))
        assert plan.split == "test"
        assert plan.profile.effective_from < plan.profile.enforcement_from


BAD = [
    ("  - {id: R1, title: t, metric: selection_rat}\n",
     ["p.yaml:14: requirements[0].metric: unknown metric 'selection_rat'; did you mean 'selection_rate'? valid choices: "
      "accuracy, auroc, average_precision, balanced_accuracy, brier, calibration_intercept, "
      "calibration_slope, difference, ece, f1, fnr, fpr, impact_ratio, mae, mean_error, npv, oe_ratio, ppv, "
      "prevalence, r2, rmse, scoring_rate, selection_rate, sensitivity, specificity, within_tolerance"]),
    ("  - id: R1\n    title: t\n    metric: impact_ratio\n    groups: [race]\n    treshold: {min: 0.8}\n",
     ["p.yaml:18: requirements[0].treshold: unknown field; did you mean 'threshold'? valid choices: blocking, "
      "description, exclude_below_share, groups, id, interval, metric, min_support, null_threshold, of, "
      "on_breach, references, rule, significance, threshold, title, tolerance, weighted"]),
    ("  - id: R1\n    title: t\n    metric: accuracy\n    threshold: {min: eighty}\n",
     ["p.yaml:17: requirements[0].threshold.min: Input should be a valid number, found 'eighty'"]),
    ("  - {id: R1, title: t, metric: sensitivity, threshold: {min: 0.8, max: 0.9}}\n",
     ["p.yaml:14: requirements[0].threshold: give exactly one of 'min' or 'max'"]),
    ("  - {id: R1, title: t, metric: sensitivity, threshold: {min: 0.8}, rule: dual}\n",
     ["p.yaml:14: requirements[0]: rule 'dual' needs 'null_threshold' (the bound's goal)"]),
    ("  - {id: R1, title: t, metric: impact_ratio}\n",
     ["p.yaml:14: requirements[0]: metric 'impact_ratio' compares groups: give 'groups'"]),
    ("  - {id: R1, title: t, metric: sensitivity, significance: {}}\n",
     ["p.yaml:14: requirements[0]: 'significance' applies to ['difference', 'impact_ratio'], found metric "
      "'sensitivity'"]),
    ("  - {id: R1, title: t, metric: accuracy, rule: strict}\n",
     ["p.yaml:14: requirements[0].rule: Input should be 'point', 'bound' or 'dual', found 'strict'"]),
    ("  - {id: R1, title: t, metric: accuracy}\n  - {id: R1, title: u, metric: f1}\n",
     ["p.yaml:15: requirements[1].id: requirement id 'R1' is used twice (first at requirements[0]); expected "
      "each id once"]),
    ("  - {title: t, metric: accuracy, blocking: true}\n",
     ["p.yaml:14: requirements[0].id: required field is missing"]),
    ("  - {id: R1, title: t, metric: accuracy, blocking: true}\n",
     ["p.yaml:14: requirements[0]: a blocking requirement needs a 'threshold'"]),
]


@pytest.mark.parametrize(("requirements", "expected"), BAD)
def test_invalid_profiles_report_file_field_line(tmp_path, requirements, expected):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + requirements, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert [line.replace(str(tmp_path) + "/", "") for line in err.value.problems] == expected


def test_dates_in_the_wrong_order():
    text = HEAD.replace("enforcement_from: 2027-01-22", "enforcement_from: 2025-01-01")
    with pytest.raises(ProfileError) as err:
        parse_profile(text + "  - {id: R, title: t, metric: accuracy}\n", source="p.yaml")
    assert err.value.problems == ["p.yaml:8: enforcement_from: 2025-01-01 is before effective_from 2026-01-22; "
                                  "expected enforcement on or after the date the profile takes effect"]


def test_not_yaml_and_not_a_mapping():
    with pytest.raises(ProfileError, match=r"^p.yaml:3: not valid YAML: expected ',' or ']'"):
        parse_profile("a: [1,\nb: 2\n", source="p.yaml")
    with pytest.raises(ProfileError) as err:
        parse_profile("- just a list\n", source="p.yaml")
    assert str(err.value) == "p.yaml:1: expected a mapping of profile fields, found a list"


def test_missing_file(tmp_path):
    with pytest.raises(ProfileError) as err:
        load_profile(tmp_path / "nope.yaml")
    assert str(err.value) == f"{tmp_path / 'nope.yaml'}: cannot read the profile: No such file or directory"


def test_columns_checked_against_the_benchmark(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(HEAD.replace("task:", "model_inputs: {allow_sensitive: [gendr]}\ntask:")
                    + "  - {id: R1, title: t, metric: selection_rate, groups: [rase]}\n"
                    + "  - {id: R2, title: t, metric: fnr, weighted: true}\n", encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        make_plan(load_profile(path))
    sensitive = "'gendr' is not a sensitive column of benchmark 'resume-audit-2004'; did you mean 'gender'?"
    assert err.value.problems[0] == f"{path}:10: model_inputs.allow_sensitive[0]: {sensitive} valid choices: race, gender"
    assert err.value.problems[1].startswith(
        f"{path}:15: requirements[0].groups[0]: unknown column 'rase' in benchmark 'resume-audit-2004'; "
        "did you mean 'race'? valid choices: ")
    assert err.value.problems[2] == f"{path}:16: requirements[1].weighted: benchmark 'resume-audit-2004' declares no weight column"


def test_pinned_benchmark_hash_must_match(tmp_path):
    from harness.errors import BenchmarkError

    path = tmp_path / "p.yaml"
    path.write_text(HEAD.replace("sha256: 9756", "sha256: 0000") + "  - {id: R, title: t, metric: accuracy}\n")
    with pytest.raises(BenchmarkError) as err:
        make_plan(load_profile(path))
    assert str(err.value) == (
        "benchmark 'resume-audit-2004': the profile pins SHA-256 "
        "00000798cabdc67604fc5185e996f3fa224982ceb28f838eaa38c6c0405ae117, the benchmark on disk has "
        "97560798cabdc67604fc5185e996f3fa224982ceb28f838eaa38c6c0405ae117; the data or the profile changed")


def test_methods_assuming_independent_rows_are_refused_under_cluster_resampling():
    text = HEAD.replace("  bootstrap: {replicates: 500, seed: 1}",
                        "  interval: wilson\n  bootstrap: {replicates: 500, seed: 1, unit: cluster}")
    text += ("  - {id: R1, title: t, metric: selection_rate, interval: clopper_pearson}\n"
             "  - id: R2\n    title: t\n    metric: impact_ratio\n    groups: [race]\n"
             "    interval: katz_log\n    significance: {test: fisher}\n")
    with pytest.raises(ProfileError) as err:
        parse_profile(text, source="p.yaml")
    why = ("assumes independent rows, but inference.bootstrap.unit is 'cluster' (rows of one unit are "
           "correlated, so it would be too narrow)")
    assert err.value.problems == [
        f"p.yaml:12: inference.interval: 'wilson' {why}; remove it (proportions then use the cluster bootstrap)",
        f"p.yaml:15: requirements[0].interval: 'clopper_pearson' {why}; use 'bootstrap_percentile' or "
        "'bootstrap_bca'",
        f"p.yaml:20: requirements[1].interval: 'katz_log' {why}; use 'bootstrap_percentile' or 'bootstrap_bca'",
        f"p.yaml:21: requirements[1].significance.test: 'fisher' {why}; use 'auto' (a cluster-robust "
        "two-proportion z test)",
    ]


def test_resampling_grid_needs_at_least_ten_bins():
    text = HEAD.replace("bootstrap: {replicates: 500, seed: 1}", "bootstrap: {replicates: 500, seed: 1, score_bins: 5}")
    with pytest.raises(ProfileError) as err:
        parse_profile(text + "  - {id: R, title: t, metric: auroc}\n", source="p.yaml")
    assert err.value.problems == [
        "p.yaml:12: inference.bootstrap.score_bins: Input should be greater than or equal to 10, found 5"]


def test_a_profile_over_the_size_cap_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# padding\n" * 100_001)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(err.value) == f"{path}: the profile is larger than 1,000,000 bytes; expected at most 1,000,000 bytes"


def test_more_requirements_than_the_cap(tmp_path):
    text = HEAD + "".join(f"  - {{id: R{i}, title: t, metric: accuracy}}\n" for i in range(201))
    with pytest.raises(ProfileError) as err:
        parse_profile(text, source="p.yaml")
    assert err.value.problems == ["p.yaml:14: requirements: List should have at most 200 items after validation, "
                                  "not 201"]


def test_more_groups_in_the_rows_than_the_cap(tmp_path, monkeypatch):
    import harness.plan

    monkeypatch.setattr(harness.plan, "MAX_GROUPS", 100)
    path = tmp_path / "p.yaml"
    path.write_text(HEAD + "  - id: R1\n    title: t\n    metric: accuracy\n    groups: [job_industry, job_type, "
                    "years_experience]\n", encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        make_plan(load_profile(path))
    assert err.value.problems[0].startswith(f"{path}:17: requirements[0].groups: ")
    assert err.value.problems[0].endswith(" groups in the rows judged; expected at most 100 (choose coarser "
                                          "columns or bands)")


def test_every_threshold_range_comes_from_the_metric_table():
    from harness.metrics import METRICS, value_range

    assert value_range("impact_ratio", "selection_rate") == (0.0, None)
    assert value_range("impact_ratio", "mean_error") == (None, None)
    assert value_range("difference", "fnr") == (0.0, 1.0)
    assert value_range("difference", "rmse") == (0.0, None)
    for name, metric in METRICS.items():
        assert value_range(name, name) == (metric.low, metric.high)
    assert {n for n, m in METRICS.items() if (m.low, m.high) != (0.0, 1.0)} == {
        "oe_ratio", "calibration_slope", "calibration_intercept", "mae", "rmse", "mean_error", "r2"}


def test_validate_reports_a_failure_of_the_harness_and_goes_on(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import harness.profile
    from harness.cli import main

    real = harness.profile.load_profile

    def flaky(path):
        if Path(path).name == "first.yaml":
            raise RuntimeError("disk on fire")
        return real(path)

    monkeypatch.setattr(harness.profile, "load_profile", flaky)
    first, good = tmp_path / "first.yaml", DEFAULTS[0]
    first.write_text("id: x\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["profile", "validate", str(first), str(good)], catch_exceptions=False)
    assert res.exit_code == 3
    assert res.stdout.splitlines() == [f"{good}: ok"]
    assert res.stderr.splitlines() == [f"{first}: run failed: RuntimeError: disk on fire (rerun with --debug for "
                                       "details)"]


def test_a_profile_dumped_as_json_data_reads_back_the_same():
    """Profiles given as objects are stored as such a dump; verify reads it back."""
    import yaml

    for path in DEFAULTS:
        profile = load_profile(path).profile
        text = yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
        assert parse_profile(text) == profile


def test_a_profile_object_from_python_gets_every_check_a_file_gets(tmp_path):
    """Range checks run when the YAML is read; a Profile built in Python is read back the same way."""
    import harness
    from harness.profile import Threshold

    loaded = load_profile(ROOT / "sector_profiles/health/health-mortality-risk-v1.yaml")
    first = loaded.profile.requirements[0]
    loose = first.model_copy(update={"threshold": Threshold(min=1.5)})  # a rate can never reach 1.5
    profile = loaded.profile.model_copy(update={"requirements": [loose, *loaded.profile.requirements[1:]]})
    with pytest.raises(ProfileError) as err:
        harness.evaluate(profile, predictions=tmp_path / "never-read.csv", tracking=False)
    assert err.value.problems == [f"<Profile {profile.id}>:73: requirements[0].threshold.min: 1.5 is outside the "
                                  f"values metric '{first.metric}' can take; expected a value in [0, 1]"]
    assert not list(tmp_path.iterdir())
