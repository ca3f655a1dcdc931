"""A model file or MLflow model made ready for a model process, checked and hashed from its bytes.

Nothing here runs the vendor's code: a ``.skops`` archive is measured (its size, each
member's uncompressed size) and its schema read for the types it needs before any
loading; an MLflow model is copied (downloading runs no model code) and hashed over
its files; pickle and joblib files are refused unless the caller trusts the model.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import ModelError
from .policy import Limits, human_size
from .runner import Staged

__all__ = ["ALWAYS_TRUSTED", "MLFLOW_PREFIXES", "PICKLE_SUFFIXES", "is_mlflow", "stage", "tree_sha256"]

MLFLOW_PREFIXES = ("runs:/", "models:/", "file:")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
ALWAYS_TRUSTED = ("numpy.dtype",)


def is_mlflow(text: str) -> bool:
    return text.startswith(MLFLOW_PREFIXES) or (Path(text) / "MLmodel").is_file()


def stage(model: str | Path, *, trusted: Sequence[str], trust_model: bool, limits: Limits) -> tuple[Staged, str]:
    """The staged model and its SHA-256; an MLflow model's copy lives in a fresh temporary folder."""
    text = str(model)
    if is_mlflow(text):
        scratch = Path(tempfile.mkdtemp(prefix="oversight-mlflow-"))
        try:
            local = _copy_mlflow(text, scratch)
            return Staged(local, "mlflow", text, temporary=scratch), tree_sha256(local)
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
    path = Path(text)
    if path.suffix == ".skops":
        return Staged(path.resolve(), "skops", text, check_skops(path, trusted, limits)), file_sha256(path)
    if path.suffix in PICKLE_SUFFIXES:
        if not trust_model:
            raise ModelError(f"model file {path} is a pickle, which runs arbitrary code when loaded; "
                             "save the model with skops (.skops) or, if you trust it, pass --trust-model")
        if not path.is_file():
            raise ModelError(f"model file {path} not found; expected a {path.suffix} file")
        return Staged(path.resolve(), "pickle", text), file_sha256(path)
    raise ModelError(f"cannot load model {text!r}: expected a .skops file, an MLflow model "
                     "directory (with an MLmodel file) or a URI starting with "
                     f"{', '.join(MLFLOW_PREFIXES)}")


def file_sha256(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise ModelError(f"cannot fingerprint {path}: {exc.strerror or exc}; expected a readable file") from exc


def tree_sha256(root: Path) -> str:
    """SHA-256 over ``<sha256>  <relative path>`` lines of every file, sorted by path."""
    lines = sorted(f"{file_sha256(p)}  {p.relative_to(root).as_posix()}\n"
                   for p in root.rglob("*") if p.is_file())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def check_skops(path: Path, trusted: Sequence[str], limits: Limits) -> tuple[str, ...]:
    """The types the child may load, after checking sizes and refusing untrusted types."""
    import skops.io

    if not path.is_file():
        raise ModelError(f"model file {path} not found; expected a .skops file")
    size = path.stat().st_size
    if size > limits.max_model_bytes:
        raise ModelError(f"model file {path} is {human_size(size)}, over the cap of "
                         f"{human_size(limits.max_model_bytes)} for a .skops archive")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"cannot read model file {path}: {type(exc).__name__}: {exc}") from exc
    for member in members:
        if member.file_size > limits.max_array_bytes:
            raise ModelError(f"model file {path}: member {member.filename} unpacks to "
                             f"{human_size(member.file_size)}, over the cap of "
                             f"{human_size(limits.max_array_bytes)} per array")
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - a damaged file can fail in many ways
        raise ModelError(f"cannot read model file {path}: {type(exc).__name__}: {exc}") from exc
    allowed = set(trusted) | set(ALWAYS_TRUSTED)
    refused = sorted(name for name in untrusted if name not in allowed)
    if refused:
        flags = " ".join(f"--trust-type {name}" for name in refused)
        raise ModelError(f"model file {path} contains types that are not trusted: {refused}; "
                         f"review them and, if they are safe, pass {flags}")
    return tuple(name for name in untrusted if name in allowed)


def _copy_mlflow(uri: str, scratch: Path) -> Path:
    """A private copy of the model's files in ``scratch``: a local folder is copied without following links."""
    local = Path(uri.removeprefix("file://").removeprefix("file:")) if uri.startswith("file:") else Path(uri)
    if not uri.startswith(("runs:/", "models:/")) and local.is_dir():
        _refuse_links(local, uri)
        return Path(shutil.copytree(local, scratch / "model", symlinks=True))
    from ..evidence.tracking import download_model

    return download_model(uri, scratch / "model")


def _refuse_links(root: Path, uri: str) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            mode = os.lstat(os.path.join(dirpath, name)).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                where = Path(dirpath, name).relative_to(root)
                raise ModelError(f"MLflow model {uri!r} holds {where}, which is not a regular file "
                                 "or folder (a link?); expected only the model's own files")
