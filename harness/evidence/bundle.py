"""Evidence bundles: every input and output of a run, hashed into one manifest.

A bundle is written into a hidden temporary folder beside its destination (recording its
owner, so the next run can clean up after a killed one) and renamed into place only when
every file and the manifest are complete, so a folder that looks like a bundle is a whole
bundle; any failure removes the temporary folder. The files a bundle holds are fixed by the
harness version (``BUNDLE_FILES``, the manifest and an optional signature), whatever the
manifest lists. ``check_hashes`` recomputes every hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .. import __version__
from ..errors import EvidenceError, HarnessError
from ..progress import Stage, stage
from .naming import OWNER_FILE, make_partial
from .signing import SIGNATURE, Signer, sign_manifest

__all__ = ["BUNDLE_FILES", "MANIFEST", "OPTIONAL_FILES", "Bundle", "check_hashes", "environment", "read_manifest",
           "sha256_file", "write_bundle"]

MANIFEST = "manifest.json"
BUNDLE_FILES = (
    "profile.yaml", "predictions.parquet", "measurements.csv", "measurements.json",
    "verdicts.csv", "verdicts.json", "summary.json", "report.html", "report.md", "model.log",
)
# Files a bundle holds only for some runs, each listed in the manifest when present: a lab's
# assessment keeps the vendor's signed submission byte for byte.
OPTIONAL_FILES = ("submission.json",)
_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "fairlearn", "mlflow", "pydantic", "pyyaml", "skops")


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    signature: dict[str, Any] | None = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def environment() -> dict[str, Any]:
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": versions}


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=False, default=str, allow_nan=True) + "\n"


def _table_json(frame: pd.DataFrame) -> str:
    """Records with floats written exactly (shortest round-trip repr); NaN as null."""
    records = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    return json.dumps(records, indent=1, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_bundle(
    out_dir: Path,
    name: str,
    *,
    profile_text: str,
    predictions: pd.DataFrame | Path,
    measurements: pd.DataFrame,
    verdicts: pd.DataFrame,
    summary: dict[str, Any],
    inputs: dict[str, Any],
    render: Callable[[], tuple[str, str]],
    tracking: bool = False,
    signer: Signer | None = None,
    model_log: str = "",
    extra_files: dict[str, bytes] | None = None,
) -> Bundle:
    """Write a complete bundle to ``out_dir/name``; ``render`` returns (html, markdown).

    ``tracking`` records whether an MLflow run is expected, so verify knows to look for
    one; ``signer`` signs the manifest into ``signature.json`` before the bundle appears;
    ``model_log`` is what the model process printed (its stdout and stderr); ``extra_files``
    are files of ``OPTIONAL_FILES`` to keep byte for byte.
    """
    extra = dict(extra_files or {})
    if unknown := sorted(set(extra) - set(OPTIONAL_FILES)):
        raise EvidenceError(f"{out_dir / name}: {unknown} are not optional bundle files ({', '.join(OPTIONAL_FILES)})")
    final = out_dir / name
    if final.exists():
        raise EvidenceError(f"{final}: a bundle of that name already exists; choose another --out")
    try:
        tmp = make_partial(out_dir, name)
    except OSError as exc:
        raise EvidenceError(f"{final}: could not write the evidence bundle: {exc}") from None
    try:
        with stage("writing the evidence bundle", total=len(BUNDLE_FILES), unit="files") as tick:
            _write_files(tmp, profile_text, predictions, measurements, verdicts, summary, render, tick)
            (tmp / "model.log").write_text(model_log, encoding="utf-8")
            for extra_name, data in extra.items():
                (tmp / extra_name).write_bytes(data)
            tick.advance()
        manifest = {
            "bundle": name,  # two runs alike to the second still leave two distinct bundles
            "harness_version": __version__,
            "created_at": summary["created_at"],
            "as_of": summary["policy"]["as_of"],
            "seed": summary["seed"],
            "inputs": inputs,
            "environment": environment(),
            "predictions": _origin(inputs.get("model", {})),
            "tracking": {"requested": tracking},
            "files": {f: sha256_file(tmp / f) for f in (*BUNDLE_FILES, *sorted(extra))},
        }
        (tmp / MANIFEST).write_text(_json(manifest), encoding="utf-8")
        digest = sha256_file(tmp / MANIFEST)
        signature = None
        if signer is not None:
            signature = sign_manifest(digest, signer)
            (tmp / SIGNATURE).write_text(_json(signature), encoding="utf-8")
        (tmp / OWNER_FILE).unlink()
        os.rename(tmp, final)  # fails rather than replace a folder that appeared meanwhile
    except BaseException as exc:  # any failure, an interrupt included: nothing half-written stays
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, HarnessError) or not isinstance(exc, Exception):
            raise
        raise EvidenceError(f"{final}: could not write the evidence bundle: {_reason(exc)}") from exc
    return Bundle(final, manifest, digest, signature)


def _origin(model: dict[str, Any]) -> dict[str, str]:
    """Whether the vendor declared the predictions or the harness produced them from a model file."""
    if model.get("kind") == "file":
        return {"origin": "declared", "sha256": model.get("sha256", "")}
    return {"origin": "model", "model_kind": model.get("kind", ""), "model_sha256": model.get("sha256", "")}


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"


def _write_files(tmp: Path, profile_text: str, predictions: pd.DataFrame | Path, measurements: pd.DataFrame,
                 verdicts: pd.DataFrame, summary: dict[str, Any], render: Callable[[], tuple[str, str]],
                 tick: Stage) -> None:
    (tmp / "profile.yaml").write_text(profile_text, encoding="utf-8")
    if isinstance(predictions, Path):  # already written chunk by chunk
        shutil.copyfile(predictions, tmp / "predictions.parquet")
    else:
        predictions.to_parquet(tmp / "predictions.parquet", index=False)
    tick.advance(2)
    measurements.to_csv(tmp / "measurements.csv", index=False)
    (tmp / "measurements.json").write_text(_table_json(measurements), encoding="utf-8")
    verdicts.to_csv(tmp / "verdicts.csv", index=False)
    (tmp / "verdicts.json").write_text(_table_json(verdicts), encoding="utf-8")
    (tmp / "summary.json").write_text(_json(summary), encoding="utf-8")
    tick.advance(5)
    html, markdown = render()
    (tmp / "report.html").write_text(html, encoding="utf-8")
    (tmp / "report.md").write_text(markdown, encoding="utf-8")
    tick.advance(2)


def read_manifest(bundle: Path) -> dict[str, Any]:
    path = Path(bundle) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvidenceError(f"{bundle}: not an evidence bundle (no {MANIFEST})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EvidenceError(f"{path}: unreadable manifest: {exc}") from None


def check_hashes(bundle: Path, manifest: dict[str, Any]) -> list[str]:
    """Every difference between the files on disk, the manifest and the fixed file list, as sentences."""
    problems = []
    listed = manifest.get("files", {})
    if not isinstance(listed, dict):
        return [f"{MANIFEST}: 'files' is a {type(listed).__name__}; expected a mapping of file name to SHA-256"]
    for name in BUNDLE_FILES:
        if name not in listed:
            problems.append(f"{MANIFEST}: does not list {name}, a required bundle file")
    optional = [name for name in OPTIONAL_FILES if name in listed]
    for name in listed:
        if name not in BUNDLE_FILES and name not in optional:
            problems.append(f"{MANIFEST}: lists {name}, which is not a bundle file of oversight-harness "
                            f"{__version__} (expected {', '.join(BUNDLE_FILES)})")
    for name in (*BUNDLE_FILES, *optional):
        path = Path(bundle) / name
        if not path.is_file():
            problems.append(f"{name}: {'a required' if name in BUNDLE_FILES else 'a listed'} bundle file is missing")
        elif name in listed and (found := sha256_file(path)) != listed[name]:
            problems.append(f"{name}: SHA-256 {found} differs from the manifest's {listed[name]}")
    allowed = {*BUNDLE_FILES, *optional, MANIFEST, SIGNATURE}
    for name in sorted({p.name for p in Path(bundle).iterdir()} - allowed):
        problems.append(f"{name}: present in the bundle but not a bundle file")
    return problems
