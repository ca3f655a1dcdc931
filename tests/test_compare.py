"""``oversight compare`` (and ``diff`` of run ids) on a temporary SQLite MLflow store."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from harness.benchmark import load_benchmark
from harness.cli import main
from harness.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]
HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"
SIGNER = "Seoul Testing Lab (ed25519:4f2a9c01)"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Three runs of the hiring profile, oldest first; the oldest's verdicts.json edited after logging."""
    root = tmp_path_factory.mktemp("compare")
    uri = f"sqlite:///{root}/mlflow.db"
    client = MlflowClient(tracking_uri=uri)
    client.create_experiment("hiring-aedt", artifact_location=str(root / "artifacts"))
    client.create_experiment("empty-profile", artifact_location=str(root / "artifacts-empty"))
    bench = load_benchmark("resume-audit-2004").subset("test")
    rng = np.random.default_rng(3)
    runs, bundles = [], []
    for i, share in enumerate((0.1, 0.3, 0.5)):
        path = root / f"p{i}.csv"
        pd.DataFrame({"id": bench.ids, "decision": (rng.random(len(bench.ids)) < share).astype(int)}).to_csv(path)
        result = evaluate(HIRING, predictions=path, out=root / "out", tracking_uri=uri,
                          as_of=dt.date(2026, 3, 1 + i))
        runs.append(result.run_id)
        bundles.append(result.bundle)
    client.set_tag(runs[1], "oversight.signer", SIGNER)
    local = Path(client.get_run(runs[0]).info.artifact_uri.removeprefix("file://")) / "evidence" / "verdicts.json"
    local.write_text(local.read_text(encoding="utf-8").replace('"pass"', '"fail"'), encoding="utf-8")
    return {"uri": uri, "root": root, "runs": runs, "bundles": bundles}


def test_table_lists_runs_newest_first_with_signer(store):
    res = run("compare", "--profile", "hiring-aedt", "--tracking-uri", store["uri"])
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[0] == f"profile hiring-aedt: 3 run(s) at {store['uri']}, newest first"
    run_lines = [line for line in lines if line[:12] in {r[:12] for r in store["runs"]}]
    assert [line[:12] for line in run_lines] == [r[:12] for r in reversed(store["runs"])]
    assert SIGNER in run_lines[1] and "unsigned" in run_lines[0] and "unsigned" in run_lines[2]
    assert "2026-03-03" in run_lines[0]
    assert "  H3-race      impact_ratio    pass (2/2 groups)" in res.output


def test_json_matches_each_bundle(store):
    res = run("compare", "--profile", "hiring-aedt", "--tracking-uri", store["uri"], "--format", "json")
    assert res.exit_code == 0
    data = json.loads(res.output)
    assert data["tracking_uri"] == store["uri"] and data["truncated"] is False
    by_id = {r["run_id"]: r for r in data["runs"]}
    for run_id, bundle in zip(store["runs"][1:], store["bundles"][1:]):  # the two unaltered runs
        got = by_id[run_id]
        assert got["evidence"] == "ok" and got["profile_version"] == "1"
        verdicts = json.loads((bundle / "verdicts.json").read_text(encoding="utf-8"))
        measurements = json.loads((bundle / "measurements.json").read_text(encoding="utf-8"))
        flat = [(r["id"], g["group"], g["status"], g["value"], g["ci_low"], g["ci_high"])
                for r in got["requirements"] for g in r["groups"]]
        assert flat == [(v["requirement"], v["group"], v["status"], m["value"], m["ci_low"], m["ci_high"])
                        for v, m in zip(verdicts, measurements)]
    impact = next(r for r in by_id[store["runs"][2]]["requirements"] if r["id"] == "H3-sex-race")
    worst = min((g for g in impact["groups"] if g["value"] is not None), key=lambda g: g["value"])
    assert impact["key"] == worst  # all pass: the lowest impact ratio is the key measurement


def test_an_artifact_edited_after_logging_is_named(store):
    data = json.loads(run("compare", "--profile", "hiring-aedt", "--tracking-uri", store["uri"],
                          "--format", "json").output)
    oldest = next(r for r in data["runs"] if r["run_id"] == store["runs"][0])
    assert oldest["evidence"] == "ALTERED: verdicts.json differs from the manifest"


def test_csv_has_one_row_per_group(store):
    res = run("compare", "--profile", "hiring-aedt", "--tracking-uri", store["uri"], "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.output)))
    per_run = len(json.loads((store["bundles"][0] / "verdicts.json").read_text(encoding="utf-8")))
    assert res.exit_code == 0 and len(rows) == 3 * per_run
    assert rows[0]["run_id"] == store["runs"][2] and rows[0]["signer"] == "unsigned"
    assert {r["signer"] for r in rows if r["run_id"] == store["runs"][1]} == {SIGNER}


def test_markdown_and_max_runs(store):
    res = run("compare", "--profile", "hiring-aedt", "--tracking-uri", store["uri"], "--format", "markdown",
              "--max-runs", "1")
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[0] == f"**profile hiring-aedt: 1 run(s) at {store['uri']}, newest first (the newest 1; more exist)**"
    assert lines[2].startswith("| run | started | model | version | as of | signer | verdict | evidence | requirement")
    assert lines[4].startswith(f"| {store['runs'][2][:12]} |")


def test_unknown_profile_and_empty_experiment(store):
    res = run("compare", "--profile", "no-such-profile", "--tracking-uri", store["uri"])
    assert (res.exit_code, res.output) == (
        2, f"error: profile 'no-such-profile': no MLflow experiment of that name at {store['uri']}\n")
    res = run("compare", "--profile", "empty-profile", "--tracking-uri", store["uri"])
    assert (res.exit_code, res.output) == (
        2, f"error: profile 'empty-profile': the MLflow experiment at {store['uri']} has no runs\n")


def test_a_store_that_does_not_exist_is_not_created(tmp_path):
    path = tmp_path / "typo.db"
    res = run("compare", "--profile", "hiring-aedt", "--tracking-uri", f"sqlite:///{path}")
    assert (res.exit_code, res.output) == (3, f"error: MLflow store sqlite:///{path}: the SQLite file {path} does not "
                                              "exist; nothing was created (check --tracking-uri or MLFLOW_TRACKING_URI)\n")
    assert not path.exists()
    res = run("diff", "0" * 32, "1" * 32, "--tracking-uri", f"sqlite:///{path}")
    assert res.exit_code == 3 and not path.exists()


def test_a_file_store_that_does_not_exist(tmp_path):
    res = run("compare", "--profile", "hiring-aedt", "--tracking-uri", f"file://{tmp_path}/mlruns")
    assert (res.exit_code, res.output) == (
        3, f"error: MLflow store file://{tmp_path}/mlruns: the folder {tmp_path}/mlruns does not exist; nothing was "
           "created (check --tracking-uri or MLFLOW_TRACKING_URI)\n")
    assert not (tmp_path / "mlruns").exists()


def test_unreachable_server_is_a_run_failure(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    res = run("compare", "--profile", "hiring-aedt", "--tracking-uri", "http://127.0.0.1:9")
    assert res.exit_code == 3
    assert res.output.startswith("error: cannot search MLflow at http://127.0.0.1:9: ")
    res = run("diff", "0" * 32, "1" * 32, "--tracking-uri", "http://127.0.0.1:9")
    assert res.exit_code == 3
    assert res.output.startswith(f"error: cannot read the evidence of MLflow run {'0' * 32} at http://127.0.0.1:9: ")


def test_a_run_whose_evidence_is_missing_is_shown_unreadable(store):
    client = MlflowClient(tracking_uri=store["uri"])
    folder = Path(client.get_run(store["runs"][2]).info.artifact_uri.removeprefix("file://")) / "evidence"
    (folder / "measurements.json").rename(folder / "moved.json")
    try:
        res = run("compare", "--profile", "hiring-aedt", "--tracking-uri", store["uri"], "--format", "json")
    finally:
        (folder / "moved.json").rename(folder / "measurements.json")
    newest = json.loads(res.output)["runs"][0]
    assert res.exit_code == 0 and newest["requirements"] == []
    assert newest["evidence"].startswith(f"unreadable: cannot read the evidence of MLflow run {store['runs'][2]} "
                                         f"at {store['uri']}: ")


def test_diff_of_run_ids_equals_diff_of_their_bundles(store):
    a, b = store["runs"][1], store["runs"][2]
    runs = json.loads(run("diff", a, b, "--tracking-uri", store["uri"], "--format", "json").output)
    folders = json.loads(run("diff", str(store["bundles"][1]), str(store["bundles"][2]), "--format", "json").output)
    assert runs["a"]["source"] == a and runs["rows"] == folders["rows"]


def test_diff_of_an_unknown_or_edited_run(store):
    missing = "0123456789abcdef0123456789abcdef"
    res = run("diff", missing, store["runs"][1], "--tracking-uri", store["uri"])
    assert (res.exit_code, res.output) == (2, f"error: run {missing}: no such MLflow run at {store['uri']}\n")
    res = run("diff", store["runs"][0], store["runs"][1], "--tracking-uri", store["uri"])
    assert res.exit_code == 3
    assert res.output.startswith(f"error: {store['runs'][0]}: the bundle does not match its manifest: "
                                 "verdicts.json: SHA-256 ")


def test_diff_of_a_run_whose_manifest_differs_from_its_tag(store):
    client = MlflowClient(tracking_uri=store["uri"])
    manifest = Path(client.get_run(store["runs"][1]).info.artifact_uri.removeprefix("file://")) / "evidence" / \
        "manifest.json"
    original = manifest.read_bytes()
    try:
        manifest.write_bytes(original.replace(b'"seed"', b'"seed" ', 1))
        res = run("diff", store["runs"][1], store["runs"][2], "--tracking-uri", store["uri"])
        tag = client.get_run(store["runs"][1]).data.tags["oversight.manifest_sha256"]
    finally:
        manifest.write_bytes(original)
    assert (res.exit_code, res.output) == (3, f"error: run {store['runs'][1]}: evidence/manifest.json differs from "
                                              f"the run's oversight.manifest_sha256 tag {tag!r}\n")
