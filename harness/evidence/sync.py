"""Pending bundles: logged to MLflow later, exactly once.

A run that tracks writes a pending marker ``OUT/.oversight/pending/<bundle>.json`` before
its bundle, holds an exclusive lock on it while it writes and logs, and removes it once its
MLflow run is FINISHED. A marker that is left behind (a tracking outage, a killed process)
says what ``oversight sync`` needs: the bundle, the tracking URI, the time, the error and
the benchmark's dataset record. The lock tells a live owner from a dead one: the kernel
drops it when the process dies, so sync never logs a bundle that its run is still logging.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import pandas as pd

from ..errors import EvidenceError, HarnessError
from .bundle import MANIFEST, Bundle, read_manifest, sha256_file
from .naming import owner, sweep_leftovers
from .signing import SIGNATURE
from .store import DEFAULT_TIMEOUT

__all__ = ["PENDING_DIR", "Pending", "SyncResult", "pending_markers", "sync"]

PENDING_DIR = Path(".oversight") / "pending"
Status = Literal["logged", "in_progress", "never_completed", "failed"]


class Pending:
    """The pending marker of one bundle, locked by this process until it is resolved."""

    def __init__(self, out_dir: Path, bundle_name: str, *, tracking_uri: str, dataset: dict[str, Any]) -> None:
        folder = out_dir / PENDING_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{bundle_name}.json"
        self.record: dict[str, Any] = {
            "bundle": str((out_dir / bundle_name).resolve()), "tracking_uri": tracking_uri,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "error": None, "owner": owner(), "dataset": dataset,
        }
        tmp = folder / f".{bundle_name}.json.tmp"
        self._fh: IO[str] | None = open(tmp, "w", encoding="utf-8")
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        self._fh.write(json.dumps(self.record, indent=1))
        self._fh.flush()
        os.replace(tmp, self.path)

    def failed(self, error: str) -> None:
        """Record why logging failed and let go of the marker, for sync to pick up."""
        if self._fh is None:
            return
        self.record["error"] = error
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(json.dumps(self.record, indent=1))
        self._fh.flush()
        self._release()

    def resolved(self) -> None:
        """The run is FINISHED (or the bundle was never written): the marker goes."""
        self.path.unlink(missing_ok=True)
        self._release()

    def _release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the lock
            self._fh = None


@dataclass(frozen=True)
class SyncResult:
    bundle: str
    status: Status
    run_id: str | None
    message: str


def pending_markers(out_dir: Path) -> list[Path]:
    folder = Path(out_dir) / PENDING_DIR
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def sync(out_dir: Path, *, tracking_uri: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> list[SyncResult]:
    """Log every pending bundle of ``out_dir``; ``tracking_uri`` overrides the one each run was given."""
    sweep_leftovers(Path(out_dir))
    return [_sync_one(marker, tracking_uri, timeout) for marker in pending_markers(out_dir)]


def _sync_one(marker: Path, tracking_uri: str | None, timeout: float) -> SyncResult:
    from .tracking import log_evaluation

    try:
        fh = open(marker, "r+", encoding="utf-8")
    except FileNotFoundError:  # resolved by its owner meanwhile
        return SyncResult(marker.stem, "logged", None, "logged by its own run meanwhile")
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return SyncResult(marker.stem, "in_progress", None, "its run is still being written or logged")
        try:
            record = json.loads(fh.read())
            bundle = Path(record["bundle"])
            uri = tracking_uri or record["tracking_uri"]
        except (ValueError, KeyError, TypeError) as exc:
            return SyncResult(marker.stem, "failed", None, f"{marker}: unreadable pending marker: {exc}")
        if not (bundle / MANIFEST).is_file():
            marker.unlink()
            return SyncResult(str(bundle), "never_completed", None,
                              "its run died before the bundle was complete; nothing to log")
        try:
            run_id = log_evaluation(*_from_files(bundle), record["dataset"], tracking_uri=uri, timeout=timeout,
                                    parent=record.get("parent"))  # nested as at run time, in the same store
        except HarnessError as exc:
            return SyncResult(str(bundle), "failed", None, str(exc))
        marker.unlink()
        return SyncResult(str(bundle), "logged", run_id, f"MLflow run {run_id} at {uri}")


def _from_files(bundle: Path) -> tuple[Bundle, dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """What ``log_evaluation`` needs, read back from the bundle alone."""
    manifest = read_manifest(bundle)
    try:
        summary = json.loads((bundle / "summary.json").read_text(encoding="utf-8"))
        measurements = pd.read_csv(bundle / "measurements.csv", float_precision="round_trip")
        verdicts = pd.read_csv(bundle / "verdicts.csv", keep_default_na=False)
        signed = bundle / SIGNATURE
        signature = json.loads(signed.read_text(encoding="utf-8")) if signed.exists() else None
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"{bundle}: cannot read the bundle to log it: {exc}") from None
    digest = sha256_file(bundle / MANIFEST)
    return Bundle(bundle, manifest, digest, signature), {**summary, "manifest_sha256": digest}, measurements, verdicts
