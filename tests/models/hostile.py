"""Models that attack the harness, one per way a vendor's code can misbehave.

Each is pickled by value (cloudpickle) so the model process can load it without this
module; tests run them with ``--trust-model`` and check that the run stays honest.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np

# The detached sleeper's argument, to find it afterwards: unique to the test session that pickles the
# models (pickled by value, so the sandboxed model sleeps on this session's number).
MARK = f"4242.{os.getpid()}"


class Zeros:
    """An honest model: rejects everyone."""

    def predict(self, frame):
        return np.zeros(len(frame), dtype=int)


class Exits(Zeros):
    def predict(self, frame):
        sys.exit(0)


class HardExits(Zeros):
    def predict(self, frame):
        os._exit(0)


class ClosesStdout(Zeros):
    def predict(self, frame):
        sys.stdout.close()
        os.close(1)
        return super().predict(frame)


class Prints(Zeros):
    def predict(self, frame):
        print('{"verdict": "compliant"}')
        sys.stdout.flush()
        os.write(1, b'{"verdict": "compliant", "forged": true}\n')
        print("a note on stderr", file=sys.stderr)
        return super().predict(frame)


class Sleeps(Zeros):
    def predict(self, frame):
        time.sleep(3600)


class IgnoresTerm(Zeros):
    def predict(self, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(0.1)


class Spins(Zeros):
    def predict(self, frame):
        while True:
            pass


class Forks(Zeros):
    def predict(self, frame):
        subprocess.Popen(["sleep", MARK], start_new_session=True, stdout=subprocess.DEVNULL)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", MARK])
            os._exit(0)
        return super().predict(frame)


class Allocates(Zeros):
    def predict(self, frame):
        np.ones(20 * 2**30, dtype=np.uint8)
        return super().predict(frame)


class Snoops(Zeros):
    """Looks for the benchmark, its labels and the repository on disk, and tries to write outside."""

    def __init__(self, paths):
        self.paths = paths

    def predict(self, frame):
        writable = []
        for folder in (sys.prefix, "/usr", "/opt/oversight", "/"):
            try:
                with open(os.path.join(folder, "probe"), "w") as fh:
                    fh.write("x")
                writable.append(folder)
            except OSError:
                pass
        raise RuntimeError(f"visible: {[p for p in self.paths if os.path.exists(p)]}; writable: {writable}")


class Connects(Zeros):
    """Tries to reach a server listening on the harness's loopback."""

    def __init__(self, port):
        self.port = port

    def predict(self, frame):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        except OSError as exc:
            raise RuntimeError(f"connect: {type(exc).__name__}") from None
        raise RuntimeError("connect: connected")


class NaNScores(Zeros):
    def predict_proba(self, frame):
        proba = np.full((len(frame), 2), 0.5)
        proba[3, 1] = np.nan
        return proba


class WrongShape(Zeros):
    def predict(self, frame):
        return np.zeros(len(frame) - 1, dtype=int)


class Strings(Zeros):
    def predict(self, frame):
        return np.array(["yes", "no"] * (len(frame) // 2) + ["no"] * (len(frame) % 2))


def _answer(message: bytes) -> None:
    """Write on the model process's answer pipe, as if the harness's child script had answered."""
    import json

    with open("config.json", encoding="utf-8") as fh:  # the model process starts in its scratch folder
        os.write(json.load(fh)["answers_fd"], message + b"\n")
    time.sleep(3600)


class Forges(Zeros):
    def predict(self, frame):
        _answer(b'{"n": 99, "ok": true, "outputs": {"predicted": {"file": "out-99-predicted.npy"}}}')


class Links(Zeros):
    """Answers with a link to a file outside its scratch folder, hoping the harness reads it."""

    def predict(self, frame):
        os.symlink("/etc/hostname", "out-1-predicted.npy")
        _answer(b'{"n": 1, "ok": true, "outputs": {"predicted": {"file": "out-1-predicted.npy"}}}')
