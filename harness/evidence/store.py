"""Tracking stores: bounded waits for servers, safe first use of a SQLite file.

A tracking server that is down must not hold a run for minutes: an HTTP(S) store is
first checked with one bounded socket connect, and MLflow's own request timeout, retries
and backoff are bounded for the duration of the call (values the user set in the
environment win). A SQLite store is created and migrated by one process at a time, under
a lock file beside it, in a temporary file renamed into place when complete, so a kill
during creation leaves no half-made database, and writers wait for each other through
SQLite's busy timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import unquote, urlparse

from ..errors import TrackingError

__all__ = ["DEFAULT_TIMEOUT", "bounded_store", "check_reachable", "ensure_sqlite", "sqlite_path"]

DEFAULT_TIMEOUT = 5.0  # seconds per connection and per request; each request is tried twice
RETRIES = "1"
BACKOFF = "1"
LOCK_WAIT_MIN = 60.0  # creating and migrating a SQLite store takes seconds on a loaded machine


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None for another store."""
    if not uri.startswith("sqlite:///"):
        return None
    path = unquote(uri[len("sqlite:///"):].split("?", 1)[0])
    return None if path in ("", ":memory:") else Path(path)


def check_reachable(uri: str, timeout: float) -> None:
    """One socket connect to the server of an HTTP(S) URI, within ``timeout`` seconds."""
    parts = urlparse(uri)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise TrackingError(f"MLflow at {uri} is not reachable: cannot connect to {host}:{port} within "
                            f"{timeout:g} s ({reason})") from None


@contextlib.contextmanager
def _mlflow_http_limits(timeout: float) -> Iterator[None]:
    wanted = {"MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, math.ceil(timeout))),
              "MLFLOW_HTTP_REQUEST_MAX_RETRIES": RETRIES, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": BACKOFF,
              "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}  # only the CLI prints: --json stays JSON
    added = [k for k in wanted if k not in os.environ]
    os.environ.update({k: wanted[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


@contextlib.contextmanager
def bounded_store(uri: str, timeout: float, *, create_sqlite: Callable[[Path], None]) -> Iterator[str]:
    """Yield the URI to hand MLflow, with every wait on the store bounded."""
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        check_reachable(uri, timeout)
        with _mlflow_http_limits(timeout):
            yield uri
        return
    path = sqlite_path(uri)
    if path is None:
        yield uri
        return
    ensure_sqlite(path, create=create_sqlite, wait=max(timeout, LOCK_WAIT_MIN))
    busy = f"timeout={max(timeout, LOCK_WAIT_MIN):g}"
    yield uri if "timeout=" in uri else f"{uri}{'&' if '?' in uri else '?'}{busy}"


@contextlib.contextmanager
def _locked(lock: Path, wait: float) -> Iterator[None]:
    with open(lock, "a+b") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TrackingError(f"{lock}: another process held the lock of the SQLite store for "
                                        f"more than {wait:g} s") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_sqlite(path: Path, *, create: Callable[[Path], None], wait: float = LOCK_WAIT_MIN) -> None:
    """Create and migrate a SQLite store once, whoever else tries at the same moment.

    ``create`` makes a complete store in the file it is given (MLflow does the schema).
    """
    if _complete(path):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(path.name + ".lock"), wait):
            if _complete(path):
                return
            for stale in path.parent.glob(f".{path.name}.init-*"):  # left by a killed creator
                stale.unlink(missing_ok=True)
            tmp = path.with_name(f".{path.name}.init-{os.getpid()}-{secrets.token_hex(4)}")
            try:
                create(tmp)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise TrackingError(f"cannot create the SQLite tracking store {path}: {exc}") from None


def _complete(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False
