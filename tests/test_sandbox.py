"""Vendor models run in a sandboxed child process: hostile models cannot decide the outcome.

Each hostile model (tests/models/) is pickled by value and run through the CLI with
``--trust-model``; every test asserts the exit code and the message, and that no process
is left behind. Tests that need bubblewrap skip, saying why, only where it cannot run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import cloudpickle
import numpy as np
import psutil
import pytest
import skops.io
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

import harness
from harness.cli import main
from harness.errors import ModelError
from harness.plan import make_plan
from harness.predictors import load_model, predict
from harness.profile import load_profile
from harness.sandbox import Limits, bwrap_problem
from tests.models import hostile

ROOT = Path(__file__).resolve().parents[1]
HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"
BENCH = ROOT / "benchmarks/resume-audit-2004"
AS_OF = "2026-03-01"
WHY = bwrap_problem()
needs_bwrap = pytest.mark.skipif(bool(WHY), reason=f"bubblewrap cannot run here: {WHY}")


@pytest.fixture(scope="session")
def rows() -> int:
    """How many rows the hiring profile's split gives the model."""
    return len(make_plan(load_profile(HIRING)).benchmark.ids)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    cloudpickle.register_pickle_by_value(hostile)
    try:
        for name in ("Zeros", "Exits", "HardExits", "ClosesStdout", "Prints", "Sleeps", "IgnoresTerm", "Spins",
                     "Forks", "Allocates", "NaNScores", "WrongShape", "Strings"):
            (folder / f"{name}.pkl").write_bytes(cloudpickle.dumps(getattr(hostile, name)()))
        snoop = hostile.Snoops([str(BENCH), str(BENCH / "resume.csv.gz"), str(ROOT), str(ROOT / "harness")])
        (folder / "Snoops.pkl").write_bytes(cloudpickle.dumps(snoop))
    finally:
        cloudpickle.unregister_pickle_by_value(hostile)
    return folder


def _left_behind() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        line = " ".join(process.info["cmdline"] or [])
        if hostile.MARK in line or "oversight/child.py" in line or "sandbox/child.py" in line:
            found.append(process)
    return found


@pytest.fixture(autouse=True)
def no_process_left() -> None:
    yield
    deadline = time.monotonic() + 5
    while _left_behind() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _left_behind()
    for process in left:
        process.kill()
    assert not left, f"processes left behind: {[p.info['cmdline'] for p in left]}"


def _run(models: Path, name: str, tmp_path: Path, *extra: str) -> object:
    args = ["run", "--profile", str(HIRING), "--model", str(models / f"{name}.pkl"), "--trust-model",
            "--no-tracking", "--json", "--out", str(tmp_path / "out"), "--as-of", AS_OF, *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _who(models: Path, name: str) -> str:
    return f"model pickle {models / f'{name}.pkl'}"


def _honest(tmp_path: Path) -> str:
    """The verdict of the all-zero model, run as the caller's own object."""
    return harness.evaluate(HIRING, model=hostile.Zeros(), tracking=False, out=tmp_path / "honest",
                            as_of=dt_of(AS_OF)).verdict


def dt_of(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


EXITED = ("the model process exited with code 0 while predicting {n:,} rows, without answering; "
          "a model's exit is an error of the run, never a verdict")


@needs_bwrap
@pytest.mark.parametrize("name", ["Exits", "HardExits"])
def test_a_model_that_exits_is_a_run_error(models: Path, tmp_path: Path, rows: int, name: str) -> None:
    res = _run(models, name, tmp_path)
    assert res.exit_code == 3
    assert res.stdout == ""
    assert res.stderr == f"error: {_who(models, name)}: {EXITED.format(n=rows)}\n"
    assert not (tmp_path / "out").exists() or not any(p.name.startswith("hiring") for p in (tmp_path / "out").iterdir())


@needs_bwrap
def test_stdout_of_the_model_never_reaches_ours(models: Path, tmp_path: Path) -> None:
    honest = _honest(tmp_path)
    res = _run(models, "Prints", tmp_path)
    doc = json.loads(res.stdout)  # one JSON object, the harness's own
    assert doc["verdict"] == honest != "compliant" and "forged" not in doc
    assert res.exit_code == {"non_compliant": 1, "inconclusive": 4}[honest]
    assert res.stderr == ""
    bundle = Path(doc["bundle"])
    log = (bundle / "model.log").read_text()
    assert '{"verdict": "compliant"}\n{"verdict": "compliant", "forged": true}\n' in log and "a note on stderr" in log
    sandbox = json.loads((bundle / "summary.json").read_text())["model"]["sandbox"]
    assert sandbox["isolation"] == "bubblewrap" and sandbox["trust_model"] is True
    assert sandbox["exit"] == "exited with code 0"
    assert sandbox["limits"] == Limits().record()
    assert ("| Isolation | bubblewrap; model trusted by the vendor (--trust-model); model process exited with code 0 |"
            in (bundle / "report.md").read_text())


@needs_bwrap
def test_model_output_is_shown_with_debug(models: Path, tmp_path: Path) -> None:
    res = _run(models, "Prints", tmp_path, "--debug")
    assert res.stderr.startswith('--- model output (stdout and stderr) ---\n{"verdict": "compliant"}\n')
    assert json.loads(res.stdout)["verdict"] != "compliant"


@needs_bwrap
def test_a_model_that_closes_stdout_does_not_crash_the_run(models: Path, tmp_path: Path) -> None:
    res = _run(models, "ClosesStdout", tmp_path)
    assert res.exit_code in (1, 4) and json.loads(res.stdout)["verdict"] == _honest(tmp_path)


@needs_bwrap
@pytest.mark.parametrize("name", ["Sleeps", "IgnoresTerm"])
def test_a_model_over_the_wall_clock_limit_is_killed(models: Path, tmp_path: Path, rows: int, name: str) -> None:
    start = time.monotonic()
    res = _run(models, name, tmp_path, "--timeout", "3")
    assert time.monotonic() - start < 15
    assert res.exit_code == 3
    assert res.stderr == (f"error: {_who(models, name)} was killed while predicting {rows:,} rows: it ran over "
                          "the wall-clock timeout of 3 s (--timeout)\n")


@needs_bwrap
def test_a_model_over_the_cpu_limit_is_killed(models: Path, tmp_path: Path, rows: int) -> None:
    res = _run(models, "Spins", tmp_path, "--cpu-time", "1")
    assert res.exit_code == 3
    assert res.stderr == (f"error: {_who(models, 'Spins')}: the model process was killed by SIGXCPU: over the "
                          f"CPU-time limit of 1 s (--cpu-time) while predicting {rows:,} rows, without "
                          "answering; a model's exit is an error of the run, never a verdict\n")


@needs_bwrap
def test_a_model_over_the_memory_limit_fails_naming_the_limit(models: Path, tmp_path: Path, rows: int) -> None:
    res = _run(models, "Allocates", tmp_path)
    assert res.exit_code == 3
    assert res.stderr == (
        f"error: {_who(models, 'Allocates')} failed on {rows} rows: MemoryError: Unable to allocate 20.0 GiB for "
        "an array with shape (21474836480,) and data type uint8; it ran out of memory under the address-space "
        "limit of 8 GiB (--memory-limit) (rerun with --debug to see the model's output)\n")


@needs_bwrap
def test_processes_a_model_starts_die_with_the_run(models: Path, tmp_path: Path) -> None:
    res = _run(models, "Forks", tmp_path)
    assert res.exit_code in (1, 4), res.stderr
    assert _left_behind() == []  # the detached sleepers lived in the sandbox's PID namespace


@needs_bwrap
def test_the_benchmark_and_the_repository_are_invisible(models: Path, tmp_path: Path, rows: int) -> None:
    res = _run(models, "Snoops", tmp_path)
    assert res.exit_code == 3
    assert res.stderr == (f"error: {_who(models, 'Snoops')} failed on {rows} rows: RuntimeError: visible: [] "
                          "(rerun with --debug to see the model's output)\n")


@needs_bwrap
def test_the_model_has_no_network(models: Path, tmp_path: Path, rows: int) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.1)
        path = tmp_path / "Connects.pkl"
        cloudpickle.register_pickle_by_value(hostile)
        try:
            path.write_bytes(cloudpickle.dumps(hostile.Connects(server.getsockname()[1])))
        finally:
            cloudpickle.unregister_pickle_by_value(hostile)
        res = _run(tmp_path, "Connects", tmp_path)
        with pytest.raises(TimeoutError):
            server.accept()
    assert res.exit_code == 3
    assert res.stderr == (f"error: {_who(tmp_path, 'Connects')} failed on {rows} rows: RuntimeError: connect: "
                          "ConnectionRefusedError (rerun with --debug to see the model's output)\n")


@needs_bwrap
@pytest.mark.parametrize(("name", "message"), [
    ("NaNScores", "score is not a finite number on 1 of {n} rows, first at positions [3] (ids [{id3}]): "
                  "found [nan]; expected finite numbers"),
    ("WrongShape", "returned decisions of shape ({m},) for {n} input rows; expected one value per row, "
                   "shape ({n},)"),
    ("Strings", "decision is not 0/1 on {n} of {n} rows, first at positions [0, 1, 2, 3, 4] (ids {ids5}): "
                "found ['yes', 'no', 'yes', 'no', 'yes']; expected 0 or 1 (true/false and 0.0/1.0 are accepted)"),
])
def test_bad_outputs_are_invalid_predictions(models: Path, tmp_path: Path, rows: int, name: str,
                                             message: str) -> None:
    ids = make_plan(load_profile(HIRING)).benchmark.ids
    res = _run(models, name, tmp_path)
    assert res.exit_code == 2
    text = message.format(n=rows, m=rows - 1, id3=ids[3], ids5=ids[:5].tolist())
    sep = ": " if name != "WrongShape" else " "
    assert res.stderr == f"error: {_who(models, name)}{sep}{text}\n"


def test_pickles_are_refused_without_trust(models: Path, tmp_path: Path) -> None:
    args = ["run", "--profile", str(HIRING), "--model", str(models / "Zeros.pkl"), "--no-tracking",
            "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code == 3
    assert res.stderr == (f"error: model file {models / 'Zeros.pkl'} is a pickle, which runs arbitrary code when "
                          "loaded; save the model with skops (.skops) or, if you trust it, pass --trust-model\n")
