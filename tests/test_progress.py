"""Progress of the long stages: told by the engine, drawn only by the command line, never on stdout."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import harness
from harness import progress
from harness.cli import main
from harness.cli._progress import Bars, reporter_for
from harness.errors import InputError

from conftest import harness_env

ROOT = Path(__file__).resolve().parents[1]
HIRING = str(ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml")
STAMP = re.compile(r"^\d\d:\d\d:\d\d \[ *\d+\.\ds\] ")
STAGES = ["reading and hashing the benchmark", "reading the predictions", "bootstrap replicates",
          "writing the evidence bundle"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_messages_tell_start_progress_at_most_every_interval_and_end():
    said: list[str] = []
    clock = Clock()
    with progress.reporting(progress.Messages(said.append, interval=5.0, clock=clock)):
        with progress.stage("bootstrap replicates", total=1000, unit="replicates") as tick:
            for _ in range(10):
                clock.now += 1.5
                tick.advance(100)
    assert said[0] == "bootstrap replicates: started, 1,000 replicates"
    assert said[1:-1] == ["bootstrap replicates: 400/1,000 replicates, about 9 s left",
                          "bootstrap replicates: 800/1,000 replicates, about 3 s left"]
    assert re.fullmatch(r"bootstrap replicates: done, 1,000/1,000 replicates in \d+\.\d s", said[-1])


def test_a_stage_that_raises_is_reported_as_stopped_and_the_error_goes_on():
    said: list[str] = []
    with progress.reporting(progress.Messages(said.append)), pytest.raises(ValueError, match="^boom$"):
        with progress.stage("chunks", total=8, unit="chunks") as tick:
            tick.advance(3)
            raise ValueError("boom")
    assert re.fullmatch(r"chunks: stopped, 3/8 chunks in \d+\.\d s", said[-1])


def test_without_a_reporter_a_stage_only_counts():
    with progress.stage("chunks", total=2, unit="chunks") as tick:
        tick.advance(2)
    assert tick.done == 2


def test_a_progress_that_is_neither_callable_nor_a_reporter_is_refused(tmp_path):
    with pytest.raises(InputError, match="^progress must be a callable taking a message or a "
                                         "harness.progress.Reporter, found int$"):
        progress.as_reporter(3)


def test_a_bar_is_redrawn_in_place_with_count_and_estimate():
    out, clock = io.StringIO(), Clock()
    bars = Bars(out, clock=clock, width=120)
    bars.started("bootstrap replicates", 1000, "replicates")
    clock.now = 2.0
    bars.advanced("bootstrap replicates", 500)
    bars.finished("bootstrap replicates", done=1000, seconds=4.0, completed=True)
    bars.note("evidence bundle written: x")
    lines = out.getvalue().split("\r")
    assert lines[1].rstrip() == "  bootstrap replicates  [....................]  0/1,000 replicates  0.0 s"
    assert lines[2].rstrip() == ("  bootstrap replicates  [##########..........]  500/1,000 replicates  2.0 s, "
                                 "about 2.0 s left")
    assert [line.rstrip() for line in lines[3].split("\n")] == [
        "  bootstrap replicates  [####################]  1,000/1,000 replicates  done in 4.0 s",
        "  evidence bundle written: x", ""]
    assert all(len(line.split("\n")[0]) < 120 for line in lines)


def test_python_callers_get_messages_from_a_plain_callable(tmp_path, callbacks_csv):
    said: list[str] = []
    harness.evaluate(HIRING, predictions=callbacks_csv, tracking=False, out=tmp_path, progress=said.append)
    for name in STAGES:
        assert f"{name}: started" in " ".join(said)
        assert any(m.startswith(f"{name}: done, ") for m in said), name


def _cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_piped_progress_is_timestamped_lines_on_stderr_and_stdout_holds_only_the_json(tmp_path, callbacks_csv):
    res = _cli("run", "--profile", HIRING, "--predictions", str(callbacks_csv), "--no-tracking", "--json",
               "--out", str(tmp_path))
    assert res.exit_code == 1
    assert json.loads(res.stdout)["verdict"] == "non_compliant"
    lines = res.stderr.splitlines()
    assert lines and all(STAMP.match(line) for line in lines), res.stderr
    said = [STAMP.sub("", line) for line in lines]
    assert [m.split(":")[0] for m in said if m.endswith(" started") or ": started," in m] == STAGES
    assert said[-1].startswith("evidence bundle written: ")


def test_a_failing_run_ends_its_stage_and_the_error_is_the_last_line(tmp_path):
    bad = tmp_path / "p.csv"
    bad.write_text("id,decision\n0,1\n1,2\n")
    res = _cli("run", "--profile", HIRING, "--predictions", str(bad), "--no-tracking", "--out", str(tmp_path))
    assert res.exit_code == 2
    *lines, error = res.stderr.splitlines()
    assert re.fullmatch(r"reading the predictions: stopped, 0/1,448 rows in \d+\.\d s", STAMP.sub("", lines[-1]))
    assert error.startswith(f"error: predictions file {bad}: decision is not 0/1 on 1 of 2 rows")
    assert "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == [bad]


def test_quiet_silences_progress_and_the_table_stays_on_stdout(tmp_path, callbacks_csv):
    res = _cli("run", "--profile", HIRING, "--predictions", str(callbacks_csv), "--no-tracking", "--quiet",
               "--out", str(tmp_path))
    assert res.exit_code == 1
    assert res.stderr == ""
    assert res.stdout.splitlines()[1].startswith("verdict: NON-COMPLIANT")
    assert "bootstrap" not in res.stdout


def test_a_terminal_gets_bars_and_json_still_gets_lines():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(reporter_for(quiet=False, as_json=False, stream=Tty()), Bars)
    assert isinstance(reporter_for(quiet=False, as_json=True, stream=Tty()), progress.Messages)
    assert isinstance(reporter_for(quiet=False, as_json=False, stream=io.StringIO()), progress.Messages)
    assert reporter_for(quiet=True, as_json=False, stream=Tty()) is None


def test_on_a_real_terminal_the_run_draws_bars_on_stderr_and_the_table_on_stdout(tmp_path, callbacks_csv):
    """stderr is a pseudo-terminal, stdout a pipe: bars go to the terminal, the result to the pipe."""
    master, slave = pty.openpty()
    cmd = [sys.executable, "-m", "harness.cli", "run", "--profile", HIRING, "--predictions", str(callbacks_csv),
           "--no-tracking", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=harness_env(COLUMNS="100"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    text = drawn.decode()
    for name in STAGES:
        assert re.search(rf"\r  {name}  \[#+\]  [\d,]+/[\d,]+ \w+  done in \d+\.\d s", text), (name, text)
    assert "\r  bootstrap replicates  [..........]  0/2,000 replicates" in text
    assert b"\r" not in stdout and b"bootstrap" not in stdout
    assert stdout.decode().splitlines()[1].startswith("verdict: NON-COMPLIANT")
