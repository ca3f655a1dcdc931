"""The lab's ledger: every assessment in a hash chain the lab signs, so no attempt can be dropped.

Each entry holds the previous entry's hash (64 zeros for the first), the submission's and
the bundle's manifest's hashes, the profile, the vendor's key and the verdict, and is signed
by the lab (format: ``ledger_entry``). Removing, reordering or editing an entry breaks a
hash, the chain or a signature (checks: ``ledger_checks``); only a lab's key makes a valid
entry.

An entry is appended under an exclusive lock on ``<ledger>.lock``, so two assessments at
once get consecutive positions and a submission cap cannot be passed twice, with one
``write`` of the whole line and an ``fsync``: a crash mid-write leaves a last line without
its newline, which reading names as torn and appending refuses to build on until
``repair_torn`` moves it aside.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import time
from pathlib import Path
from typing import Any, Iterator

from ..errors import EvidenceError, InputError
from ..evidence.signing import Signer, fingerprint
from .ledger_checks import structure, verify_ledger
from .ledger_entry import (GENESIS, Finding, LedgerEntry, Numbered, canonical, entry_line, entry_sha256,
                           field_problem, parse, read_ledger)

__all__ = ["GENESIS", "Finding", "LedgerEntry", "append_entry", "attempts", "entry_sha256", "read_ledger",
           "repair_torn", "verify_ledger"]

LOCK_WAIT_S = 30.0


def _utc(when: dt.datetime | None, what: str = "now") -> dt.datetime:
    if when is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    if when.tzinfo is None:
        raise InputError(f"{what}: expected a timezone-aware time, found the naive time {when.isoformat()}")
    return when.astimezone(dt.timezone.utc).replace(microsecond=0)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold ``<ledger>.lock`` exclusively; the kernel drops it if this process dies."""
    lock = path.with_name(path.name + ".lock")
    wait = LOCK_WAIT_S
    with open(lock, "a", encoding="utf-8") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EvidenceError(f"{lock}: another process has held the ledger's lock for {wait:g} s; "
                                        "try again when its assessment is done") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_line(path: Path, line: bytes) -> None:
    """Append the whole line with one write, then fsync (and the folder's entry for a new file)."""
    created = not path.exists()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            folder = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
    except OSError as exc:
        raise EvidenceError(f"{path}: cannot append the entry: {exc.strerror or exc}") from None
    if written != len(line):
        raise EvidenceError(f"{path}: only {written} of {len(line)} bytes of the entry were written; its last "
                            "line is torn")


def _existing(path: Path) -> Numbered:
    """The ledger's entries, if it is whole enough to extend; EvidenceError naming what is not."""
    if not path.exists():
        return []
    numbered, findings = parse(path)
    findings += structure(numbered)
    if findings:
        raise EvidenceError(f"{path}: refusing to append to a damaged ledger: {findings[0]}"
                            + (f" (and {len(findings) - 1} more; see `oversight ledger verify`)"
                               if len(findings) > 1 else ""))
    return numbered


def _check_cap_arguments(max_submissions: int | None, per_days: int | None) -> None:
    if (max_submissions is None) != (per_days is None):
        raise InputError(f"a submission cap needs both max_submissions and per_days; found max_submissions="
                         f"{max_submissions}, per_days={per_days}")
    for name, value in (("max_submissions", max_submissions), ("per_days", per_days)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InputError(f"{name}: expected a positive integer, found {value!r}")


def _check_cap(numbered: Numbered, body: dict[str, Any], max_submissions: int,
               per_days: int, now: dt.datetime) -> None:
    since = now - dt.timedelta(days=per_days)
    prior = [e for _, e in numbered if e.vendor_key == body["vendor_key"] and e.profile_id == body["profile_id"]
             and dt.datetime.fromisoformat(e.assessed_at) >= since]
    if len(prior) >= max_submissions:
        raise InputError(f"vendor key {body['vendor_key']}: {len(prior)} submission(s) to profile "
                         f"{body['profile_id']} in the {per_days} days before {now.isoformat()} (ledger positions "
                         f"{', '.join(str(e.position) for e in prior)}); the profile allows {max_submissions} "
                         f"per {per_days} days")


def append_entry(path: Path | str, *, submission_sha256: str, manifest_sha256: str, profile_id: str,
                 profile_version: str, profile_sha256: str, vendor_key: str, verdict: str, lab_private_key: Any,
                 now: dt.datetime | None = None, max_submissions: int | None = None,
                 per_days: int | None = None) -> LedgerEntry:
    """Append one signed entry and return it. ``lab_private_key``: a ``Signer`` or an Ed25519 private key.

    With ``max_submissions`` and ``per_days`` the cap is checked under the same lock as the
    append, so two assessments at once cannot both pass it.
    """
    path = Path(path)
    _check_cap_arguments(max_submissions, per_days)
    key = lab_private_key.private_key if isinstance(lab_private_key, Signer) else lab_private_key
    when = _utc(now)
    body: dict[str, Any] = {
        "submission_sha256": submission_sha256, "manifest_sha256": manifest_sha256, "profile_id": profile_id,
        "profile_version": profile_version, "profile_sha256": profile_sha256, "vendor_key": vendor_key,
        "verdict": verdict, "assessed_at": when.isoformat(), "lab_key": fingerprint(Signer("lab", key).public_bytes),
    }
    problems = [p for name, value in body.items() if (p := field_problem(name, value))]
    if problems:
        raise InputError(f"{path}: cannot append the entry: " + "; ".join(problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        numbered = _existing(path)
        if max_submissions is not None and per_days is not None:
            _check_cap(numbered, body, max_submissions, per_days, when)
        last = numbered[-1][1] if numbered else None
        body = {"position": len(numbered), "previous_sha256": last.entry_sha256 if last else GENESIS, **body}
        payload = canonical(body)
        entry = LedgerEntry(**body, entry_sha256=hashlib.sha256(payload).hexdigest(),
                            signature=base64.b64encode(key.sign(payload)).decode("ascii"))
        _write_line(path, entry_line(entry))
    return entry


def attempts(path: Path | str, *, vendor_key: str, profile_id: str, since: dt.datetime) -> list[LedgerEntry]:
    """The vendor's entries for the profile assessed at or after ``since`` (none if there is no ledger yet)."""
    path = Path(path)
    if not path.exists():
        return []
    start = _utc(since, "since")
    return [e for e in read_ledger(path) if e.vendor_key == vendor_key and e.profile_id == profile_id
            and dt.datetime.fromisoformat(e.assessed_at) >= start]


def repair_torn(path: Path | str, *, now: dt.datetime | None = None) -> Path | None:
    """Move a torn last line (an append that a crash cut short) aside, so appending can go on.

    The torn bytes are kept in ``<ledger>.torn-<UTC time>``, never dropped; any other damage
    is refused, as it needs an auditor, not a repair. Returns that file, or None when the
    last line is complete.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such ledger file")
    with _locked(path):
        numbered, findings = parse(path)
        findings += structure(numbered)
        torn = [f for f in findings if f.kind == "torn"]
        if len(torn) != len(findings):
            other = next(f for f in findings if f.kind != "torn")
            raise EvidenceError(f"{path}: refusing to repair: {other}; only a torn last line is repaired")
        if not torn:
            return None
        data = path.read_bytes()
        keep = data.rfind(b"\n") + 1
        aside = path.with_name(f"{path.name}.torn-{_utc(now).strftime('%Y%m%dT%H%M%SZ')}")
        try:
            fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, data[keep:])
                os.fsync(fd)
            finally:
                os.close(fd)
            with open(path, "r+b") as fh:
                fh.truncate(keep)
                os.fsync(fh.fileno())
        except OSError as exc:
            raise EvidenceError(f"{path}: cannot repair the torn last line: {exc.strerror or exc}") from None
    return aside
