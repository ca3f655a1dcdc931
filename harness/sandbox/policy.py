"""Limits on a vendor's model process, and the choice of how to isolate it.

A model file or MLflow model is untrusted code: it runs in a child process, under
bubblewrap where bubblewrap can run (``bubblewrap``), else as a plain child process
(``process``) that is bounded in time and memory but can see the file system. A model
object passed from Python is the caller's own code and runs ``in-process``; ``off`` is
a model file loaded in the harness's process because the caller asked for it
(``--no-sandbox``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal

from ..errors import InputError

__all__ = ["BWRAP", "GiB", "Isolation", "Limits", "bwrap_problem", "parse_size"]

Isolation = Literal["bubblewrap", "process", "in-process", "off"]
BWRAP = "/usr/bin/bwrap"
MiB = 1 << 20
GiB = 1 << 30
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": MiB, "mb": MiB, "mib": MiB,
          "g": GiB, "gb": GiB, "gib": GiB, "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}


@dataclass(frozen=True)
class Limits:
    """What a model process may use; a model over a limit is killed with its process group.

    ``timeout`` is wall-clock seconds for each step (loading the model, then each batch of
    rows); ``memory`` is the address space (RLIMIT_AS) in bytes; ``cpu_time`` is CPU
    seconds for the whole process (RLIMIT_CPU). ``max_model_bytes`` caps a ``.skops``
    archive, and ``max_array_bytes`` each of its members once uncompressed, before loading.
    """

    timeout: float = 600.0
    memory: int = 8 * GiB
    cpu_time: int = 1800
    max_model_bytes: int = 2 * GiB
    max_array_bytes: int = 1 * GiB

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise InputError(f"sandbox limit {name} must be positive, found {value!r}")

    def record(self) -> dict[str, Any]:
        return asdict(self)


def parse_size(text: str) -> int:
    """Bytes from ``8GiB``, ``512M``, ``1.5g`` or a plain number of bytes (binary units)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise InputError(f"cannot read size {text!r}: expected a number with an optional unit "
                         "K, M, G or T (powers of 1024), e.g. 8GiB or 512M")
    return int(float(match.group(1)) * _UNITS[unit])


def human_size(size: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", GiB), ("MiB", MiB), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


@lru_cache(maxsize=1)
def bwrap_problem() -> str:
    """Why bubblewrap cannot isolate a model here, or ``""`` when it can (tried once per process)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap runs only on Linux, not on {sys.platform}"
    if not (os.path.exists(BWRAP) or shutil.which("bwrap")):
        return f"{BWRAP} is not installed (Debian package bubblewrap)"
    exe = BWRAP if os.path.exists(BWRAP) else str(shutil.which("bwrap"))
    probe = [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc",
             "--dev", "/dev", "--", "/bin/true"]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{exe} could not be started: {exc}"
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        return f"{exe} cannot create namespaces here: {detail}"
    return ""


@dataclass(frozen=True)
class Options:
    """How to run a model file: sandboxed (the default) or not, within which limits, trusting what."""

    sandbox: bool = True
    limits: Limits = Limits()
    trust_model: bool = False
    trusted_types: tuple[str, ...] = ()
