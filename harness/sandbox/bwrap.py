"""The bubblewrap command line for a model process.

The sandbox sees, read-only: the system's ``/usr`` (and the ``/lib``, ``/bin`` links
into it), a few files of ``/etc`` the dynamic loader and Python need, the Python
installation and environment, the one child script and the model. Read-write: its
scratch folder (at ``/scratch``) and a private ``/tmp`` of at most 256 MiB; the root
itself is read-only. Nothing else of the host:
not the benchmark, not the repository, not the harness package (hidden under an empty
folder if it lies inside the environment). All namespaces are new (no network, its own
PID namespace), all capabilities are dropped, and the sandbox dies with its parent.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .policy import BWRAP

__all__ = ["CHILD", "MODEL_DIR", "SCRATCH", "command"]

SCRATCH = "/scratch"
MODEL_DIR = "/model"
CHILD = "/opt/oversight/child.py"
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime",
        "hosts", "os-release")
_SYSTEM = ("lib", "lib64", "lib32", "libx32", "bin", "sbin")
TMP_BYTES = 256 << 20


def _python_roots() -> list[Path]:
    """The Python installation and environment, outermost folders only, outside ``/usr``.

    Library folders on ``sys.path`` that lie elsewhere (a ``.pth`` file naming another
    environment's ``site-packages``) are mounted too, so the child imports what the parent does;
    only folders named ``site-packages`` or ``dist-packages``, never a source folder.
    """
    found = {Path(p).resolve() for p in (sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix)}
    found |= {Path(p).resolve() for p in sys.path
              if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()}
    found = {p for p in found if Path("/usr") != p and Path("/usr") not in p.parents}
    return sorted(p for p in found if not any(other in p.parents for other in found))


def _system() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _SYSTEM:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{name}"]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _hidden(roots: list[Path]) -> list[str]:
    """An empty folder over the harness package wherever a mounted root contains it."""
    package = Path(__file__).resolve().parents[1]
    return ["--tmpfs", str(package)] if any(r in package.parents for r in [Path("/usr"), *roots]) else []


def command(*, python: str, child: Path, model: Path, scratch: Path, config: str) -> list[str]:
    """``bwrap ... python -I child.py config``; ``model`` appears at ``/model/<its name>``."""
    roots = _python_roots()
    args = [BWRAP, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "sandbox", "--clearenv", "--setenv", "HOME", "/tmp",
            "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--setenv", "MLFLOW_TRACKING_URI", "file:///tmp/mlruns", *_system(),
            # the private /tmp first: an environment that lives under the host's /tmp is mounted over it
            "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for root in roots:
        args += ["--ro-bind", str(root), str(root)]
    args += _hidden(roots)
    args += ["--ro-bind", str(child), CHILD, "--ro-bind", str(model), f"{MODEL_DIR}/{model.name}",
             "--bind", str(scratch), SCRATCH, "--proc", "/proc", "--dev", "/dev",
             "--remount-ro", "/", "--chdir", SCRATCH,
             "--", python, "-I", "-B", CHILD, config]
    return args
