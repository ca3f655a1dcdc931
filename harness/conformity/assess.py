"""The lab's side: judge a signed submission on the sealed labels, sign the bundle, record the attempt.

Before anything is judged: the vendor's signature must hold, the profile must be the one the
submission committed to (by SHA-256), the sealed part must be the one the public release
committed to, and the vendor key must be under the profile's submission cap. Judging is
``harness.evaluation.evaluate`` on the declared predictions, with the sealed part as the
benchmark: the same engine and bundle writer as ``oversight run``. The bundle keeps the
submission byte for byte, names both keys, and is signed by the lab; then the ledger records it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EvidenceError, InputError
from ..evaluation import Evaluation, Sealed, evaluate
from ..evidence.signing import fingerprint, load_signer
from ..profile import LoadedProfile, load_profile
from .ledger import LedgerEntry, append_entry, attempts, read_ledger
from .seal import check_commitment
from .submission import Submission, SubmissionError, read_submission

__all__ = ["Assessed", "assess", "ledger_path"]


@dataclass(frozen=True)
class Assessed:
    """An assessment: the evaluation (bundle, verdict, MLflow run) and the ledger entry that records it."""

    evaluation: Evaluation
    submission: Submission
    entry: LedgerEntry
    ledger: Path
    mirror_error: str | None = None  # why the ledger could not be mirrored into MLflow (the file holds the entry)


def ledger_path(folder: Path, profile_id: str) -> Path:
    """Where a lab keeps a profile's ledger by default: one file per profile, beside its bundles."""
    return folder / "ledger" / f"{profile_id}.jsonl"


def assess(submission: Path, *, sealed: Path, key: Path, out: Path, profile: Path | None = None,
           ledger: Path | None = None, tracking: bool = True, tracking_uri: str | None = None,
           as_of: dt.date | None = None, now: dt.datetime | None = None) -> Assessed:
    """Assess ``submission`` on the sealed part ``sealed`` and sign with the lab's ``key``.

    ``profile``: the profile file (default: the submission's id and version in the catalogue);
    it must be byte for byte the one committed to. ``ledger``: default ``ledger_path(out, id)``.
    """
    sub = read_submission(submission)
    loaded = _committed_profile(sub, profile)
    check_commitment(sealed, commitment=sub.body.benchmark.commitment, from_sha256=sub.body.benchmark.from_sha256)
    book = ledger if ledger is not None else ledger_path(out, loaded.profile.id)
    when = now or dt.datetime.now(dt.timezone.utc)
    _check_new(book, sub, loaded, when)
    signer = load_signer(key)
    lab_key = fingerprint(signer.public_bytes)
    record = _record(sub, lab=signer.name, lab_key=lab_key)
    source = {"kind": "file", "uri": "submission.json", "sha256": sub.body.predictions.sha256,
              "fingerprint": sub.body.model.fingerprint[:16]}
    with tempfile.TemporaryDirectory(prefix="oversight-assess-") as scratch:
        declared = Path(scratch) / "predictions.csv"
        declared.write_bytes(sub.predictions_csv())
        result = evaluate(loaded, predictions=declared, out=out, tracking=tracking, tracking_uri=tracking_uri,
                          as_of=as_of, sign_key=key,
                          sealed=Sealed(sealed.resolve(), source, record, {"submission.json": sub.data}))
    cap = loaded.profile.assessment
    manifest = result.summary["manifest_sha256"]
    try:
        entry = append_entry(book, submission_sha256=sub.sha256, manifest_sha256=manifest,
                             profile_id=loaded.profile.id, profile_version=str(loaded.profile.version),
                             profile_sha256=loaded.sha256, vendor_key=sub.vendor_key, verdict=result.verdict,
                             lab_private_key=signer, now=when,
                             max_submissions=cap.max_submissions if cap else None,
                             per_days=cap.per_days if cap else None)
    except (InputError, EvidenceError) as exc:
        raise type(exc)(f"{exc}; the bundle {result.bundle} was written but is not on the ledger {book}, so it is "
                        "not evidence of an assessment") from None
    return Assessed(result, sub, entry, book, _mirror(book, tracking_uri) if tracking else None)


def _mirror(book: Path, tracking_uri: str | None) -> str | None:
    """Mirror the ledger into the tracking store; a failure is returned, never raised: the file is the record."""
    from ..errors import TrackingError
    from ..evidence.tracking import resolved_uri
    from .ledger_mlflow import mirror_ledger

    uri = resolved_uri(tracking_uri)
    try:
        mirror_ledger(book, tracking_uri=uri)
    except TrackingError as exc:
        return f"{exc}; mirror it later with `oversight ledger mirror --ledger {book} --tracking-uri {uri}`"
    return None


def _committed_profile(sub: Submission, given: Path | None) -> LoadedProfile:
    """The profile the submission committed to; any other is refused before judging."""
    ref = sub.body.profile
    if given is None:
        from ..catalog import find_profile

        given = find_profile(f"{ref.id}@{ref.version}")
    loaded = load_profile(given)
    if loaded.sha256 != ref.sha256:
        p = loaded.profile
        raise SubmissionError(f"profile mismatch: submission {sub.path} was committed to profile {ref.id} "
                              f"v{ref.version} (SHA-256 {ref.sha256}), but would be judged against {given}, profile "
                              f"{p.id} v{p.version} (SHA-256 {loaded.sha256}); a submission is judged only against "
                              "the profile it committed to")
    return loaded


def _check_new(book: Path, sub: Submission, loaded: LoadedProfile, when: dt.datetime) -> None:
    """Refuse a submission already assessed, and a vendor key at the profile's cap (checked again on append)."""
    if book.exists():
        for entry in read_ledger(book):
            if entry.submission_sha256 == sub.sha256:
                raise SubmissionError(f"submission {sub.path} (SHA-256 {sub.sha256}) was already assessed: ledger "
                                      f"{book} position {entry.position}, verdict {entry.verdict}")
    cap = loaded.profile.assessment
    if cap is None:
        return
    since = when - dt.timedelta(days=cap.per_days)
    prior = attempts(book, vendor_key=sub.vendor_key, profile_id=loaded.profile.id, since=since)
    if len(prior) >= cap.max_submissions:
        raise InputError(f"submission cap reached: vendor key {sub.vendor_key} has {len(prior)} assessment(s) of "
                         f"profile {loaded.profile.id} since {since.isoformat(timespec='seconds')} (ledger {book} "
                         f"positions {', '.join(str(e.position) for e in prior)}); the profile allows "
                         f"{cap.max_submissions} per {cap.per_days} days")


def _record(sub: Submission, *, lab: str, lab_key: str) -> dict[str, Any]:
    """The summary's "assessment" section: who submitted what, against which commitment, and who judged it."""
    body = sub.body
    return {
        "submission_sha256": sub.sha256,
        "submitted_at": body.created_at,
        "vendor": body.vendor.name,
        "vendor_key": body.vendor.fingerprint,
        "lab": lab,
        "lab_key": lab_key,
        "model": body.model.model_dump(mode="json"),
        "sealed_from": body.benchmark.from_sha256,
        "commitment": body.benchmark.commitment,
    }
