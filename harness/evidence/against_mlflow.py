"""A bundle against the MLflow run that logged it: every tag, param, metric and artifact.

The expected content comes from ``tracking.expected_run``, the function the logging code
uses, so the two cannot drift. A run that should exist and does not, was deleted, did not
finish, or cannot be read, is never a silent pass.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import TrackingError
from .bundle import BUNDLE_FILES, MANIFEST, OPTIONAL_FILES, sha256_file
from .findings import Findings
from .signing import SIGNATURE

__all__ = ["against_mlflow", "pending_marker"]


def pending_marker(bundle: Path) -> Path:
    """Where a run that could not reach its tracking server leaves its bundle for ``oversight sync``."""
    return bundle.parent / ".oversight" / "pending" / f"{bundle.name}.json"


def against_mlflow(bundle: Path, manifest: dict[str, Any], digest: str, found: Findings, *,
                   tracking_uri: str | None, run_id: str | None = None) -> None:
    """Find the run by manifest hash (or take ``run_id``) and compare it with the bundle."""
    from .runs import RunRef, find_run

    try:
        runs = find_run(digest, tracking_uri=tracking_uri) if run_id is None else [RunRef(run_id, "", False)]
    except TrackingError as exc:
        found.unchecked.append(f"MLflow: could not be read: {exc}")
        found.unreachable = True
        return
    chosen = _choose(bundle, digest, runs, found)
    if chosen is None:
        return
    with tempfile.TemporaryDirectory(prefix="oversight-verify-") as scratch:
        from .runs import read_run

        try:
            record = read_run(chosen.run_id, tracking_uri=tracking_uri, dst=Path(scratch))
        except TrackingError as exc:
            found.unchecked.append(f"MLflow: could not be read: {exc}")
            found.unreachable = True
            return
        if record.deleted:
            found.unchecked.append(f"MLflow: run {record.run_id} logged this bundle but was deleted")
            return
        if record.status != "FINISHED":
            found.problems.append(f"MLflow run {record.run_id}: status {record.status}; expected FINISHED "
                                  "(the logging did not complete)")
        try:
            _compare_content(bundle, digest, record, found)
        except (OSError, ValueError, KeyError) as exc:  # a bundle file missing or unreadable: named above
            found.problems.append(f"MLflow run {record.run_id}: tags, params and metrics not compared, the bundle's "
                                  f"summary, measurements or verdicts are unreadable ({type(exc).__name__}: {exc})")
        _compare_artifacts(bundle, record, found)
    found.checks.append(f"MLflow: run {chosen.run_id} compared with the bundle (every tag, param, metric and "
                        "artifact the harness logs)")


def _choose(bundle: Path, digest: str, runs: list[Any], found: Findings) -> Any:
    active = [r for r in runs if not r.deleted]
    if not runs:
        if pending_marker(bundle).exists():
            found.unchecked.append("MLflow: not logged yet (the tracking server was unreachable at run time); "
                                   "run `oversight sync`")
        else:
            found.unchecked.append(f"MLflow: no run logged this bundle (searched every experiment for tag "
                                   f"oversight.manifest_sha256 = {digest})")
        return None
    if not active:
        ids = ", ".join(r.run_id for r in runs)
        found.unchecked.append(f"MLflow: run {ids} logged this bundle but was deleted")
        return None
    chosen = next((r for r in active if r.status == "FINISHED"), active[0])
    for other in runs:
        if other is not chosen:
            state = "deleted" if other.deleted else other.status
            found.checks.append(f"MLflow: run {other.run_id} ({state}) also carries this manifest hash; "
                                f"compared run {chosen.run_id}")
    return chosen


def _compare_content(bundle: Path, digest: str, record: Any, found: Findings) -> None:
    from .tracking import OPERATIONAL_TAGS, expected_run

    summary = json.loads((bundle / "summary.json").read_text(encoding="utf-8"))
    measurements = pd.read_csv(bundle / "measurements.csv")
    verdicts = pd.read_csv(bundle / "verdicts.csv", keep_default_na=False)
    signer = None
    if (bundle / SIGNATURE).is_file():
        signer = json.loads((bundle / SIGNATURE).read_text(encoding="utf-8")).get("fingerprint")
    want = expected_run(summary, measurements, verdicts, digest, signer_fingerprint=signer)
    where = f"MLflow run {record.run_id}"
    logged_tags = {k: v for k, v in record.tags.items() if k.startswith("oversight.") and k not in OPERATIONAL_TAGS}
    _compare(f"{where}: tag", logged_tags, want.tags, found)
    _compare(f"{where}: param", record.params, want.params, found)
    _compare(f"{where}: metric", record.metrics, want.metrics, found)


def _compare(what: str, logged: dict[str, Any], want: dict[str, Any], found: Findings) -> None:
    for key, value in want.items():
        if key not in logged:
            found.problems.append(f"{what} {key} is missing, the bundle says {value!r}")
        elif logged[key] != value:
            found.problems.append(f"{what} {key} is {logged[key]!r}, the bundle says {value!r}")
    for key in sorted(set(logged) - set(want)):
        found.problems.append(f"{what} {key} = {logged[key]!r} is not in the bundle")


def _compare_artifacts(bundle: Path, record: Any, found: Findings) -> None:
    where = f"MLflow run {record.run_id}"
    optional = [n for n in (SIGNATURE, *OPTIONAL_FILES) if (bundle / n).is_file()]
    names = [*BUNDLE_FILES, MANIFEST, *optional]
    for name in names:
        if name not in record.artifacts:
            found.problems.append(f"{where}: artifact evidence/{name} is missing")
        elif not (bundle / name).is_file():
            continue  # already named as missing from the bundle
        elif sha256_file(record.local / name) != sha256_file(bundle / name):
            found.problems.append(f"{where}: artifact evidence/{name} differs from the bundle")
    for name in sorted(set(record.artifacts) - set(names)):
        found.problems.append(f"{where}: artifact evidence/{name} is not in the bundle")
