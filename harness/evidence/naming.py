"""Bundle names that never collide, and the leftovers of runs that died.

Every temporary folder a run makes beside its bundles records its owner (host, pid and the
process's start time, so a reused pid is not mistaken for the owner). The next run, or
``oversight sync``, removes only the leftovers whose owner is gone.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import socket
import time
from pathlib import Path
from typing import Any, Iterator

__all__ = ["OWNER_FILE", "bundle_name", "make_partial", "owner", "owner_alive", "scratch_dir", "sweep_leftovers"]

OWNER_FILE = ".owner.json"
PARTIAL = ".partial"
# A temporary folder without an owner file is one whose run died between making it and
# recording itself, or between removing the record and renaming the bundle into place.
ORPHAN_AGE_S = 600.0


def owner() -> dict[str, Any]:
    """This process, as recorded in its temporary folders, pending markers and MLflow runs."""
    import psutil

    return {"host": socket.gethostname(), "pid": psutil.Process().pid, "started": psutil.Process().create_time()}


def owner_alive(record: dict[str, Any]) -> bool | None:
    """True or False for a process of this host; None when it ran elsewhere (cannot tell)."""
    import psutil

    if record.get("host") != socket.gethostname():
        return None
    try:
        proc = psutil.Process(int(record["pid"]))
        return abs(proc.create_time() - float(record["started"])) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, TypeError, ValueError):
        return False


def bundle_name(profile_id: str, version: str, created_at: str, fingerprint: str) -> str:
    """``<profile>-v<version>-<UTC time>-<fingerprint8>-<6 random hex>``: unique without trusting the clock."""
    stamp = created_at.replace(":", "").replace("-", "").replace("+0000", "Z")
    return f"{profile_id}-v{version}-{stamp}-{fingerprint[:8] or 'preds'}-{secrets.token_hex(3)}"


def make_partial(parent: Path, name: str) -> Path:
    """Create ``parent/.name.partial`` for this process alone, with its owner recorded."""
    parent.mkdir(parents=True, exist_ok=True)
    path = parent / f".{name}{PARTIAL}"
    path.mkdir()  # never reuse: a folder of that name belongs to another run
    (path / OWNER_FILE).write_text(json.dumps(owner()), encoding="utf-8")
    return path


@contextlib.contextmanager
def scratch_dir(parent: Path) -> Iterator[Path]:
    """A temporary folder beside the bundles (same file system, so files move by rename)."""
    path = make_partial(parent, f"scratch-{secrets.token_hex(6)}")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep_leftovers(parent: Path) -> list[Path]:
    """Remove the temporary folders in ``parent`` whose owner process is gone; return them."""
    removed = []
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(".") and p.name.endswith(PARTIAL)]
    except OSError:
        return removed
    for path in entries:
        if _abandoned(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _abandoned(path: Path) -> bool:
    try:
        record = json.loads((path / OWNER_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):  # never recorded, or killed while recording
        try:
            return time.time() - path.stat().st_mtime > ORPHAN_AGE_S
        except OSError:
            return False
    except OSError:
        return False
    return owner_alive(record) is False if isinstance(record, dict) else False
