"""Runs that crash, collide or are killed leave a complete bundle or nothing that claims to be one."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pandas as pd
import psutil
import pytest
from mlflow.tracking import MlflowClient

import harness
from harness.errors import EvidenceError
from harness.evidence.bundle import sha256_file, write_bundle
from harness.evidence.naming import OWNER_FILE, bundle_name, make_partial, owner, sweep_leftovers
from harness.evidence.store import ensure_sqlite
from harness.evidence.sync import sync
from harness.evidence.tracking import create_sqlite_store, sweep_store

from conftest import HIRING, start_run


def _dead_owner() -> dict:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    record = {"host": socket.gethostname(), "pid": proc.pid, "started": psutil.Process(proc.pid).create_time()}
    proc.kill()
    proc.wait()
    return record


def test_bundle_names_are_unique_without_the_clock():
    names = {bundle_name("hiring-aedt", "1", "2026-12-01T08:00:00+00:00", "bfdfa89e0123") for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"hiring-aedt-v1-20261201T080000Z-bfdfa89e-[0-9a-f]{6}", n) for n in names)


def test_a_temporary_folder_is_never_reused(tmp_path):
    make_partial(tmp_path, "x")
    with pytest.raises(FileExistsError):
        make_partial(tmp_path, "x")


def _write(out: Path, render: Callable[[], tuple[str, str]]):
    frame = pd.DataFrame({"requirement": ["R1"], "value": [0.5]})
    summary = {"created_at": "2026-12-01T08:00:00+00:00", "policy": {"as_of": "2026-12-01"}, "seed": 1}
    return write_bundle(out, "b", profile_text="id: x\n", predictions=pd.DataFrame({"id": [1], "decision": [1]}),
                        measurements=frame, verdicts=frame, summary=summary, inputs={}, render=render)


@pytest.mark.parametrize("error", [RuntimeError("boom"), ValueError("Out of range float values are not JSON "
                                                                    "compliant: inf")])
def test_the_writer_removes_its_folder_on_any_exception(tmp_path, error):
    def render():
        raise error

    with pytest.raises(EvidenceError) as caught:
        _write(tmp_path, render)
    assert str(caught.value) == (f"{tmp_path / 'b'}: could not write the evidence bundle: "
                                 f"{type(error).__name__}: {error}")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_while_writing_leaves_nothing(tmp_path):
    def render():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, render)
    assert list(tmp_path.iterdir()) == []


def test_a_bundle_does_not_carry_its_owner_record(tmp_path):
    bundle = _write(tmp_path, lambda: ("<html/>", "# r\n"))
    assert not (bundle.path / OWNER_FILE).exists()
    assert bundle.manifest["bundle"] == "b"


def test_an_infinite_threshold_leaves_no_partial_folder(tmp_path, callbacks_csv):
    from click.testing import CliRunner

    from harness.cli import main

    profile = tmp_path / "inf.yaml"
    profile.write_text(HIRING.read_text().replace("min: 0.80}", "min: .inf}"))
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["run", "--profile", str(profile), "--predictions", str(callbacks_csv),
                                    "--out", str(out), "--no-tracking"])
    assert res.exit_code == 2  # refused when the profile is read, before anything is written
    assert f"{profile}:61: requirements[3].threshold.min: Input should be a finite number, found inf" in res.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_leftovers_are_removed_only_when_their_owner_is_gone(tmp_path, callbacks_csv):
    dead, alive = _dead_owner(), owner()
    elsewhere = {**dead, "host": "another-host"}
    folders = {}
    for label, record in (("dead", dead), ("alive", alive), ("elsewhere", elsewhere), ("scratch-dead", dead)):
        folders[label] = tmp_path / f".{label}.partial"
        folders[label].mkdir()
        (folders[label] / OWNER_FILE).write_text(json.dumps(record))
    for label, age in (("young-orphan", 0), ("old-orphan", 3600)):
        folders[label] = tmp_path / f".{label}.partial"
        folders[label].mkdir()
        os.utime(folders[label], (time.time() - age, time.time() - age))
    result = harness.evaluate(HIRING, predictions=callbacks_csv, out=tmp_path, tracking=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".alive.partial", ".elsewhere.partial", ".young-orphan.partial", result.bundle.name])
    assert sweep_leftovers(tmp_path) == []


def _store_with_runs(tmp_path: Path) -> tuple[str, dict[str, str]]:
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    ensure_sqlite(tmp_path / "store" / "mlflow.db", create=create_sqlite_store)
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("hiring-aedt", artifact_location=str(tmp_path / "artifacts"))
    runs = {}
    for label, record in (("dead", _dead_owner()), ("alive", owner()), ("foreign", None)):
        tags = {} if record is None else {"oversight.host": record["host"], "oversight.pid": str(record["pid"]),
                                          "oversight.pid_started": repr(record["started"])}
        runs[label] = client.create_run(exp, tags=tags).info.run_id
    return uri, runs


def test_runs_left_running_by_dead_processes_are_marked_failed(tmp_path, callbacks_csv):
    uri, runs = _store_with_runs(tmp_path)
    assert sweep_store(uri) == [runs["dead"]]
    client = MlflowClient(tracking_uri=uri)
    status = {label: client.get_run(rid).info.status for label, rid in runs.items()}
    assert status == {"dead": "FAILED", "alive": "RUNNING", "foreign": "RUNNING"}
    assert client.get_run(runs["dead"]).data.tags["oversight.failure"] == (
        "the process that logged this run died before the run was complete")


def test_the_next_run_marks_dead_runs_failed(tmp_path, callbacks_csv, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a SQLite store's artifacts go to ./mlruns
    uri, runs = _store_with_runs(tmp_path)
    result = harness.evaluate(HIRING, predictions=callbacks_csv, out=tmp_path / "out", tracking_uri=uri)
    client = MlflowClient(tracking_uri=uri)
    assert client.get_run(result.run_id).info.status == "FINISHED"
    assert client.get_run(runs["dead"]).info.status == "FAILED"
    assert client.get_run(runs["alive"]).info.status == "RUNNING"


def test_a_killed_store_creation_leaves_a_usable_store(tmp_path):
    db = tmp_path / "mlflow.db"
    (tmp_path / ".mlflow.db.init-999-abcd").write_bytes(b"half a database")  # a creator killed midway
    (tmp_path / "mlflow.db.lock").write_text("")
    ensure_sqlite(db, create=create_sqlite_store)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db", "mlflow.db.lock"]
    assert MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()[0].name == "Default"


# --- SIGKILL at every stage of a run ---------------------------------------------

def _any(folder: Path, pattern: str) -> bool:
    try:
        return any(folder.glob(pattern))
    except OSError:
        return False


def _after(predicate: Callable[[Path], bool], delay: float) -> Callable[[Path], bool]:
    seen: list[float] = []

    def check(root: Path) -> bool:
        if not seen and predicate(root):
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= delay
    return check


def _started(root: Path) -> bool:
    return True


# Each stage is a condition on the run's folder (out/, store/, mlruns/ beside them): the
# process is killed as soon as it holds.
STAGES: dict[str, Callable[[Path], bool]] = {
    "importing": _after(_started, 0.3),
    "scratch folder made": lambda r: _any(r / "out", ".scratch-*.partial"),
    "bundle half written": lambda r: _any(r / "out", ".hiring-*.partial/*.csv"),
    "pending marker written": lambda r: _any(r / "out", ".oversight/pending/*.json"),
    "bundle in place": lambda r: _any(r / "out", "hiring-*"),
    "store lock taken": lambda r: _any(r / "store", "mlflow.db.lock"),
    "store half migrated": _after(lambda r: _any(r / "store", ".mlflow.db.init-*"), 0.3),
    "store created": lambda r: _any(r / "store", "mlflow.db"),
    "artifacts uploading": lambda r: _any(r / "mlruns", "*/*/artifacts/evidence/*"),
}


def _claims_to_be_a_bundle_without_being_one(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if ".partial" not in p.name and p.name != ".oversight"
            and not (p / "manifest.json").is_file()] if out.exists() else []


def test_sigkill_at_every_stage_leaves_a_whole_bundle_or_none(tmp_path, callbacks_csv, monkeypatch):
    procs = {}
    for i, stage in enumerate(STAGES):
        root = tmp_path / f"k{i}"
        root.mkdir()
        procs[stage] = (root, start_run("--predictions", str(callbacks_csv), "--out", str(root / "out"),
                                        "--tracking-uri", f"sqlite:///{root}/store/mlflow.db", cwd=root))
    pending, deadline = dict(procs), time.monotonic() + 600
    outcome = {}
    while pending and time.monotonic() < deadline:
        for stage, (root, proc) in list(pending.items()):
            if proc.poll() is not None:
                outcome[stage] = f"finished first (exit {proc.returncode})"
            elif STAGES[stage](root):
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                outcome[stage] = "killed"
            else:
                continue
            proc.communicate()
            del pending[stage]
        time.sleep(0.005)
    assert not pending
    assert sum(v == "killed" for v in outcome.values()) >= len(STAGES) - 2, outcome

    for stage, (root, _) in procs.items():
        out, uri = root / "out", f"sqlite:///{root}/store/mlflow.db"
        monkeypatch.chdir(root)  # where the killed run would have put the store's artifacts
        assert _claims_to_be_a_bundle_without_being_one(out) == [], stage
        results = sync(out) if out.exists() else []
        assert all(r.status in ("logged", "never_completed") for r in results), (stage, results)
        bundles = [p for p in out.iterdir() if not p.name.startswith(".")] if out.exists() else []
        assert not [p for p in out.glob(".*.partial") if (p / OWNER_FILE).exists()], stage
        assert not list(out.glob(".oversight/pending/*.json")), stage
        for bundle in bundles:
            client = MlflowClient(tracking_uri=uri)
            runs = client.search_runs([client.get_experiment_by_name("hiring-aedt").experiment_id],
                                      f"tags.`oversight.manifest_sha256` = '{sha256_file(bundle / 'manifest.json')}'")
            assert [r.info.status for r in runs if r.info.status != "FAILED"] == ["FINISHED"], (stage, runs)
            report = harness.verify_bundle(bundle, tracking_uri=uri)
            assert report["ok"], (stage, report["problems"])
        if (root / "store" / "mlflow.db").exists():
            client = MlflowClient(tracking_uri=uri)
            assert not client.search_runs([e.experiment_id for e in client.search_experiments()],
                                          "attributes.status = 'RUNNING'"), stage
