"""A run as an auditor meets it in the MLflow UI: read through the REST API the UI itself calls."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import HIRING, harness_env
from harness.cli import main
from harness.demo import ui_command
from harness.evidence.metric_names import parse_metric_key

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy


def _ui_api(server: str, endpoint: str, **query: str) -> dict:
    """GET one of the endpoints the MLflow UI's pages read (``/ajax-api/2.0/mlflow/...``)."""
    url = f"{server}/ajax-api/2.0/mlflow/{endpoint}?{urllib.parse.urlencode(query)}"
    with OPENER.open(url, timeout=30) as resp:
        return json.loads(resp.read())


def _run_cli(*args: str, env: dict[str, str] | None = None, stdout: int | None = subprocess.PIPE,
             close_stdout: bool = False) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "harness.cli", "run", "--profile", str(HIRING), "--as-of", "2026-06-01", *args]
    proc = subprocess.Popen(cmd, env=env or harness_env(), stdout=stdout, stderr=subprocess.PIPE)
    if close_stdout:
        proc.stdout.close()  # the reader (``| head -c0``) went away before the harness wrote
    return proc


@pytest.fixture(scope="module")
def logged(mlflow_server: str, callbacks_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``oversight run --json`` into the server, with MLflow asked to print its run links."""
    out = tmp_path_factory.mktemp("ui-run")
    env = harness_env(MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT="false")
    proc = _run_cli("--predictions", str(callbacks_csv), "--out", str(out), "--tracking-uri", mlflow_server,
                    "--json", env=env)
    stdout, stderr = proc.communicate(timeout=600)
    return {"code": proc.returncode, "stdout": stdout.decode(), "stderr": stderr.decode(), "out": out}


def test_json_stdout_is_one_object_even_when_mlflow_prints(logged):
    assert logged["code"] == 1, logged["stderr"]
    doc = json.loads(logged["stdout"])  # the whole of stdout: nothing before or after the object
    assert doc["verdict"] == "non_compliant" and doc["run_id"]


def test_the_run_page_names_the_verdict_and_describes_it(logged, mlflow_server):
    doc = json.loads(logged["stdout"])
    run = _ui_api(mlflow_server, "runs/get", run_id=doc["run_id"])["run"]
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    fingerprint = doc["model"]["fingerprint"]
    assert run["info"]["run_name"] == f"hiring-aedt v1 · non_compliant · {fingerprint[:12]}"
    note = tags["mlflow.note.content"]
    assert note.startswith("**NON COMPLIANT** against ")
    assert "Policy: **grace period** (advisory; sanctions start on " in note
    assert "| H3-race Impact ratio by race | impact_ratio | min 0.8 | point | yes | **flag** | " \
           "`H3-race.impact_ratio/…` |" in note
    assert f"(the bundle {doc['bundle']})" in note
    statuses = {k.removeprefix("oversight.requirement."): v for k, v in tags.items()
                if k.startswith("oversight.requirement.")}
    assert statuses == {r["id"]: r["status"] for r in doc["requirements"]}
    assert statuses["H3-race"] == "flag" and statuses["H1-race"] == "reported"


def test_thresholds_rules_and_metrics_are_filterable_by_requirement(logged, mlflow_server):
    doc = json.loads(logged["stdout"])
    run = _ui_api(mlflow_server, "runs/get", run_id=doc["run_id"])["run"]
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert (params["H3-race.metric"], params["H3-race.threshold"], params["H3-race.rule"],
            params["H3-race.blocking"]) == ("impact_ratio", "min 0.8", "point", "true")
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    black = next(g for r in doc["requirements"] if r["id"] == "H3-race" for g in r["groups"] if g["group"] == "black")
    assert metrics["H3-race.impact_ratio/black"] == pytest.approx(black["value"])
    assert metrics["detail/H3-race.impact_ratio.black.ci_low"] == pytest.approx(black["ci_low"])
    assert metrics["detail/H3-race.impact_ratio.black.n"] == black["n"]
    assert "H3-sex-race.impact_ratio/f_x_black" in metrics
    parsed = {parse_metric_key(k) for k in metrics} - {None}
    assert ("H3-sex-race", "impact_ratio", "f × black", "value") in parsed
    assert len(parsed) == len(metrics) - 1  # every name but blocking_failures reads back


def test_the_evidence_and_a_portable_dataset_are_on_the_run(logged, mlflow_server):
    doc = json.loads(logged["stdout"])
    listed = _ui_api(mlflow_server, "artifacts/list", run_id=doc["run_id"], path="evidence")
    names = {Path(f["path"]).name for f in listed["files"]}
    assert {"report.html", "manifest.json", "predictions.parquet", "summary.json"} <= names
    bundle = Path(doc["bundle"])
    url = (f"{mlflow_server}/get-artifact?"
           f"{urllib.parse.urlencode({'run_id': doc['run_id'], 'path': 'evidence/manifest.json'})}")
    with OPENER.open(url, timeout=30) as resp:
        assert hashlib.sha256(resp.read()).hexdigest() == hashlib.sha256(
            (bundle / "manifest.json").read_bytes()).hexdigest()
    run = _ui_api(mlflow_server, "runs/get", run_id=doc["run_id"])["run"]
    (dataset,) = run["inputs"]["dataset_inputs"]
    source = json.loads(dataset["dataset"]["source"])
    assert source == {"tags": {"oversight.benchmark": "resume-audit-2004", "oversight.benchmark_version": "1",
                               "oversight.sha256": doc["benchmark"]["sha256"]}}


def test_a_broken_pipe_ends_quietly_with_the_verdicts_code(mlflow_server, callbacks_csv, tmp_path):
    proc = _run_cli("--predictions", str(callbacks_csv), "--out", str(tmp_path), "--tracking-uri", mlflow_server,
                    "--json", close_stdout=True)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 1, stderr
    lines = stderr.decode().splitlines()  # the progress lines, and nothing about the pipe
    assert lines and all(re.match(r"\d\d:\d\d:\d\d \[ *\d+\.\ds\] ", line) for line in lines), lines
    assert "BrokenPipe" not in stderr.decode() and "error" not in stderr.decode().lower()


def test_the_demo_says_how_to_open_the_runs_of_the_store_it_used(mlflow_server, tmp_path, monkeypatch):
    import harness.demo

    monkeypatch.setattr(harness.demo, "run_demo", lambda **_kw: [])
    res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--tracking-uri", mlflow_server])
    assert res.exit_code == 0, res.output
    assert f"Open them: open {mlflow_server} in a browser (the tracking server's own UI" in res.output
    assert "--backend-store-uri" not in res.output  # `mlflow ui` cannot open a server's URL
    monkeypatch.chdir(tmp_path)
    assert ui_command("sqlite:///mlflow.db") == (
        f"mlflow ui --backend-store-uri sqlite:///{tmp_path.resolve()}/mlflow.db  then browse "
        "http://127.0.0.1:5000 (one experiment per profile)")
    assert ui_command(f"file://{tmp_path}/mlruns").startswith(f"mlflow ui --backend-store-uri file://{tmp_path}/mlruns ")
