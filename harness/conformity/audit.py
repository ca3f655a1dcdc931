"""An auditor's checks of an assessment bundle, beyond those of every bundle (``harness.evidence.verify``).

With public keys alone: the vendor's signature over the submission kept in the bundle, that
its predictions are the bundle's predictions and its profile hash the bundle's profile, that
the verdict's record names the keys that really signed, and the ledger entry that records the
bundle. With the sealed part as well, the commitment is checked here and the measurements are
recomputed by ``verify`` on the sealed labels.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HarnessError
from ..evidence.findings import Findings
from .submission import SUBMISSION_FILE, Submission, parse_submission

__all__ = ["check_assessment", "check_sealed"]


def check_assessment(bundle: Path, manifest: dict[str, Any], digest: str, trusted: dict[str, Path] | None, *,
                     ledger: Path | None, found: Findings) -> Submission | None:
    """Check the submission inside an assessment bundle and the ledger entry; the submission, if readable."""
    try:
        sub = parse_submission((bundle / SUBMISSION_FILE).read_bytes(), source=f"{bundle.name}/{SUBMISSION_FILE}",
                               path=bundle / SUBMISSION_FILE)
    except (HarnessError, OSError) as exc:
        found.problems.append(f"{SUBMISSION_FILE}: {exc}")
        return None
    found.checks.append(f"{SUBMISSION_FILE}: valid Ed25519 signature by vendor {sub.body.vendor.name} (key "
                        f"{sub.vendor_key}) over every prediction, the profile hash and the commitment")
    _vendor_trusted(sub, trusted, found)
    summary = _json(bundle / "summary.json")
    _record(bundle, sub, summary.get("assessment", {}), found)
    _judged_on_commitment(manifest, sub, found)
    _same_predictions(bundle, sub, summary, found)
    profile_sha = hashlib.sha256((bundle / "profile.yaml").read_bytes()).hexdigest()
    if profile_sha != sub.body.profile.sha256:
        found.problems.append(f"profile.yaml: SHA-256 {profile_sha}, but the submission committed to profile "
                              f"{sub.body.profile.id} v{sub.body.profile.version} with SHA-256 "
                              f"{sub.body.profile.sha256}")
    else:
        found.checks.append("profile.yaml: the profile the submission committed to (same SHA-256)")
    _ledger(ledger, digest, sub, summary, trusted, found)
    return sub


def check_sealed(sealed: Path, sub: Submission, found: Findings) -> bool:
    """The sealed part is the one the vendor's public release committed to; False (and a problem) if not."""
    from .seal import check_commitment

    try:
        check_commitment(sealed, commitment=sub.body.benchmark.commitment,
                         from_sha256=sub.body.benchmark.from_sha256)
    except HarnessError as exc:
        found.problems.append(f"--sealed {sealed}: {exc}")
        return False
    found.checks.append(f"sealed part {sealed}: its labels are the ones committed to (SHA-256 "
                        f"{sub.body.benchmark.commitment})")
    return True


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _vendor_trusted(sub: Submission, trusted: dict[str, Path] | None, found: Findings) -> None:
    if trusted is None:
        found.skipped.append("submission: the vendor's key was not checked against trusted keys (give --public-key)")
    elif sub.vendor_key in trusted:
        found.checks.append(f"submission: vendor key {sub.vendor_key} is trusted ({trusted[sub.vendor_key]})")
    else:
        found.problems.append(f"{SUBMISSION_FILE}: signed by vendor key {sub.vendor_key}, which is not among the "
                              f"{len(trusted)} trusted key(s)")


def _record(bundle: Path, sub: Submission, record: dict[str, Any], found: Findings) -> None:
    """The verdict's assessment record names the submission and the keys that really signed."""
    signature = _json(bundle / "signature.json")
    want = {"submission_sha256": sub.sha256, "vendor_key": sub.vendor_key, "lab_key": signature.get("fingerprint"),
            "commitment": sub.body.benchmark.commitment, "sealed_from": sub.body.benchmark.from_sha256}
    before = len(found.problems)
    for key, value in want.items():
        if record.get(key) != value:
            found.problems.append(f"summary.json assessment.{key}: {record.get(key)!r}, but the bundle's "
                                  f"{'signature.json' if key == 'lab_key' else SUBMISSION_FILE} gives {value!r}")
    if sub.vendor_key == signature.get("fingerprint"):
        found.problems.append(f"signature.json: the lab signed with the vendor's own key {sub.vendor_key}; an "
                              "assessment needs two parties")
    if len(found.problems) == before:
        found.checks.append("summary.json: the assessment names the submission, the vendor's key and the lab's key "
                            "that signed")


def _judged_on_commitment(manifest: dict[str, Any], sub: Submission, found: Findings) -> None:
    """The lab records judging the sealed file the vendor's release committed to (``--sealed`` proves it)."""
    files = manifest.get("inputs", {}).get("benchmark", {}).get("files", [])
    recorded = [f.get("sha256") for f in files if isinstance(f, dict)] if isinstance(files, list) else []
    if recorded != [sub.body.benchmark.commitment]:
        found.problems.append(f"manifest.json inputs.benchmark.files: SHA-256 {recorded}, but the submission's "
                              f"public release committed to the sealed file {sub.body.benchmark.commitment}")
    else:
        found.checks.append("manifest.json: the lab records judging the sealed file the release committed to")


def _same_predictions(bundle: Path, sub: Submission, summary: dict[str, Any], found: Findings) -> None:
    """Every prediction judged is the one the vendor signed, and no other."""
    from ..declared import read_predictions
    from ..evidence.checks import stored_predictions

    try:
        stored = stored_predictions(bundle)
        with tempfile.TemporaryDirectory(prefix="oversight-verify-") as scratch:
            path = Path(scratch) / "submitted.csv"
            path.write_bytes(sub.predictions_csv())
            signed = read_predictions(path, expected_ids=stored.ids, task=_task(bundle))
    except (HarnessError, OSError, ValueError, KeyError) as exc:
        found.problems.append(f"predictions.parquet: cannot be compared with the submission's: {exc}")
        return
    if len(stored.ids) != sub.body.predictions.rows:
        found.problems.append(f"predictions.parquet: {len(stored.ids)} rows, the submission "
                              f"{sub.body.predictions.rows}")
    for column in ("decision", "score", "value"):
        a, b = getattr(stored, column), getattr(signed, column)
        if (a is None) != (b is None):
            found.problems.append(f"predictions.parquet: {column} is {'absent' if a is None else 'present'}, the "
                                  f"submission has {'none' if b is None else 'one'}")
        elif a is not None and (differ := _differing(a, b)).size:
            found.problems.append(f"predictions.parquet: {column} differs from the signed submission on {differ.size} "
                                  f"of {len(a)} rows, first id {stored.ids[differ[0]].item()!r}")
    recorded = summary.get("model", {}).get("sha256")
    if recorded != sub.body.predictions.sha256:
        found.problems.append(f"summary.json model.sha256: {recorded!r}, the submission's predictions have SHA-256 "
                              f"{sub.body.predictions.sha256}")
    found.checks.append(f"predictions.parquet: the {len(stored.ids):,} predictions the vendor signed")


def _differing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Positions where two prediction columns differ; NaN equals NaN."""
    same = a == b
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    return np.flatnonzero(~same)


def _task(bundle: Path) -> str:
    from ..profile import parse_profile

    return parse_profile((bundle / "profile.yaml").read_text(encoding="utf-8")).task


def _ledger(ledger: Path | None, digest: str, sub: Submission, summary: dict[str, Any],
            trusted: dict[str, Path] | None, found: Findings) -> None:
    """The ledger is intact and records this bundle: its position, and the attempts before it."""
    if ledger is None:
        found.skipped.append("ledger: not checked (give --ledger FILE, the lab's published ledger)")
        return
    if trusted is None:
        found.skipped.append("ledger: not checked without the lab's public key (give --public-key)")
        return
    from .ledger import read_ledger, verify_ledger

    findings = verify_ledger(ledger, trusted)
    found.problems += [f"ledger {ledger}: {f.message}" for f in findings]
    if findings:
        return
    entries = read_ledger(ledger)
    mine = [e for e in entries if e.manifest_sha256 == digest]
    if not mine:
        found.problems.append(f"ledger {ledger}: no entry records this bundle (manifest SHA-256 {digest}); the "
                              "assessment is not on the record")
        return
    entry = mine[0]
    want = {"submission_sha256": sub.sha256, "vendor_key": sub.vendor_key, "verdict": summary.get("verdict"),
            "profile_sha256": sub.body.profile.sha256}
    for key, value in want.items():
        if getattr(entry, key) != value:
            found.problems.append(f"ledger {ledger} position {entry.position}: {key} {getattr(entry, key)!r}, the "
                                  f"bundle gives {value!r}")
    earlier = [e for e in entries if e.position < entry.position and e.vendor_key == sub.vendor_key
               and e.profile_id == entry.profile_id]
    found.checks.append(f"ledger {ledger}: intact ({len(entries)} entries); this bundle is position "
                        f"{entry.position}, after {len(earlier)} earlier attempt(s) by vendor key "
                        f"{sub.vendor_key} at profile {entry.profile_id}")
