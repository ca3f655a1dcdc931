"""Shared fixtures: a real MLflow tracking server on loopback, started once per session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVER_START_S = 180.0


def free_port() -> int:
    """A loopback port nothing listens on (at the moment of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def harness_env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess that must run this checkout's harness."""
    env = {k: v for k, v in os.environ.items() if k not in SEARCH_PATH_ENV}
    env = {**env, "PYTHONPATH": str(ROOT), **extra}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


SEARCH_PATH_ENV = ("OVERSIGHT_BENCHMARKS", "OVERSIGHT_PROFILES")


@pytest.fixture(autouse=True)
def _no_search_path_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's own OVERSIGHT_BENCHMARKS or OVERSIGHT_PROFILES must not change what the tests find."""
    for name in SEARCH_PATH_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of a real ``mlflow server``: SQLite backend, artifacts served by the server."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
           "--backend-store-uri", f"sqlite:///{root}/mlflow.db", "--artifacts-destination", str(root / "artifacts"),
           "--serve-artifacts"]
    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True,
                                preexec_fn=_die_with_parent)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(uri, proc, log_path)
        yield uri
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _die_with_parent() -> None:
    """On Linux, the server gets SIGTERM if pytest itself is killed, so no server outlives the session."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_healthy(uri: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with opener.open(f"{uri}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"mlflow server not healthy after {SERVER_START_S:g} s:\n{log_path.read_text()[-3000:]}")


HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"


@pytest.fixture(scope="session")
def callbacks_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The employers' own callbacks as declared predictions: a quick, non-compliant (exit 1) run."""
    import pandas as pd

    from harness.benchmark import load_benchmark

    bench = load_benchmark("resume-audit-2004")
    path = tmp_path_factory.mktemp("predictions") / "callbacks.csv"
    pd.DataFrame({"id": bench.ids, "decision": bench.frame["received_callback"]}).to_csv(path, index=False)
    return path


def start_run(*args: str, cwd: Path) -> subprocess.Popen:
    """``oversight run --profile HIRING`` in a subprocess, on this checkout's code."""
    cmd = [sys.executable, "-m", "harness.cli", "run", "--profile", str(HIRING), *args]
    return subprocess.Popen(cmd, cwd=cwd, env=harness_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
