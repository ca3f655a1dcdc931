"""Evidence bundles: every input and output of a run, hashed into one manifest.

A bundle is written into a hidden temporary folder beside its destination and renamed
into place only when every file and the manifest are complete, so a folder that looks
like a bundle is a whole bundle. ``check_hashes`` recomputes every hash.
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
from ..errors import EvidenceError

__all__ = ["BUNDLE_FILES", "Bundle", "check_hashes", "environment", "read_manifest", "sha256_file", "write_bundle"]

MANIFEST = "manifest.json"
BUNDLE_FILES = (
    "profile.yaml", "predictions.parquet", "measurements.csv", "measurements.json",
    "verdicts.csv", "verdicts.json", "summary.json", "report.html", "report.md", "model.log",
)
_PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "fairlearn", "mlflow", "pydantic", "pyyaml", "skops")


@dataclass(frozen=True)
class Bundle:
    path: Path
    manifest: dict[str, Any]
    manifest_sha256: str


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
    model_log: str = "",
) -> Bundle:
    """Write a complete bundle to ``out_dir/name``; ``render`` returns (html, markdown).

    ``model_log`` is what the model process printed (its stdout and stderr).
    """
    final = out_dir / name
    if final.exists():
        raise EvidenceError(f"{final}: a bundle of that name already exists; choose another --out")
    tmp = out_dir / f".{name}.partial"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _write_files(tmp, profile_text, predictions, measurements, verdicts, summary, render)
        (tmp / "model.log").write_text(model_log, encoding="utf-8")
        manifest = {
            "harness_version": __version__,
            "created_at": summary["created_at"],
            "as_of": summary["policy"]["as_of"],
            "seed": summary["seed"],
            "inputs": inputs,
            "environment": environment(),
            "files": {f: sha256_file(tmp / f) for f in BUNDLE_FILES},
        }
        (tmp / MANIFEST).write_text(_json(manifest), encoding="utf-8")
        digest = sha256_file(tmp / MANIFEST)
        os.replace(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EvidenceError(f"{final}: could not write the evidence bundle: {exc}") from None
    return Bundle(final, manifest, digest)


def _write_files(tmp: Path, profile_text: str, predictions: pd.DataFrame | Path, measurements: pd.DataFrame,
                 verdicts: pd.DataFrame, summary: dict[str, Any], render: Callable[[], tuple[str, str]]) -> None:
    (tmp / "profile.yaml").write_text(profile_text, encoding="utf-8")
    if isinstance(predictions, Path):  # already written chunk by chunk
        shutil.copyfile(predictions, tmp / "predictions.parquet")
    else:
        predictions.to_parquet(tmp / "predictions.parquet", index=False)
    measurements.to_csv(tmp / "measurements.csv", index=False)
    (tmp / "measurements.json").write_text(_table_json(measurements), encoding="utf-8")
    verdicts.to_csv(tmp / "verdicts.csv", index=False)
    (tmp / "verdicts.json").write_text(_table_json(verdicts), encoding="utf-8")
    (tmp / "summary.json").write_text(_json(summary), encoding="utf-8")
    html, markdown = render()
    (tmp / "report.html").write_text(html, encoding="utf-8")
    (tmp / "report.md").write_text(markdown, encoding="utf-8")


def read_manifest(bundle: Path) -> dict[str, Any]:
    path = Path(bundle) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvidenceError(f"{bundle}: not an evidence bundle (no {MANIFEST})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EvidenceError(f"{path}: unreadable manifest: {exc}") from None


def check_hashes(bundle: Path, manifest: dict[str, Any]) -> list[str]:
    """Every difference between the files on disk and the manifest, as sentences."""
    problems = []
    for name, expected in manifest.get("files", {}).items():
        path = Path(bundle) / name
        if not path.exists():
            problems.append(f"{name}: listed in the manifest but missing")
            continue
        found = sha256_file(path)
        if found != expected:
            problems.append(f"{name}: SHA-256 {found} differs from the manifest's {expected}")
    for name in sorted({p.name for p in Path(bundle).iterdir()} - set(manifest.get("files", {})) - {MANIFEST}):
        problems.append(f"{name}: present in the bundle but not in the manifest")
    return problems
