"""A real tracking server: outages leave bundles pending for sync, and sixteen runs at once lose nothing."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import harness
from harness.cli import main
from harness.evidence.bundle import sha256_file

from conftest import HIRING, free_port, start_run

CONCURRENT = 16


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _runs_of(uri: str, bundle: Path) -> list:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("hiring-aedt")
    digest = sha256_file(bundle / "manifest.json")
    return client.search_runs([exp.experiment_id], f"tags.`oversight.manifest_sha256` = '{digest}'")


def test_outage_leaves_the_bundle_pending_and_sync_logs_it_once(mlflow_server, callbacks_csv, tmp_path):
    out = tmp_path / "out"
    down = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    res = cli("run", "--profile", str(HIRING), "--predictions", str(callbacks_csv), "--out", str(out),
              "--tracking-uri", down, "--quiet")
    assert time.monotonic() - started < 30  # was 254 s of retries, then exit 3
    assert res.exit_code == 1
    assert "verdict: NON-COMPLIANT" in res.stdout
    (bundle,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    marker = out / ".oversight" / "pending" / f"{bundle.name}.json"
    port = down.rsplit(":", 1)[1]
    assert res.stderr.splitlines() == [
        f"warning: MLflow at {down} is not reachable: cannot connect to 127.0.0.1:{port} within 5 s "
        f"(Connection refused); the evidence bundle is complete at {bundle}",
        f"warning: the evidence bundle is pending (marker {marker}); log it to MLflow later with: "
        f"oversight sync --out {out} --tracking-uri {down}",
    ]
    record = json.loads(marker.read_text())
    assert (record["bundle"], record["tracking_uri"]) == (str(bundle.resolve()), down)
    assert record["error"].startswith(f"MLflow at {down} is not reachable")
    saved = marker.read_text()

    still_down = cli("sync", "--out", str(out))
    assert still_down.exit_code == 3
    assert still_down.stdout.splitlines()[-1] == f"1 pending bundle(s) in {out}, 1 not logged"
    assert still_down.stdout.startswith(f"FAILED: {bundle.resolve()}: MLflow at {down} is not reachable")
    assert marker.exists()

    first = cli("sync", "--out", str(out), "--tracking-uri", mlflow_server)
    (run,) = _runs_of(mlflow_server, bundle)
    assert first.exit_code == 0, first.output
    assert first.stdout == (f"logged: {bundle.resolve()}: MLflow run {run.info.run_id} at {mlflow_server}\n"
                            f"1 pending bundle(s) in {out}, 0 not logged\n")
    assert run.info.status == "FINISHED"
    assert not marker.exists()
    again = cli("sync", "--out", str(out), "--tracking-uri", mlflow_server)
    assert (again.exit_code, again.stdout) == (0, f"no pending bundles in {out}\n")
    marker.write_text(saved)  # a marker back from a backup: still no second run
    replay = cli("sync", "--out", str(out), "--tracking-uri", mlflow_server)
    assert replay.exit_code == 0 and f"MLflow run {run.info.run_id} at" in replay.stdout
    assert [r.info.run_id for r in _runs_of(mlflow_server, bundle)] == [run.info.run_id]

    report = harness.verify_bundle(bundle, tracking_uri=mlflow_server)
    assert report["ok"], report["problems"]
    assert (f"MLflow: run {run.info.run_id} compared with the bundle (every tag, param, metric and artifact the "
            "harness logs)") in report["checks"]


def test_a_server_that_never_answers_is_waited_for_a_bounded_time(callbacks_csv, tmp_path):
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        result = harness.evaluate(HIRING, predictions=callbacks_csv, out=tmp_path, tracking_uri=uri,
                                  tracking_timeout=1)
        waited = time.monotonic() - started
    assert waited < 20
    assert result.run_id is None and result.verdict == "non_compliant"
    assert result.tracking_error.startswith(f"MLflow at {uri} could not log the run: MlflowException: ")
    assert "Read timed out. (read timeout=1)" in result.tracking_error
    assert result.pending == tmp_path / ".oversight" / "pending" / f"{result.bundle.name}.json"


def _run_many(tmp_path: Path, callbacks_csv: Path, uri: str) -> list[dict]:
    out = tmp_path / "out"
    procs = [start_run("--predictions", str(callbacks_csv), "--out", str(out), "--tracking-uri", uri, "--json",
                       "--quiet", cwd=tmp_path) for _ in range(CONCURRENT)]
    docs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 1, stderr
        assert stderr == ""
        docs.append(json.loads(stdout))
    assert sorted(p.name for p in out.iterdir()) == sorted({Path(d["bundle"]).name for d in docs} | {".oversight"})
    assert not list((out / ".oversight" / "pending").iterdir())
    return docs


def _all_verify(docs: list[dict], uri: str) -> None:
    assert len({d["run_id"] for d in docs}) == CONCURRENT
    for doc in docs:
        (run,) = _runs_of(uri, Path(doc["bundle"]))
        assert (run.info.run_id, run.info.status) == (doc["run_id"], "FINISHED")
        report = harness.verify_bundle(Path(doc["bundle"]), tracking_uri=uri)
        assert report["ok"], report["problems"]


def test_sixteen_concurrent_runs_into_one_out_and_one_server(mlflow_server, callbacks_csv, tmp_path):
    _all_verify(_run_many(tmp_path, callbacks_csv, mlflow_server), mlflow_server)


def test_sixteen_concurrent_first_uses_of_a_fresh_sqlite_store(callbacks_csv, tmp_path):
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    _all_verify(_run_many(tmp_path, callbacks_csv, uri), uri)
