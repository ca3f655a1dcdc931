"""A ledger entry, its canonical bytes, and reading a ledger file line by line.

One JSON object per line (JSON Lines, UTF-8, a newline after every entry). An entry's
*body* is every field but ``entry_sha256`` and ``signature``; its canonical form is JSON
with keys sorted, no whitespace (separators ``,`` and ``:``) and non-ASCII characters
written as UTF-8, which for the ledger's fields (ASCII names, strings and one integer) are
the bytes RFC 8785 (JCS) gives. ``entry_sha256`` is the SHA-256 of those bytes and
``signature`` the lab's Ed25519 signature of them (base64). Each line is the whole entry in
the same canonical form.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal, Mapping

from ..errors import InputError

__all__ = ["FIELDS", "GENESIS", "VERDICTS", "Finding", "FindingKind", "LedgerEntry", "Numbered", "body", "canonical",
           "entry_line", "entry_sha256", "field_problem", "parse", "read_ledger"]

GENESIS = "0" * 64
Verdict = Literal["compliant", "non_compliant", "inconclusive"]
VERDICTS: tuple[str, ...] = ("compliant", "non_compliant", "inconclusive")
FindingKind = Literal["unreadable", "torn", "removed", "reordered", "duplicate", "broken_chain", "edited",
                      "signature_invalid", "unknown_key", "replaced", "mirror_invalid", "forked", "unmirrored"]
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HASHES = ("previous_sha256", "submission_sha256", "manifest_sha256", "profile_sha256", "vendor_key", "lab_key",
           "entry_sha256")

@dataclass(frozen=True)
class LedgerEntry:
    """One assessment; ``vendor_key`` and ``lab_key`` are key fingerprints (``oversight keys``)."""

    position: int
    previous_sha256: str
    submission_sha256: str
    manifest_sha256: str
    profile_id: str
    profile_version: str
    profile_sha256: str
    vendor_key: str
    verdict: Verdict
    assessed_at: str
    lab_key: str
    entry_sha256: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELDS = tuple(f.name for f in fields(LedgerEntry))
Numbered = list[tuple[int, LedgerEntry]]  # entries with the line each was read from
_UNSIGNED = ("entry_sha256", "signature")


@dataclass(frozen=True)
class Finding:
    """One discrepancy of a ledger; ``position`` is None when the line could not be read."""

    kind: FindingKind
    position: int | None
    message: str

    def __str__(self) -> str:
        return self.message


class _Bad(Exception):
    """A line that is not a ledger entry; the message says why."""


def canonical(record: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def body(entry: LedgerEntry) -> dict[str, Any]:
    """The signed fields: every field but the hash and the signature."""
    return {k: v for k, v in asdict(entry).items() if k not in _UNSIGNED}


def entry_sha256(entry: LedgerEntry) -> str:
    """The SHA-256 of the entry's canonical body: what its ``entry_sha256`` must say."""
    return hashlib.sha256(canonical(body(entry))).hexdigest()


def entry_line(entry: LedgerEntry) -> bytes:
    return canonical(asdict(entry)) + b"\n"


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def field_problem(name: str, value: Any) -> str | None:
    """What is wrong with one field's value, or None."""
    if name == "position":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"position: expected a non-negative integer, found {json.dumps(value)}"
        return None
    if not isinstance(value, str):
        return f"{name}: expected a string, found {_json_type(value)}"
    if name in _HASHES and not _HEX64.match(value):
        return f"{name}: expected 64 lowercase hex digits, found {value!r}"
    if name == "verdict" and value not in VERDICTS:
        return f"verdict: expected one of {', '.join(VERDICTS)}, found {value!r}"
    if name == "assessed_at":
        try:
            aware = dt.datetime.fromisoformat(value).tzinfo is not None
        except ValueError:
            aware = False
        if not aware:
            return f"assessed_at: expected an ISO 8601 time with its UTC offset, found {value!r}"
    if not value:
        return f"{name}: expected a non-empty string"
    return None


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose names are unique: a second ``verdict`` must not hide behind the first."""
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise _Bad(f"the field {name!r} appears twice")
        seen[name] = value
    return seen


def _entry(raw: bytes) -> LedgerEntry:
    try:
        record = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique)
    except UnicodeDecodeError as exc:
        raise _Bad(f"not UTF-8 ({exc.reason} at byte {exc.start + 1})") from None
    except json.JSONDecodeError as exc:
        raise _Bad(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(record, dict):
        raise _Bad(f"expected a JSON object, found {_json_type(record)}")
    missing = [f for f in FIELDS if f not in record]
    extra = sorted(set(record) - set(FIELDS))
    problems = ([f"missing fields {missing}"] if missing else []) + ([f"unexpected fields {extra}"] if extra else [])
    problems += [p for f in FIELDS if f in record and (p := field_problem(f, record[f]))]
    if problems:
        raise _Bad("; ".join(problems))
    return LedgerEntry(**record)


def parse(path: Path) -> tuple[Numbered, list[Finding]]:
    """The entries with their line numbers, and a finding for every line that is not one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such ledger file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the ledger: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    tail = lines.pop()  # empty when the file ends with a newline, as a complete ledger does
    entries: Numbered = []
    findings: list[Finding] = []
    for number, raw in enumerate(lines, 1):
        try:
            entries.append((number, _entry(raw)))
        except _Bad as bad:
            findings.append(Finding("unreadable", None, f"line {number}: not a ledger entry: {bad}"))
    if tail:
        findings.append(Finding("torn", None, f"line {len(lines) + 1}: torn last line: {len(tail)} bytes "
                                "without the newline that ends every entry (a crash while appending?)"))
    return entries, findings


def read_ledger(path: Path | str) -> list[LedgerEntry]:
    """Every entry in file order; InputError naming each line that is not a complete entry."""
    path = Path(path)
    entries, findings = parse(path)
    if findings:
        raise InputError(f"{path}: not a readable ledger: " + "; ".join(f.message for f in findings))
    return [entry for _, entry in entries]
