"""Checking a ledger: each discrepancy named, with its position and line.

Without keys: an entry edited (its hash no longer matches its body), entries reordered or
duplicated, removed (a gap in the positions) or a broken link. With the lab's public keys:
a signature that does not verify, or a key nobody trusts. Against hashes known from
elsewhere (a bundle that cites its entry, the MLflow mirror): entries removed from the end,
which leave a shorter chain that is valid on its own, or replaced.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..evidence.signing import _public_bytes, load_public_keys
from .ledger_entry import (GENESIS, Finding, FindingKind, LedgerEntry, Numbered, body, canonical, entry_sha256,
                           parse)

__all__ = ["entry_problems", "structure", "trusted_keys", "verify_ledger"]


def _where(line: int, entry: LedgerEntry) -> str:
    return f"position {entry.position} (line {line})"


def _order(numbered: Numbered) -> list[Finding]:
    findings: list[Finding] = []
    first: dict[int, int] = {}
    for i, (line, e) in enumerate(numbered):
        if e.position in first:
            findings.append(Finding("duplicate", e.position, f"position {e.position} appears twice: on line "
                                    f"{first[e.position]} and on line {line}"))
            continue
        first[e.position] = line
        before_line, before = numbered[i - 1] if i else (0, None)
        if before is not None and e.position < before.position:
            findings.append(Finding("reordered", e.position, f"entries reordered: line {line} holds position "
                                    f"{e.position}, after position {before.position} on line {before_line}"))
    return findings


def _span(low: int, high: int) -> str:
    return f"position {low} is" if low == high else f"positions {low} to {high} are"


def _chain(numbered: Numbered) -> list[Finding]:
    """Gaps and broken links, in the order of positions (a reordered file is judged once, by ``_order``)."""
    by_position: dict[int, tuple[int, LedgerEntry]] = {}
    for line, e in numbered:
        by_position.setdefault(e.position, (line, e))
    findings: list[Finding] = []
    previous: tuple[int, LedgerEntry] | None = None
    for position, (line, e) in sorted(by_position.items()):
        if previous is None and position > 0:
            findings.append(Finding("removed", 0, f"entry removed: {_span(0, position - 1)} missing; the ledger "
                                    f"starts at {_where(line, e)}"))
        elif previous is None and e.previous_sha256 != GENESIS:
            findings.append(Finding("broken_chain", 0, f"broken chain at {_where(line, e)}: previous_sha256 is "
                                    f"{e.previous_sha256}; expected 64 zeros for the first entry"))
        elif previous is not None and position != previous[1].position + 1:
            findings.append(Finding("removed", previous[1].position + 1, f"entry removed: "
                                    f"{_span(previous[1].position + 1, position - 1)} missing, between "
                                    f"{_where(*previous)} and {_where(line, e)}"))
        elif previous is not None and e.previous_sha256 != previous[1].entry_sha256:
            findings.append(Finding("broken_chain", position, f"broken chain at {_where(line, e)}: previous_sha256 "
                                    f"is {e.previous_sha256}, but the entry at {_where(*previous)} has "
                                    f"entry_sha256 {previous[1].entry_sha256}"))
        previous = (line, e)
    return findings


def structure(numbered: Numbered) -> list[Finding]:
    """Every discrepancy that needs no key: edited, reordered, duplicated, removed, broken links."""
    edited = [Finding(kind, e.position, f"{_LABEL[kind]} at {_where(line, e)}: {why}")
              for line, e in numbered for kind, why in _hash_problems(e)]
    return edited + _order(numbered) + _chain(numbered)


def trusted_keys(keys: Mapping[str, Path] | Iterable[Path]) -> dict[str, Any]:
    """Ed25519 public keys by fingerprint, from ``.pub`` files, folders of them or ``load_public_keys``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    paths = list(keys.values()) if isinstance(keys, Mapping) else [Path(k) for k in keys]
    return {fp: Ed25519PublicKey.from_public_bytes(_public_bytes(p)) for fp, p in load_public_keys(paths).items()}


_LABEL = {"edited": "entry edited", "unknown_key": "signed by an unknown key",
          "signature_invalid": "signature invalid"}


def _hash_problems(e: LedgerEntry) -> list[tuple[FindingKind, str]]:
    actual = entry_sha256(e)
    return [] if actual == e.entry_sha256 else [
        ("edited", f"its content hashes to {actual}, but its entry_sha256 is {e.entry_sha256}")]


def _signature_problems(e: LedgerEntry, keys: dict[str, Any]) -> list[tuple[FindingKind, str]]:
    from cryptography.exceptions import InvalidSignature

    key = keys.get(e.lab_key)
    if key is None:
        trusted = ", ".join(sorted(keys)) or "none given"
        return [("unknown_key", f"lab key {e.lab_key} is not one of the trusted keys ({trusted})")]
    try:
        key.verify(base64.b64decode(e.signature, validate=True), canonical(body(e)))
    except (ValueError, InvalidSignature):
        return [("signature_invalid", f"it is not lab key {e.lab_key}'s Ed25519 signature of the entry")]
    return []


def entry_problems(entry: LedgerEntry, keys: dict[str, Any]) -> list[tuple[FindingKind, str]]:
    """What is wrong with one entry on its own (kind, reason): its hash, its signature, its key."""
    return _hash_problems(entry) + _signature_problems(entry, keys)


def _against(numbered: Numbered, expected: Mapping[int, str]) -> list[Finding]:
    """Entries known from elsewhere: a missing tail (a gap in the middle is named by ``_chain``) or a replacement."""
    by_position = {e.position: (line, e) for line, e in reversed(numbered)}
    last = max(by_position, default=-1)
    findings: list[Finding] = []
    for position, sha in sorted(expected.items()):
        if position > last:
            ends = f"ends at position {last}" if numbered else "has no entries"
            findings.append(Finding("removed", position, f"entry removed: position {position} (entry_sha256 {sha}) "
                                    f"is known, but the ledger {ends}"))
        elif position in by_position and by_position[position][1].entry_sha256 != sha:
            line, e = by_position[position]
            findings.append(Finding("replaced", position, f"entry replaced at {_where(line, e)}: its entry_sha256 is "
                                    f"{e.entry_sha256}, but {sha} is known for this position"))
    return findings


def verify_ledger(path: Path | str, lab_public_keys: Mapping[str, Path] | Iterable[Path], *,
                  expected: Mapping[int, str] | None = None) -> list[Finding]:
    """Every discrepancy of the ledger (empty: intact), in the order of its lines.

    ``lab_public_keys``: ``.pub`` files or folders of them (or what ``load_public_keys``
    returns). ``expected``: entry hashes by position known from elsewhere (a bundle, the
    MLflow mirror), which is what catches entries removed from the end.
    """
    path = Path(path)
    keys = trusted_keys(lab_public_keys)
    numbered, findings = parse(path)
    findings += [Finding(kind, e.position, f"{_LABEL[kind]} at {_where(line, e)}: {why}")
                 for line, e in numbered for kind, why in entry_problems(e, keys)]
    return findings + _order(numbered) + _chain(numbered) + _against(numbered, expected or {})
