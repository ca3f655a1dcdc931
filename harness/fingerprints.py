"""Fingerprints of models: the SHA-256 that names what was judged in the evidence.

A model file is hashed by its bytes, an MLflow model folder over its files, and an in-memory
model through a canonical skops dump, so the same fitted model has the same fingerprint in
every process.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import pickle
import zipfile
from pathlib import Path

from harness.errors import ModelError
from harness.sandbox.staging import tree_sha256

__all__ = ["fingerprint"]


def fingerprint(obj_or_path: object) -> str:
    """Full SHA-256 hex of a model file, or of an in-memory model's serialised content.

    A ``str`` or ``Path`` is a file, whose hash is of its bytes, or a folder (an MLflow
    model), hashed over its files' relative paths and hashes in path order. An object is hashed
    through its skops dump with zip timestamps and object addresses taken out, so the
    same fitted model gives the same hash in every process; objects skops cannot dump
    fall back to ``pickle.dumps``. Returns ``""`` when neither works, and for a plain
    function, which both would record by name only, not by what it does.
    """
    if isinstance(obj_or_path, (str, Path)) and Path(obj_or_path).is_dir():
        return tree_sha256(Path(obj_or_path))
    if isinstance(obj_or_path, (str, Path)):
        try:
            return hashlib.sha256(Path(obj_or_path).read_bytes()).hexdigest()
        except OSError as exc:
            raise ModelError(f"cannot fingerprint {obj_or_path}: {exc.strerror or exc}; "
                             "expected a readable file") from exc
    if inspect.isroutine(obj_or_path):
        return ""
    try:
        return _skops_digest(obj_or_path)
    except Exception:  # noqa: BLE001 - skops refuses many objects; pickle is the fallback
        pass
    try:
        return hashlib.sha256(pickle.dumps(obj_or_path, protocol=5)).hexdigest()
    except Exception:  # noqa: BLE001 - some objects cannot be serialised at all
        return ""


def _skops_digest(obj: object) -> str:
    """SHA-256 of a skops dump's content, independent of zip timestamps and object addresses.

    skops names each array file after the array's ``id()`` and records ``__id__``
    addresses in its schema; they become the file's hash and the order of first
    appearance before the schema is hashed as canonical JSON.
    """
    import skops.io

    with zipfile.ZipFile(io.BytesIO(skops.io.dumps(obj))) as archive:
        schema = json.loads(archive.read("schema.json"))
        files = {name: hashlib.sha256(archive.read(name)).hexdigest()
                 for name in archive.namelist() if name != "schema.json"}
    text = json.dumps(_canonical(schema, files=files, ids={}), sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(node: object, *, files: dict[str, str], ids: dict[int, int]) -> object:
    if isinstance(node, list):
        return [_canonical(item, files=files, ids=ids) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, object] = {}
    for key, value in node.items():
        if key == "__id__" and isinstance(value, int):
            out[key] = ids.setdefault(value, len(ids))
        elif key == "file" and isinstance(value, str) and value in files:
            out[key] = files[value]
        else:
            out[key] = _canonical(value, files=files, ids=ids)
    return out
