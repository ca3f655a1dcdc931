"""The parent side of a model process: start it, send it rows, read back what it predicts.

One process serves a whole run, so the model loads once: each batch of rows is a Parquet
file in the process's scratch folder, announced on a request pipe, and answered on a
second pipe with the names of the output files (``.npy`` without pickles, or Parquet),
which are opened without following links. The process never sees the benchmark, only
the rows given to it. Its stdout and stderr go to a log file, never to the harness's
own. Any limit crossed, and any exit before it is told to stop, kills its process group
(and, under bubblewrap, its whole PID namespace) and is an error of the run.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ..errors import ModelError
from . import bwrap
from .policy import Isolation, Limits, human_size

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ModelProcess", "Staged"]

CHILD = Path(__file__).with_name("child.py")
LOG_SHOWN = 1 << 20  # bytes of the model's log kept for the bundle
_LINE_MAX = 1 << 20
_OUTPUT = re.compile(r"out-\d+-[a-z_]+\.(npy|parquet)")
_GRACE = 5.0  # seconds a model process gets to exit after its requests end


@dataclass(frozen=True)
class Staged:
    """A model ready for a child process: a local file or folder the harness will not load."""

    path: Path
    kind: str  # "skops", "mlflow" or "pickle"
    uri: str
    trusted: tuple[str, ...] = ()
    temporary: Path | None = None  # a folder holding a copy made for this run, removed at the end

    def remove(self) -> None:
        if self.temporary is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)


class ModelProcess:
    """One running model process; ``call`` it per batch of rows, then ``close`` it."""

    def __init__(self, staged: Staged, *, isolation: Isolation, limits: Limits) -> None:
        self.staged, self.isolation, self.limits = staged, isolation, limits
        self.who = f"model {staged.kind} {staged.uri}"
        self.root = Path(tempfile.mkdtemp(prefix="oversight-model-"))
        self.scratch = self.root / "scratch"
        self.scratch.mkdir(mode=0o700)
        self.log_path = self.root / "model.log"
        self.exit = "not started"
        self.proc: subprocess.Popen[bytes] | None = None
        self._requests: int | None = None
        self._answers: int | None = None
        self._buffer = b""
        self._n = 0
        self._kept_log: str | None = None  # the log, once its folder is removed

    # --- life cycle ------------------------------------------------------------

    def start(self) -> "ModelProcess":
        requests_r, requests_w = os.pipe()
        answers_r, answers_w = os.pipe()
        inside = self.isolation == "bubblewrap"
        config = {"model": f"{bwrap.MODEL_DIR}/{self.staged.path.name}" if inside else str(self.staged.path),
                  "kind": self.staged.kind, "trusted": list(self.staged.trusted),
                  "scratch": bwrap.SCRATCH if inside else str(self.scratch),
                  "requests_fd": requests_r, "answers_fd": answers_w, "memory": self.limits.memory,
                  "cpu_time": self.limits.cpu_time, "file_size": self.limits.memory}
        (self.scratch / "config.json").write_text(json.dumps(config), encoding="utf-8")
        if inside:
            argv = bwrap.command(python=sys.executable, child=CHILD, model=self.staged.path, scratch=self.scratch,
                                 config=f"{bwrap.SCRATCH}/config.json")
            env = {"PATH": "/usr/bin:/bin"}
        else:
            argv = [sys.executable, "-I", "-B", str(CHILD), str(self.scratch / "config.json")]
            env = {"PATH": "/usr/bin:/bin", "HOME": str(self.scratch), "PYTHONDONTWRITEBYTECODE": "1",
                   "MLFLOW_TRACKING_URI": (self.scratch / "mlruns").as_uri()}
        try:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                             cwd=self.scratch, pass_fds=(requests_r, answers_w),
                                             start_new_session=True)
        except OSError as exc:
            raise ModelError(f"{self.who}: cannot start the model process: {exc}") from exc
        finally:
            os.close(requests_r)
            os.close(answers_w)
        self._requests, self._answers = requests_w, answers_r
        self.exit = "running"
        answer = self._receive("loading the model")
        if not answer.get("ok"):
            self._fail(f"cannot load {self.who}: {answer.get('error')}{self._memory_hint(answer)}")
        return self

    def close(self) -> None:
        """Tell the process to stop, give it a moment, then kill whatever is left of it."""
        if self.proc is None:
            self._remove()
            return
        if self._requests is not None:
            os.close(self._requests)
            self._requests = None
        exited = self._exited(_GRACE)
        self._kill(None if exited else f"killed by the harness: still running {_GRACE:g} s after its last request")
        self._remove()

    # --- requests --------------------------------------------------------------

    def call(self, inputs: pd.DataFrame, *, task: str) -> dict[str, object]:
        """The raw outputs (``predicted`` and, when the model has them, ``proba``, ``classes``,
        ``decision_function`` or a callable's ``second``) for ``inputs``."""
        if self._requests is None or self.proc is None:
            raise ModelError(f"{self.who}: the model process is not running")
        self._n += 1
        name = f"in-{self._n}.parquet"
        inputs.reset_index(drop=True).to_parquet(self.scratch / name, index=False)
        line = json.dumps({"n": self._n, "task": task, "input": name}) + "\n"
        try:
            os.write(self._requests, line.encode())
        except OSError:  # it closed its end: it exited or is about to
            pass
        answer = self._receive(f"predicting {len(inputs):,} rows")
        (self.scratch / name).unlink(missing_ok=True)
        if not answer.get("ok"):
            self._fail(f"{self.who} failed on {len(inputs)} rows: {answer.get('error')}{self._memory_hint(answer)}",
                       kill=False)
        outputs = answer.get("outputs")
        if answer.get("n") != self._n or not isinstance(outputs, dict) or "predicted" not in outputs:
            self._fail(f"{self.who}: the model process answered {str(answer)[:200]} to request {self._n}; "
                       "expected the names of its output files for that request")
        return {key: self._read(ref) for key, ref in outputs.items()}

    def _receive(self, doing: str) -> dict[str, Any]:
        """The next answer line, waiting at most the wall-clock timeout."""
        deadline = time.monotonic() + self.limits.timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._answers, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(timeout=left):
                    self._kill(f"killed by the harness: over the wall-clock timeout of {self.limits.timeout:g} s")
                    self._fail(f"{self.who} was killed while {doing}: it ran over the wall-clock timeout of "
                               f"{self.limits.timeout:g} s (--timeout)")
                chunk = os.read(self._answers, 1 << 16)
                if not chunk:
                    self._ended(doing)
                self._buffer += chunk
                if len(self._buffer) > _LINE_MAX:
                    self._fail(f"{self.who} sent more than {_LINE_MAX:,} bytes without ending an answer "
                               f"while {doing}")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self._fail(f"{self.who} answered {line[:200]!r} while {doing}; expected a JSON object")
        return answer

    def _ended(self, doing: str) -> None:
        """The answer pipe closed: the process exited (or closed it, and is then killed)."""
        exited = self._exited(_GRACE)
        self._kill(None if exited else "killed by the harness: it closed its answer pipe but kept running")
        self._fail(f"{self.who}: the model process {self._described()} while {doing}, without answering; "
                   "a model's exit is an error of the run, never a verdict", kill=False)

    def _read(self, ref: object) -> object:
        import numpy as np
        import pandas as pd

        name = ref.get("file") if isinstance(ref, dict) else None
        if not isinstance(name, str) or not _OUTPUT.fullmatch(name):
            self._fail(f"{self.who} named output {ref!r}; expected a file out-<n>-<name>.npy or .parquet")
        try:
            fd = os.open(self.scratch / name, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            self._fail(f"{self.who}: cannot open its output {name}: {exc.strerror or exc}")
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self._fail(f"{self.who}: its output {name} is not a regular file")
            try:
                value = np.load(fh, allow_pickle=False) if name.endswith(".npy") else pd.read_parquet(fh)
            except Exception as exc:  # noqa: BLE001 - a hostile file can fail in many ways
                self._fail(f"{self.who}: cannot read its output {name}: {type(exc).__name__}: {exc}")
        (self.scratch / name).unlink(missing_ok=True)
        return value

    # --- ends ------------------------------------------------------------------

    def _memory_hint(self, answer: dict[str, Any]) -> str:
        if not answer.get("memory"):
            return ""
        return f"; it ran out of memory under the address-space limit of {human_size(self.limits.memory)} " \
               "(--memory-limit)"

    def _status(self, code: int | None) -> str:
        if code is None:
            return "running"
        signum = -code if code < 0 else code - 128 if self.isolation == "bubblewrap" and code > 128 else 0
        if not signum:
            return f"exited with code {code}"
        name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
        if signum == signal.SIGXCPU:
            return f"killed by {name}: over the CPU-time limit of {self.limits.cpu_time} s"
        if signum == signal.SIGKILL:  # not sent by the harness, which records its own kills
            return f"killed by {name}: at the CPU-time limit of {self.limits.cpu_time} s, or by the system"
        return f"killed by {name}"

    def _described(self) -> str:
        if "CPU-time" in self.exit:
            return f"was {self.exit} (--cpu-time)"
        return "was " + self.exit if self.exit.startswith("killed") else self.exit

    def _exited(self, timeout: float) -> bool:
        """Whether the process has exited, waiting up to ``timeout`` without reaping it, so its
        process group id cannot be reused before the group is killed."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while self.proc.returncode is None:
            if os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _kill(self, reason: str | None) -> None:
        """SIGKILL to the process group and every descendant still found, then reap it."""
        if self.proc is None or self.proc.returncode is not None:
            return
        import psutil

        exited = self._exited(0)
        try:
            found = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            found = []
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for process in found:
            try:
                process.kill()
            except psutil.Error:
                pass
        code = self.proc.wait()
        self.exit = reason if reason and not exited else self._status(code)

    def _fail(self, message: str, *, kill: bool = True) -> NoReturn:
        if kill:
            self._kill("killed by the harness after an error")
        error = ModelError(message + (" (rerun with --debug to see the model's output)" if self.log().strip() else ""))
        error.model_log = self.log()  # type: ignore[attr-defined]
        raise error

    def log(self) -> str:
        """What the model printed (its stdout and stderr), at most LOG_SHOWN bytes."""
        if self._kept_log is not None:
            return self._kept_log
        try:
            with open(self.log_path, "rb") as fh:
                data = fh.read(LOG_SHOWN + 1)
        except OSError:
            return ""
        text = data[:LOG_SHOWN].decode("utf-8", errors="replace")
        return text + ("\n[log truncated]\n" if len(data) > LOG_SHOWN else "")

    def _remove(self) -> None:
        self._kept_log = self.log()
        if self._answers is not None:
            os.close(self._answers)
            self._answers = None
        shutil.rmtree(self.root, ignore_errors=True)

    def record(self) -> dict[str, Any]:
        return {"isolation": self.isolation, "limits": self.limits.record(), "exit": self.exit, "batches": self._n}
