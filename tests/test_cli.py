"""The command line: exit codes, JSON output, errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.benchmark import load_benchmark
from harness.cli import main

ROOT = Path(__file__).resolve().parent.parent
HIRING = str(ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml")
HEALTH = str(ROOT / "sector_profiles/health/health-mortality-risk-v1.yaml")
TRANSPORT = str(ROOT / "sector_profiles/transport/transport-acn-triage-v1.yaml")


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _preds(tmp_path: Path, bench_id: str, decision, score=None, name="p.csv") -> str:
    bench = load_benchmark(bench_id)
    frame = pd.DataFrame({"id": bench.ids, "decision": decision(bench)})
    if score is not None:
        frame["score"] = score(bench)
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def test_compliant_exits_0_with_json(tmp_path):
    perfect = _preds(tmp_path, "flchain-mayo", lambda b: b.y, lambda b: b.y * 0.98 + 0.01)
    res = run("run", "--profile", HEALTH, "--predictions", perfect, "--no-tracking", "--json",
              "--out", str(tmp_path / "out"), "--as-of", "2027-02-01")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["verdict"] == "compliant"
    assert doc["policy_status"] == "enforced"
    assert doc["run_id"] is None
    assert Path(doc["bundle"]).is_dir()
    d1 = next(r for r in doc["requirements"] if r["id"] == "D1")
    assert d1["status"] == "pass"
    assert set(d1["groups"][0]) >= {"group", "value", "ci_low", "ci_high", "n", "status", "reason"}
    assert d1["groups"][0]["value"] == 1.0


def test_non_compliant_exits_1_with_table(tmp_path):
    callbacks = _preds(tmp_path, "resume-audit-2004", lambda b: b.frame["received_callback"])
    res = run("run", "--profile", HIRING, "--predictions", callbacks, "--split", "all", "--no-tracking",
              "--out", str(tmp_path / "out"), "--as-of", "2026-03-01")
    assert res.exit_code == 1, res.output
    assert "verdict: NON-COMPLIANT" in res.stdout
    assert "policy: grace_period (advisory; sanctions start on 2027-01-22; as of 2026-03-01)" in res.stdout
    assert "H3-race       black               impact_ratio    0.668" in res.stdout  # group column fits "female (f) × black"


def test_inconclusive_exits_4(tmp_path):
    # A coin-flip decision for every occupant: the miss rate's interval straddles nothing useful,
    # so use a rule that leaves the under-triage bound straddling 0.10.
    def decision(b):
        rank = pd.Series(b.frame["ageOFocc"]).rank(method="first").to_numpy()
        return ((b.y == 1) & (rank % 12 != 0) | (b.y == 0) & (rank % 3 == 0)).astype(int)

    res = run("run", "--profile", TRANSPORT, "--predictions", _preds(tmp_path, "nass-cds-1997-2002", decision),
              "--no-tracking", "--json", "--out", str(tmp_path / "out"))
    doc = json.loads(res.stdout)
    t1 = next(r for r in doc["requirements"] if r["id"] == "T1")
    assert t1["status"] == "inconclusive", t1
    assert doc["verdict"] == "inconclusive"
    assert res.exit_code == 4


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--profile", "missing.yaml", "--predictions", "p.csv"], 2,
     "error: missing.yaml: cannot read the profile: No such file or directory"),
    (["--profile", HIRING], 2,
     "error: give exactly one of a model (--model) or a predictions file (--predictions)"),
    (["--profile", HIRING, "--model", "nope.skops"], 3, "error: "),
])
def test_input_and_run_errors_have_no_traceback(tmp_path, monkeypatch, args, code, message):
    monkeypatch.chdir(tmp_path)
    res = run("run", *args, "--no-tracking", "--quiet")
    assert res.exit_code == code
    assert res.stderr.startswith(message), res.stderr
    assert "Traceback" not in res.output


def test_bad_predictions_file_is_invalid_input(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,decision\n0,1\n1,2\n")
    res = run("run", "--profile", HIRING, "--predictions", str(path), "--no-tracking", "--quiet")
    assert res.exit_code == 2
    assert res.stderr == (f"error: predictions file {path}: decision is not 0/1 on 1 of 2 rows, first at lines 3 (id 1): "
                          "found ['2']; expected 0 or 1 (true/false and 0.0/1.0 are accepted)\n")
    assert "Traceback" not in res.output


def test_scores_required_by_the_profile(tmp_path):
    no_scores = _preds(tmp_path, "flchain-mayo", lambda b: b.y)
    res = run("run", "--profile", HEALTH, "--predictions", no_scores, "--no-tracking")
    assert res.exit_code == 2
    assert "need scores; the predictions have none" in res.stderr


def test_debug_shows_the_traceback(tmp_path):
    res = run("run", "--profile", str(tmp_path / "missing.yaml"), "--predictions", "x.csv", "--no-tracking",
              "--debug")
    assert res.exit_code == 2
    assert "Traceback" in res.stderr


def test_unusable_tracking_store_leaves_the_bundle_pending_and_keeps_the_verdict(tmp_path):
    callbacks = _preds(tmp_path, "resume-audit-2004", lambda b: b.frame["received_callback"])
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = tmp_path / "out"
    uri = f"sqlite:///{blocker}/sub/mlflow.db"
    res = run("run", "--profile", HIRING, "--predictions", callbacks, "--out", str(out), "--tracking-uri", uri,
              "--quiet")
    assert res.exit_code == 1  # the verdict's code: the run itself did not fail
    assert "verdict: NON-COMPLIANT" in res.stdout
    (bundle,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    assert (bundle / "manifest.json").exists()
    marker = out / ".oversight" / "pending" / f"{bundle.name}.json"
    assert res.stderr.splitlines() == [
        f"warning: cannot create the SQLite tracking store {blocker}/sub/mlflow.db: [Errno 20] Not a directory: "
        f"'{blocker}/sub'; the evidence bundle is complete at {bundle}",
        f"warning: the evidence bundle is pending (marker {marker}); log it to MLflow later with: "
        f"oversight sync --out {out} --tracking-uri {uri}",
    ]
    assert json.loads(marker.read_text())["tracking_uri"] == uri
    res = run("sync", "--out", str(out))
    assert res.exit_code == 3
    assert res.stdout.splitlines() == [
        f"FAILED: {bundle.resolve()}: cannot create the SQLite tracking store {blocker}/sub/mlflow.db: [Errno 20] "
        f"Not a directory: '{blocker}/sub'; the evidence bundle is complete at {bundle.resolve()}",
        f"1 pending bundle(s) in {out}, 1 not logged"]
    assert marker.exists()


def test_profile_validate(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(HIRING).read_text().replace("metric: impact_ratio", "metric: impact_ration", 1))
    res = run("profile", "validate", HIRING, HEALTH, TRANSPORT)
    assert res.exit_code == 0
    assert res.stdout.splitlines() == [f"{HIRING}: ok", f"{HEALTH}: ok", f"{TRANSPORT}: ok"]
    res = run("profile", "validate", HIRING, str(bad))
    assert res.exit_code == 2
    assert res.stdout.splitlines() == [f"{HIRING}: ok"]
    assert res.stderr.splitlines() == [
        f"{bad}:58: requirements[3].metric: unknown metric 'impact_ration'; did you mean 'impact_ratio'? valid choices: "
        "accuracy, auroc, average_precision, balanced_accuracy, brier, calibration_intercept, "
        "calibration_slope, difference, ece, f1, fnr, fpr, impact_ratio, mae, mean_error, npv, oe_ratio, ppv, "
        "prevalence, r2, rmse, scoring_rate, selection_rate, sensitivity, specificity, within_tolerance"]


def test_verify_command(tmp_path):
    callbacks = _preds(tmp_path, "resume-audit-2004", lambda b: b.frame["received_callback"])
    res = run("run", "--profile", HIRING, "--predictions", callbacks, "--no-tracking", "--json",
              "--out", str(tmp_path / "out"))
    bundle = json.loads(res.stdout)["bundle"]
    ok = run("verify", bundle, "--no-tracking")
    assert ok.exit_code == 0 and ok.stdout.splitlines()[-1] == "verified"
    (Path(bundle) / "report.md").write_text("edited")
    bad = run("verify", bundle, "--no-tracking")
    assert bad.exit_code == 1
    assert "NOT VERIFIED: 1 problem(s)" in bad.stdout
    assert "report.md: SHA-256 " in bad.stdout
    missing = run("verify", str(tmp_path), "--no-tracking")
    assert missing.exit_code == 3
    assert missing.stderr == f"error: {tmp_path}: not an evidence bundle (no manifest.json)\n"
