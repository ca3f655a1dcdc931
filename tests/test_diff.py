"""``oversight diff``: paired differences checked against an independent row bootstrap and scikit-learn."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats as st
from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score

from harness.benchmark import load_benchmark
from harness.cli import main
from harness.evaluation import evaluate
from harness.evidence.diff import diff_evidence

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 1)
SHA = "97560798cabdc67604fc5185e996f3fa224982ceb28f838eaa38c6c0405ae117"
REPLICATES = 2000
PROFILE = f"""
id: diff-check
version: 1
title: Paired comparison check
sector: hiring
authority: test
legal_basis: [test]
effective_from: 2026-01-01
enforcement_from: 2026-01-01
benchmark: {{id: resume-audit-2004, sha256: {SHA}, split: test}}
task: binary_classification
inference:
  bootstrap: {{replicates: {REPLICATES}, seed: 7}}
requirements:
  - {{id: R-sel, title: Selection rate by race, metric: selection_rate, groups: [race]}}
  - {{id: R-sens, title: Sensitivity, metric: sensitivity, threshold: {{min: 0.5}}}}
  - {{id: R-acc, title: Accuracy by sex, metric: accuracy, groups: [gender]}}
  - {{id: R-ppv, title: PPV, metric: ppv}}
  - {{id: R-ir, title: Impact ratio by race, metric: impact_ratio, of: selection_rate, groups: [race],
      threshold: {{min: 0.8}}}}
  - {{id: R-auc, title: AUROC, metric: auroc}}
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def rows():
    """The test split with two correlated models: B moves A's scores a little, mostly towards the label."""
    bench = load_benchmark("resume-audit-2004").subset("test")
    rng = np.random.default_rng(11)
    y = bench.y.astype(int)
    score_a = np.clip(0.35 * y + rng.random(y.size) * 0.65, 0, 1)
    score_b = np.clip(score_a + rng.normal(0, 0.04, y.size) + 0.03 * (2 * y - 1), 0, 1)
    frame = pd.DataFrame({"id": bench.ids, "y": y, "race": bench.frame["race"].to_numpy(),
                          "gender": bench.frame["gender"].to_numpy(),
                          "score_a": score_a, "score_b": score_b,
                          "dec_a": (score_a > 0.5).astype(int), "dec_b": (score_b > 0.5).astype(int)})
    return frame


def _bundle(folder: Path, profile: Path, rows: pd.DataFrame, side: str, **kwargs) -> Path:
    path = folder / f"{side}.csv"
    rows[["id"]].assign(decision=rows[f"dec_{side}"], score=rows[f"score_{side}"]).to_csv(path, index=False)
    return evaluate(profile, predictions=path, tracking=False, out=folder / "out", as_of=AS_OF, **kwargs).bundle


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("diff")
    profile = folder / "profile.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    return {"a": _bundle(folder, profile, rows, "a"), "b": _bundle(folder, profile, rows, "b"),
            "profile": profile, "folder": folder}


@pytest.fixture(scope="module")
def result(bundles):
    return diff_evidence(str(bundles["a"]), str(bundles["b"]))


def _row(result, requirement: str, group: str = "all") -> pd.Series:
    r = result.rows
    return r[(r["requirement"] == requirement) & (r["group"] == group)].iloc[0]


def _groups(rows: pd.DataFrame, column: str | None) -> dict[str, np.ndarray]:
    if column is None:
        return {"all": np.ones(len(rows), dtype=bool)}
    return {g: (rows[column] == g).to_numpy() for g in sorted(rows[column].unique())}


SKLEARN = {
    "R-sel": ("race", lambda y, d, s: float(np.mean(d))),
    "R-sens": (None, lambda y, d, s: recall_score(y, d)),
    "R-acc": ("gender", lambda y, d, s: accuracy_score(y, d)),
    "R-ppv": (None, lambda y, d, s: precision_score(y, d)),
    "R-auc": (None, lambda y, d, s: roc_auc_score(y, s)),
}


@pytest.mark.parametrize("requirement", sorted(SKLEARN))
def test_point_differences_match_scikit_learn(result, rows, requirement):
    column, fn = SKLEARN[requirement]
    for group, mask in _groups(rows, column).items():
        r, sub = _row(result, requirement, group), rows[mask]
        a = fn(sub["y"], sub["dec_a"], sub["score_a"])
        b = fn(sub["y"], sub["dec_b"], sub["score_b"])
        assert abs(r["value_a"] - a) < 1e-12 and abs(r["value_b"] - b) < 1e-12
        assert abs(r["difference"] - (b - a)) < 1e-12


def test_impact_ratio_difference(result, rows):
    for side in ("a", "b"):
        rates = rows.groupby("race")[f"dec_{side}"].mean()
        for group, rate in rates.items():
            assert abs(_row(result, "R-ir", group)[f"value_{side}"] - rate / rates.max()) < 1e-12


def test_values_of_a_equal_its_bundle(result, bundles):
    stored = pd.read_csv(bundles["a"] / "measurements.csv")
    merged = stored.merge(result.rows, on=["requirement", "group"])
    assert len(merged) == len(result.rows)
    assert (merged["value"] == merged["value_a"]).all()


def _row_bootstrap(rows: pd.DataFrame, replicates: int, seed: int) -> dict[tuple[str, str], np.ndarray]:
    """B - A per replicate, from plain row-index draws (numpy only, no harness code)."""
    rng = np.random.default_rng(seed)
    n = len(rows)
    y, da, db = (rows[c].to_numpy(float) for c in ("y", "dec_a", "dec_b"))
    out = {}
    weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(replicates)]).astype(float)
    for group, mask in _groups(rows, "race").items():
        w = weights * mask
        out[("R-sel", group)] = (w @ db - w @ da) / w.sum(axis=1)
    pos = weights * (y == 1)
    out[("R-sens", "all")] = (pos @ db - pos @ da) / pos.sum(axis=1)
    for group, mask in _groups(rows, "gender").items():
        w = weights * mask
        out[("R-acc", group)] = (w @ (db == y) - w @ (da == y)) / w.sum(axis=1)
    return out


def test_intervals_agree_with_an_independent_row_bootstrap(result, rows):
    """Within Monte Carlo error: 2,000 engine replicates against 4,000 independent ones."""
    draws = _row_bootstrap(rows, 4000, seed=99)
    for (requirement, group), d in draws.items():
        r = _row(result, requirement, group)
        lo, hi = np.quantile(d, [0.025, 0.975])
        sd = d.std()
        assert abs(r["ci_low"] - lo) < 0.3 * sd and abs(r["ci_high"] - hi) < 0.3 * sd, (requirement, group)
        # pairing matters: the two models' errors are strongly correlated, so unpaired draws are far wider
        unpaired = np.sqrt(_unpaired_var(rows, requirement, group))
        assert unpaired > 1.5 * (r["ci_high"] - r["ci_low"]) / 3.92


def _unpaired_var(rows: pd.DataFrame, requirement: str, group: str) -> float:
    column = {"R-sel": "race", "R-sens": None, "R-acc": "gender"}[requirement]
    sub = rows[_groups(rows, column)[group]]
    if requirement == "R-sens":
        sub = sub[sub["y"] == 1]
    ev = {s: (sub[f"dec_{s}"] == sub["y"]) if requirement == "R-acc" else sub[f"dec_{s}"] for s in "ab"}
    return sum(e.var() / len(e) for e in ev.values())


def test_mcnemar_matches_a_hand_computation(result, rows):
    for group, mask in _groups(rows, "gender").items():
        sub = rows[mask]
        ok_a, ok_b = sub["dec_a"] == sub["y"], sub["dec_b"] == sub["y"]
        b, c = int((ok_a & ~ok_b).sum()), int((ok_b & ~ok_a).sum())
        p = min(1.0, 2 * st.binom.cdf(min(b, c), b + c, 0.5))
        r = _row(result, "R-acc", group)
        assert (r["discordant_a"], r["discordant_b"]) == (b, c) and b + c > 0
        assert abs(r["mcnemar_p"] - p) < 1e-12
    pos = rows[rows["y"] == 1]
    r = _row(result, "R-sens")
    assert (r["discordant_a"], r["discordant_b"]) == (((pos["dec_a"] == 1) & (pos["dec_b"] == 0)).sum(),
                                                      ((pos["dec_a"] == 0) & (pos["dec_b"] == 1)).sum())


def test_mcnemar_not_applicable_where_rows_differ_or_no_proportion(result):
    notes = result.rows.drop_duplicates("requirement").set_index("requirement")["mcnemar_note"]
    assert notes["R-ppv"] == ("not applicable: the rows ppv counts depend on the decision, so they differ "
                              "between the models")
    assert notes["R-ir"] == "not applicable: impact_ratio is not a proportion of rows"
    assert notes["R-auc"] == "not applicable: auroc is not a proportion of rows"
    assert np.isnan(_row(result, "R-ppv")["mcnemar_p"])


def test_better_and_worse_follow_direction_and_interval(result, bundles):
    for r in result.rows.itertuples():
        if r.ci_low <= 0 <= r.ci_high:
            want = "no clear change"
        elif r.direction == "none":
            want = "higher" if r.ci_low > 0 else "lower"
        else:
            want = "better" if (r.ci_low > 0) == (r.direction == "higher") else "worse"
        assert r.change == want, r
    assert _row(result, "R-sel", "black")[["direction", "change"]].tolist() == ["none", "lower"]
    assert _row(result, "R-sens")[["direction", "change"]].tolist() == ["higher", "better"]
    summary = {s["requirement"]: s["change"] for s in result.requirements}
    assert summary == {"R-sel": "changed", "R-sens": "better", "R-acc": "better", "R-ppv": "better",
                       "R-ir": "no clear change", "R-auc": "better"}
    reverse = diff_evidence(str(bundles["b"]), str(bundles["a"]))
    assert {s["requirement"]: s["change"] for s in reverse.requirements}["R-sens"] == "worse"
    assert np.allclose(reverse.rows["difference"], -result.rows["difference"], equal_nan=True)


def test_a_bundle_against_itself_is_zero_everywhere(bundles):
    same = diff_evidence(str(bundles["a"]), str(bundles["a"]))
    assert (same.rows["difference"].fillna(0) == 0).all()
    assert ((same.rows["ci_low"] == 0) & (same.rows["ci_high"] == 0)).all()
    applicable = same.rows.dropna(subset=["mcnemar_p"])
    assert (applicable["discordant_a"] == 0).all() and (applicable["mcnemar_p"] == 1).all()
    assert set(same.rows["change"]) == {"no clear change"}


def test_cli_formats(bundles):
    a, b = str(bundles["a"]), str(bundles["b"])
    table = run("diff", a, b)
    assert table.exit_code == 0
    assert "paired bootstrap interval of B - A, 2,000 replicates of rows, seed 7" in table.output
    assert "- R-ppv (ppv):" in table.output
    data = json.loads(run("diff", a, b, "--format", "json").output)
    assert {r["requirement"] for r in data["rows"]} == {"R-sel", "R-sens", "R-acc", "R-ppv", "R-ir", "R-auc"}
    assert data["a"]["source"] == a and data["not_compared"] == []
    csv = run("diff", a, b, "--format", "csv").output.splitlines()
    assert csv[0].startswith("requirement,metric,family,group,n,value_a,value_b,difference,ci_low,ci_high")
    assert len(csv) == 1 + len(data["rows"])
    md = run("diff", a, b, "--format", "markdown").output
    assert "| requirement | group | A | B | B - A | interval |" in md


def test_a_folder_that_is_not_a_bundle(tmp_path, bundles):
    res = run("diff", str(tmp_path), str(bundles["b"]))
    assert res.exit_code == 2
    assert res.output == f"error: {tmp_path}: not an evidence bundle (no manifest.json)\n"
    file = bundles["b"] / "summary.json"
    res = run("diff", str(file), str(bundles["b"]))
    assert (res.exit_code, res.output) == (2, f"error: {file}: a file, not an evidence bundle folder or an "
                                              "MLflow run id\n")
    res = run("diff", str(tmp_path / "gone" / "x"), str(bundles["b"]))
    assert (res.exit_code, res.output) == (2, f"error: {tmp_path / 'gone' / 'x'}: no such bundle folder, and not "
                                              "an MLflow run id\n")


def test_an_edited_bundle_is_refused(tmp_path, bundles):
    edited = tmp_path / "edited"
    shutil.copytree(bundles["b"], edited)
    (edited / "predictions.parquet").write_bytes(b"x")
    res = run("diff", str(bundles["a"]), str(edited))
    assert res.exit_code == 3
    assert res.output.startswith(f"error: {edited}: the bundle does not match its manifest: predictions.parquet: "
                                 "SHA-256 ")


def test_another_split_cannot_be_paired(bundles, rows, tmp_path):
    bench = load_benchmark("resume-audit-2004")
    path = tmp_path / "all.csv"
    pd.DataFrame({"id": bench.ids, "decision": 0, "score": 0.1}).to_csv(path, index=False)
    other = evaluate(bundles["profile"], predictions=path, split="all", tracking=False, out=tmp_path,
                     as_of=AS_OF).bundle
    res = run("diff", str(bundles["a"]), str(other))
    assert res.exit_code == 2
    assert res.output == (f"error: cannot pair {bundles['a']} and {other}: benchmark split 'test' differs from "
                          "'all'; a paired comparison needs the same benchmark rows\n")


def test_profile_versions_pair_only_requirements_measured_alike(bundles, rows, tmp_path):
    text = PROFILE.replace("version: 1", "version: 2").replace(
        "metric: accuracy, groups: [gender]", "metric: accuracy, groups: [race]").replace(
        "threshold: {min: 0.5}", "threshold: {min: 0.9}")
    text = text.replace("  - {id: R-auc, title: AUROC, metric: auroc}\n", "  - {id: R-new, title: New, metric: fpr}\n")
    profile = tmp_path / "v2.yaml"
    profile.write_text(text, encoding="utf-8")
    v2 = _bundle(tmp_path, profile, rows, "b")
    out = diff_evidence(str(bundles["a"]), str(v2))
    assert out.not_compared == [
        "R-acc: measured differently (groups ['gender'] vs ['race'])",
        "R-auc: only in A's profile (version 1)",
        "R-new: only in B's profile (version 2)",
    ]
    assert set(out.rows["requirement"]) == {"R-sel", "R-sens", "R-ppv", "R-ir"}  # R-sens: threshold only
    summary = {s["requirement"]: s["status"] for s in out.requirements}
    assert summary["R-sens"] == "all: pass -> fail"  # B's profile raised the threshold to 0.9


def test_no_requirement_in_common_is_refused(bundles, rows, tmp_path):
    text = PROFILE.split("requirements:")[0] + "requirements:\n  - {id: X, title: X, metric: fpr}\n"
    profile = tmp_path / "other.yaml"
    profile.write_text(text, encoding="utf-8")
    other = _bundle(tmp_path, profile, rows, "b")
    res = run("diff", str(bundles["a"]), str(other))
    assert res.exit_code == 2
    assert res.output.startswith(f"error: cannot pair {bundles['a']} and {other}: no requirement is measured the "
                                 "same way in both profiles (R-sel: only in A's profile (version 1); ")


def test_cluster_unit_resamples_clusters(rows, tmp_path):
    """Under ``unit: cluster`` both models see the same resampled job ads (independent cluster bootstrap)."""
    text = PROFILE.replace("{replicates: 2000, seed: 7}", "{replicates: 2000, seed: 7, unit: cluster}")
    text = text.split("  - {id: R-sens")[0]
    profile = tmp_path / "cluster.yaml"
    profile.write_text(text, encoding="utf-8")
    a, b = (_bundle(tmp_path, profile, rows, side) for side in "ab")
    out = diff_evidence(str(a), str(b))
    bench = load_benchmark("resume-audit-2004").subset("test")
    cluster = pd.factorize(bench.frame["job_ad_id"])[0]
    rng = np.random.default_rng(5)
    k = cluster.max() + 1
    weights = np.stack([np.bincount(rng.integers(0, k, k), minlength=k)[cluster] for _ in range(4000)]).astype(float)
    for group, mask in _groups(rows, "race").items():
        w = weights * mask
        d = (w @ rows["dec_b"].to_numpy(float) - w @ rows["dec_a"].to_numpy(float)) / w.sum(axis=1)
        lo, hi = np.quantile(d, [0.025, 0.975])
        r = _row(out, "R-sel", group)
        assert abs(r["ci_low"] - lo) < 0.3 * d.std() and abs(r["ci_high"] - hi) < 0.3 * d.std()
        assert r["mcnemar_note"] == "rows taken as independent pairs (the interval resamples clusters)"


def test_regression_differences_and_mcnemar_on_tolerance(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERSIGHT_BENCHMARKS", str(tmp_path))  # where verify and diff find it by id
    from sklearn.metrics import mean_absolute_error

    from test_regression import _benchmark, _run_profile, make_rows

    data = make_rows(4, sizes={"a": 300, "b": 200})
    sha = _benchmark(tmp_path / "synthetic-regression", data)
    profile = _run_profile(tmp_path, tmp_path / "synthetic-regression", sha)
    rng = np.random.default_rng(1)
    preds = {"a": data["p"].to_numpy(), "b": data["p"].to_numpy() + rng.normal(0, 6, len(data))}
    bundles = []
    for side, p in preds.items():
        path = tmp_path / f"{side}.csv"
        pd.DataFrame({"id": np.arange(len(data)), "prediction": p}).to_csv(path, index=False)
        bundles.append(str(evaluate(profile, predictions=path, out=tmp_path / "out", tracking=False).bundle))
    out = diff_evidence(*bundles)
    for group, part in data.groupby("g"):
        want = (mean_absolute_error(part["y"], preds["b"][part.index]) -
                mean_absolute_error(part["y"], preds["a"][part.index]))
        assert abs(_row(out, "MAE", group)["difference"] - want) < 1e-9
    within = {s: np.abs(p - data["y"].to_numpy()) <= 5.0 for s, p in preds.items()}
    tol = _row(out, "TOL")
    b, c = int((within["a"] & ~within["b"]).sum()), int((within["b"] & ~within["a"]).sum())
    assert (tol["discordant_a"], tol["discordant_b"]) == (b, c)
    assert abs(tol["mcnemar_p"] - min(1.0, 2 * st.binom.cdf(min(b, c), b + c, 0.5))) < 1e-12
    assert _row(out, "BIAS", "a")["mcnemar_note"] == "not applicable: mean_error is not a proportion of rows"
    assert _row(out, "MAE", "a")["change"] == "worse"


def _weighted_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUROC per row of ``weights`` (row multiplicities), ties counted half (plain numpy)."""
    values, k = np.unique(score, return_inverse=True)
    offsets = np.arange(len(weights))[:, None] * values.size + k[None, :]
    per = [np.bincount(offsets[:, y == c].ravel(), weights[:, y == c].ravel(), len(weights) * values.size)
           .reshape(len(weights), values.size) for c in (0, 1)]
    neg, pos = per
    below = np.cumsum(neg, axis=1) - neg
    return (pos * (below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def test_auroc_interval_on_the_resampling_grid_agrees_with_an_independent_bootstrap(result, rows):
    """Scores take more distinct values than bootstrap.score_bins, so the interval comes from the coarser
    grid, moved to the exact difference; it agrees with exact AUROCs on row-index draws (numpy, anchored to
    scikit-learn at the point estimate) within Monte Carlo error."""
    y, sa, sb = rows["y"].to_numpy(), rows["score_a"].to_numpy(), rows["score_b"].to_numpy()
    assert np.unique(sa).size > 1000
    one = np.ones((1, len(y)))
    assert abs(_weighted_auc(y, sa, one)[0] - roc_auc_score(y, sa)) < 1e-12
    assert abs(_weighted_auc(y, sb, one)[0] - roc_auc_score(y, sb)) < 1e-12
    rng = np.random.default_rng(21)
    weights = np.stack([np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)) for _ in range(4000)])
    d = _weighted_auc(y, sb, weights.astype(float)) - _weighted_auc(y, sa, weights.astype(float))
    lo, hi = np.quantile(d, [0.025, 0.975])
    r = _row(result, "R-auc")
    assert abs(r["ci_low"] - lo) < 0.3 * d.std() and abs(r["ci_high"] - hi) < 0.3 * d.std()


def _rewritten(bundle: Path, folder: Path, edit) -> Path:
    """A copy of ``bundle`` edited by ``edit(copy)``, its manifest's file hashes brought up to date."""
    from harness.evidence.bundle import sha256_file

    copy = folder / bundle.name
    shutil.copytree(bundle, copy)
    edit(copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = {name: sha256_file(copy / name) for name in manifest["files"]}
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return copy


def test_predictions_that_do_not_cover_the_rows(bundles, tmp_path):
    def drop_rows(copy: Path) -> None:
        frame = pd.read_parquet(copy / "predictions.parquet")
        frame.iloc[2:].to_parquet(copy / "predictions.parquet", index=False)

    short = _rewritten(bundles["b"], tmp_path, drop_rows)
    first = pd.read_parquet(bundles["b"] / "predictions.parquet")["id"].iloc[0].item()
    res = run("diff", str(bundles["a"]), str(short))
    assert (res.exit_code, res.output) == (2, f"error: {short}: predictions.parquet does not cover the benchmark "
                                              f"rows one to one (1,446 predictions for 1,448 rows, 2 ids missing, "
                                              f"e.g. {first!r})\n")


def test_a_benchmark_hash_that_differs_from_the_data_on_disk(bundles, tmp_path):
    fake = "f" * 64

    def claim(copy: Path) -> None:
        manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
        manifest["inputs"]["benchmark"]["sha256"] = fake
        (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    a = _rewritten(bundles["a"], tmp_path / "a", claim)
    b = _rewritten(bundles["b"], tmp_path / "b", claim)
    res = run("diff", str(a), str(b))
    assert (res.exit_code, res.output) == (2, f"error: benchmark 'resume-audit-2004': SHA-256 on disk {SHA} differs "
                                              f"from the bundles' {fake}\n")
