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
from harness.sandbox import Limits, Options, bwrap_problem
from models import hostile  # tests/models: pytest puts this folder on sys.path

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
                     "Forks", "Allocates", "NaNScores", "WrongShape", "Strings", "Forges", "Links"):
            (folder / f"{name}.pkl").write_bytes(cloudpickle.dumps(getattr(hostile, name)()))
        snoop = hostile.Snoops([str(BENCH), str(BENCH / "resume.csv.gz"), str(ROOT / "README.md"),
                                 str(ROOT / "sector_profiles"), str(ROOT / "harness")])
        (folder / "Snoops.pkl").write_bytes(cloudpickle.dumps(snoop))
    finally:
        cloudpickle.unregister_pickle_by_value(hostile)
    return folder


def _left_behind() -> list[psutil.Process]:
    """This session's leftovers only: its detached sleepers, and model processes that are its
    descendants or orphans (another test session's live sandboxes are not ours to judge or kill)."""
    mine = {child.pid for child in psutil.Process().children(recursive=True)}
    found = []
    for process in psutil.process_iter(["cmdline", "ppid"]):
        line = " ".join(process.info["cmdline"] or [])
        model = "oversight/child.py" in line or "sandbox/child.py" in line
        if hostile.MARK in line or (model and (process.pid in mine or process.info["ppid"] == 1)):
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
            "--no-tracking", "--json", "--quiet", "--out", str(tmp_path / "out"), "--as-of", AS_OF, *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def _who(models: Path, name: str) -> str:
    return f"model pickle {models / f'{name}.pkl'}"


@pytest.fixture(scope="session")
def honest(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The verdict of the all-zero model, run as the caller's own object."""
    return harness.evaluate(HIRING, model=hostile.Zeros(), tracking=False, out=tmp_path_factory.mktemp("honest"),
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
def test_stdout_of_the_model_never_reaches_ours(models: Path, tmp_path: Path, honest: str) -> None:
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
    assert ("| Isolation | bubblewrap; --trust-model given; model process exited with code 0 |"
            in (bundle / "report.md").read_text())


@needs_bwrap
def test_model_output_is_shown_with_debug(models: Path, tmp_path: Path) -> None:
    res = _run(models, "Prints", tmp_path, "--debug")
    assert res.stderr.startswith('--- model output (stdout and stderr) ---\n{"verdict": "compliant"}\n')
    assert json.loads(res.stdout)["verdict"] != "compliant"


@needs_bwrap
def test_a_model_that_closes_stdout_does_not_crash_the_run(models: Path, tmp_path: Path, honest: str) -> None:
    res = _run(models, "ClosesStdout", tmp_path)
    assert res.exit_code in (1, 4) and json.loads(res.stdout)["verdict"] == honest


@needs_bwrap
@pytest.mark.parametrize("name", ["Sleeps", "IgnoresTerm"])
def test_a_model_over_the_wall_clock_limit_is_killed(models: Path, tmp_path: Path, rows: int, name: str) -> None:
    start = time.monotonic()
    res = _run(models, name, tmp_path, "--timeout", "4")
    assert time.monotonic() - start < 60  # killed at 4 s, not after the model's hour
    assert res.exit_code == 3
    assert res.stderr == (f"error: {_who(models, name)} was killed while predicting {rows:,} rows: it ran over "
                          "the wall-clock timeout of 4 s (--timeout)\n")


@needs_bwrap
def test_a_model_over_the_cpu_limit_is_killed(models: Path, tmp_path: Path, rows: int) -> None:
    res = _run(models, "Spins", tmp_path, "--cpu-time", "2")
    assert res.exit_code == 3
    assert res.stderr == (f"error: {_who(models, 'Spins')}: the model process was killed by SIGXCPU: over the "
                          f"CPU-time limit of 2 s (--cpu-time) while predicting {rows:,} rows, without "
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
    assert res.stderr == (f"error: {_who(models, 'Snoops')} failed on {rows} rows: RuntimeError: visible: []; writable: [] "
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


@needs_bwrap
@pytest.mark.parametrize(("name", "problem"), [
    ("Forges", "the model process answered {'n': 99, 'ok': True, 'outputs': {'predicted': {'file': "
               "'out-99-predicted.npy'}}} to request 1; expected the names of its output files for that request"),
    ("Links", "cannot open its output out-1-predicted.npy: Too many levels of symbolic links"),
])
def test_forged_answers_are_refused(models: Path, tmp_path: Path, name: str, problem: str) -> None:
    res = _run(models, name, tmp_path)
    assert res.exit_code == 3
    assert res.stderr == f"error: {_who(models, name)}: {problem}\n"


def test_pickles_are_refused_without_trust(models: Path, tmp_path: Path) -> None:
    args = ["run", "--profile", str(HIRING), "--model", str(models / "Zeros.pkl"), "--no-tracking", "--quiet",
            "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code == 3
    assert res.stderr == (f"error: model file {models / 'Zeros.pkl'} is a pickle, which runs arbitrary code when "
                          "loaded; save the model with skops (.skops) or, if you trust it, pass --trust-model\n")


# --- honest models, evidence and options -------------------------------------------


@pytest.fixture(scope="session")
def skops_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's reference model behind a step whose type skops does not trust by default."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from harness.demo import DEFAULT_PROFILES, reference_model

    loaded = load_profile(HIRING)
    dev = make_plan(loaded, split="development").benchmark
    rule, target = DEFAULT_PROFILES["hiring/hiring-aedt-v1.yaml"]
    inputs = dev.model_inputs(loaded.profile.model_inputs.allow_sensitive)
    model = make_pipeline(FunctionTransformer(None, inverse_func=np.nan_to_num),
                          reference_model(inputs, dev.y, rule=rule, target=target))
    path = tmp_path_factory.mktemp("skops") / "screener.skops"
    skops.io.dump(model, path)
    return path


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, ["run", "--profile", str(HIRING), "--no-tracking", "--json", "--quiet",
                                     "--as-of", AS_OF, *args], catch_exceptions=False)


def _sandbox_of(res: object) -> dict:
    return json.loads((Path(json.loads(res.stdout)["bundle"]) / "summary.json").read_text())["model"]["sandbox"]


def test_untrusted_types_name_the_cli_flag(skops_model: Path, tmp_path: Path) -> None:
    res = _cli("--model", str(skops_model), "--out", str(tmp_path))
    assert res.exit_code == 3
    assert res.stderr == (f"error: model file {skops_model} contains types that are not trusted: "
                          "['numpy.nan_to_num']; review them and, if they are safe, pass --trust-type "
                          "numpy.nan_to_num\n")


@needs_bwrap
def test_sandboxed_unsandboxed_and_streamed_runs_agree_and_say_how_they_ran(skops_model: Path,
                                                                          tmp_path: Path) -> None:
    boxed = _cli("--model", str(skops_model), "--trust-type", "numpy.nan_to_num", "--out", str(tmp_path / "a"))
    loose = _cli("--model", str(skops_model), "--trust-type", "numpy.nan_to_num", "--no-sandbox",
                 "--out", str(tmp_path / "b"))
    streamed = _cli("--model", str(skops_model), "--trust-type", "numpy.nan_to_num", "--out", str(tmp_path / "c"),
                    "--engine", "stream", "--chunk-rows", "1000")
    assert boxed.exit_code == loose.exit_code == streamed.exit_code in (0, 1, 4), boxed.stderr + loose.stderr
    assert json.loads(boxed.stdout)["requirements"] == json.loads(loose.stdout)["requirements"]
    assert json.loads(streamed.stdout)["requirements"] == json.loads(boxed.stdout)["requirements"]
    assert _sandbox_of(streamed)["batches"] == 5  # 4,870 rows in chunks of 1,000, one model process
    assert _sandbox_of(boxed) == {"isolation": "bubblewrap", "trust_model": False, "limits": Limits().record(),
                                  "exit": "exited with code 0", "batches": 1}
    assert _sandbox_of(loose) == {"isolation": "off", "trust_model": False, "limits": None, "batches": None,
                                  "exit": "no model process: the model ran in the harness's process"}
    assert (Path(json.loads(boxed.stdout)["bundle"]) / "model.log").read_text() == ""


def test_dask_engine_refuses_a_sandboxed_model_file(skops_model: Path, tmp_path: Path) -> None:
    res = _cli("--model", str(skops_model), "--engine", "dask", "--out", str(tmp_path))
    assert res.exit_code == 2
    assert res.stderr == (f"error: engine 'dask' sends the model to the cluster's workers, where model {skops_model} "
                          "cannot run in the sandbox; use engine 'stream' (one sandboxed model process for all "
                          "chunks), or --no-sandbox to load the model file on the workers without isolation\n")


def test_without_bubblewrap_a_skops_model_runs_as_a_plain_process_and_says_so(
        skops_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harness.predictors.bwrap_problem", lambda: "bubblewrap is switched off for this test")
    res = _cli("--model", str(skops_model), "--trust-type", "numpy.nan_to_num", "--out", str(tmp_path))
    assert res.exit_code in (0, 1, 4), res.stderr
    assert res.stderr == ("warning: bubblewrap could not isolate the model: bubblewrap is switched off for this "
                          "test; the model ran as a plain child process\n")
    sandbox = _sandbox_of(res)
    assert sandbox["isolation"] == "process" and sandbox["exit"] == "exited with code 0"
    assert sandbox["note"] == "bubblewrap could not isolate the model: bubblewrap is switched off for this test"


def test_without_bubblewrap_an_mlflow_model_needs_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harness.predictors.bwrap_problem", lambda: "bubblewrap is switched off for this test")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    res = _cli("--model", str(folder), "--out", str(tmp_path / "out"))
    assert res.exit_code == 3
    assert res.stderr == (f"error: cannot isolate model mlflow {folder}: bubblewrap is switched off for this test; "
                          "an MLflow model runs its own code when it loads, so without bubblewrap it runs only if "
                          "you pass --trust-model (then as a plain child process, with the same limits but no file "
                          "system or network isolation)\n")


def test_skops_archives_are_measured_before_loading(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    frame = make_plan(load_profile(HIRING)).benchmark.frame[["years_college", "years_experience"]]
    path = tmp_path / "bomb.skops"
    skops.io.dump(LogisticRegression().fit(frame, np.arange(len(frame)) % 2), path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("padding.npy", bytes(32 << 20))  # 32 MiB of zeros, a few KiB packed
    ids = np.arange(len(frame))
    with pytest.raises(ModelError) as err:
        predict(path, frame, ids, options=Options(limits=Limits(max_array_bytes=16 << 20)))
    assert str(err.value) == (f"model file {path}: member padding.npy unpacks to 32 MiB, over the cap of 16 MiB "
                              "per array")
    with pytest.raises(ModelError) as err:
        predict(path, frame, ids, options=Options(limits=Limits(max_model_bytes=1024)))
    size = path.stat().st_size
    assert str(err.value) == (f"model file {path} is {size / 1024:g} KiB, over the cap of 1 KiB for a .skops "
                              "archive")


def test_limits_from_the_command_line_are_checked(tmp_path: Path) -> None:
    res = _cli("--model", "m.skops", "--memory-limit", "lots", "--out", str(tmp_path))
    assert res.exit_code == 2
    assert ("Invalid value for '--memory-limit': cannot read size 'lots': expected a number with an optional unit "
            "K, M, G or T (powers of 1024), e.g. 8GiB or 512M") in res.stderr


def test_objects_from_python_run_in_process_and_declared_predictions_run_no_model(tmp_path: Path) -> None:
    result = harness.evaluate(HIRING, model=hostile.Zeros(), tracking=False, out=tmp_path, as_of=dt_of(AS_OF))
    assert result.summary["model"]["sandbox"]["isolation"] == "in-process"
    bench = make_plan(load_profile(HIRING)).benchmark
    path = tmp_path / "p.csv"
    path.write_text("id,decision\n" + "".join(f"{i},0\n" for i in bench.ids))
    declared = harness.evaluate(HIRING, predictions=path, tracking=False, out=tmp_path, as_of=dt_of(AS_OF))
    assert declared.summary["model"]["sandbox"] is None
    assert (declared.bundle / "model.log").read_text() == ("No model ran: the predictions were declared in a file, "
                                                           "so there is no model output.\n")
    assert "| Isolation | no model ran (declared predictions) |" in (declared.bundle / "report.md").read_text()


# --- an MLflow pyfunc model that patches the harness --------------------------------


@pytest.fixture(scope="session")
def patcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import mlflow.pyfunc

    folder = tmp_path_factory.mktemp("pyfunc") / "patcher"
    mlflow.pyfunc.save_model(folder, python_model=str(ROOT / "tests/models/patcher.py"), pip_requirements=[])
    return folder


@needs_bwrap
def test_a_pyfunc_model_cannot_patch_the_verdict(patcher: Path, tmp_path: Path, honest: str) -> None:
    res = _cli("--model", str(patcher), "--out", str(tmp_path / "out"))
    assert json.loads(res.stdout)["verdict"] == honest != "compliant"
    assert res.exit_code == {"non_compliant": 1, "inconclusive": 4}[honest]
    log = (Path(json.loads(res.stdout)["bundle"]) / "model.log").read_text()
    assert "could not patch the harness: ModuleNotFoundError(\"No module named 'harness'\")" in log


def test_a_trusted_pyfunc_model_without_bubblewrap_patches_only_its_own_process(
        patcher: Path, tmp_path: Path, honest: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a plain child process it can import the harness, but not reach the harness's memory."""
    monkeypatch.setattr("harness.predictors.bwrap_problem", lambda: "bubblewrap is switched off for this test")
    res = _cli("--model", str(patcher), "--trust-model", "--out", str(tmp_path / "out"))
    assert json.loads(res.stdout)["verdict"] == honest != "compliant"
    assert res.exit_code == {"non_compliant": 1, "inconclusive": 4}[honest]
    assert "patched harness.evaluation.overall_verdict" in (Path(json.loads(res.stdout)["bundle"]) /
                                                            "model.log").read_text()
    assert _sandbox_of(res)["isolation"] == "process" and _sandbox_of(res)["trust_model"] is True


# --- the command line's own stdout ----------------------------------------------------


def _declared(tmp_path: Path) -> Path:
    bench = make_plan(load_profile(HIRING)).benchmark
    path = tmp_path / "p.csv"
    path.write_text("id,decision\n" + "".join(f"{i},0\n" for i in bench.ids))
    return path


def _command(tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "run", "--profile", str(HIRING), "--predictions",
            str(_declared(tmp_path)), "--no-tracking", "--json", "--quiet", "--out", str(tmp_path / "out"),
            "--as-of", AS_OF]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_closed_stdout_or_a_broken_pipe_end_quietly_with_the_verdicts_code(tmp_path: Path, honest: str) -> None:
    code = {"non_compliant": 1, "inconclusive": 4}[honest]
    closed = subprocess.run(_command(tmp_path), stdout=None, stderr=subprocess.PIPE, env=_env(), check=False,
                            preexec_fn=lambda: os.close(1))
    assert (closed.returncode, closed.stderr) == (code, b"")
    piped = subprocess.Popen(_command(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    piped.stdout.close()  # the reader goes away before the harness writes
    assert (piped.wait(timeout=300), piped.stderr.read()) == (code, b"")
    piped.stderr.close()


def test_the_sandbox_mounts_no_harness_code_but_the_child_script(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed (not editable) harness inside the environment is hidden under an empty folder."""
    from harness.sandbox import bwrap

    package = Path(bwrap.__file__).resolve().parents[1]
    argv = bwrap.command(python="/env/bin/python", child=Path("/x/child.py"), model=Path("/m/model.skops"),
                         scratch=Path("/s"), config="/scratch/config.json")
    assert argv[:7] == ["/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop",
                        "ALL", "--hostname"]
    assert argv[-5:] == ["/env/bin/python", "-I", "-B", "/opt/oversight/child.py", "/scratch/config.json"]
    assert ["--ro-bind", "/x/child.py", "/opt/oversight/child.py"] == argv[argv.index("/x/child.py") - 1:][:3]
    # nothing of this checkout is mounted but the Python environment, when it lies inside it (make's .venv)
    assert [arg for arg in argv if arg.startswith(str(ROOT)) and not arg.startswith(sys.prefix)] == []
    monkeypatch.setattr(bwrap, "_python_roots", lambda: [package.parent])
    hidden = bwrap.command(python="/env/bin/python", child=Path("/x/child.py"), model=Path("/m/model.skops"),
                           scratch=Path("/s"), config="/scratch/config.json")
    assert hidden[hidden.index(str(package.parent)) + 2:][:2] == ["--tmpfs", str(package)]


def test_an_environment_under_tmp_is_mounted_over_the_private_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkout (and its .venv) under /tmp: the sandbox's own /tmp must not hide the interpreter."""
    from harness.sandbox import bwrap

    monkeypatch.setattr(bwrap, "_python_roots", lambda: [Path("/tmp/checkout/.venv")])
    argv = bwrap.command(python="/tmp/checkout/.venv/bin/python", child=Path("/x/child.py"),
                         model=Path("/m/model.skops"), scratch=Path("/s"), config="/scratch/config.json")
    private_tmp = next(i for i in range(len(argv) - 1) if argv[i:i + 2] == ["--tmpfs", "/tmp"])
    environment = argv.index("/tmp/checkout/.venv")
    assert argv[environment - 1] == "--ro-bind" and private_tmp < environment


def test_library_folders_named_by_a_pth_file_are_mounted_but_source_folders_are_not(tmp_path, monkeypatch):
    """A venv whose dependencies come from another environment's site-packages (a .pth file) still runs models."""
    from harness.sandbox import bwrap

    other = tmp_path / "deps/lib/python3.11/site-packages"
    other.mkdir(parents=True)
    source = tmp_path / "checkout"
    source.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(other), str(source)])
    roots = bwrap._python_roots()
    assert other in roots and source not in roots
    argv = bwrap.command(python="/env/bin/python", child=Path("/x/child.py"), model=Path("/m/model.skops"),
                         scratch=Path("/s"), config="/scratch/config.json")
    assert argv[argv.index(str(other)) - 1:][:3] == ["--ro-bind", str(other), str(other)]
    assert str(source) not in argv
