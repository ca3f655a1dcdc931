"""The ledger: every assessment on a signed hash chain; removing, reordering or editing one is named."""

from __future__ import annotations

import base64
import datetime as dt
import json
import multiprocessing
from pathlib import Path

import pytest

from harness.conformity.ledger import (GENESIS, LedgerEntry, append_entry, attempts, entry_sha256, read_ledger,
                                       repair_torn, verify_ledger)
from harness.errors import EvidenceError, InputError
from harness.evidence.signing import fingerprint, generate_keys, load_signer

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
VENDOR_A, VENDOR_B = "a" * 64, "b" * 64


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("keys")
    for name in ("lab", "other"):
        generate_keys(root, name=name)
    return {"lab": root / "lab.key", "lab.pub": root / "lab.pub", "other": root / "other.key",
            "other.pub": root / "other.pub"}


def _append(path: Path, key: Path, *, vendor: str = VENDOR_A, verdict: str = "non_compliant", day: int = 0,
            n: int = 0, **extra) -> LedgerEntry:
    return append_entry(path, submission_sha256=f"{n:064x}", manifest_sha256=f"{n + 100:064x}",
                        profile_id="hiring-aedt", profile_version="1", profile_sha256="c" * 64, vendor_key=vendor,
                        verdict=verdict, lab_private_key=load_signer(key), now=T0 + dt.timedelta(days=day), **extra)


@pytest.fixture(scope="module")
def five(keys, tmp_path_factory) -> Path:
    """A ledger of five entries from two vendors, all signed by the lab."""
    path = tmp_path_factory.mktemp("ledger") / "hiring.jsonl"
    for n, vendor in enumerate((VENDOR_A, VENDOR_B, VENDOR_A, VENDOR_A, VENDOR_B)):
        _append(path, keys["lab"], vendor=vendor, verdict="compliant" if n == 3 else "non_compliant", day=n, n=n)
    return path


@pytest.fixture
def lines(five) -> list[str]:
    return five.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "tampered.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _messages(path: Path, keys, **kw) -> list[str]:
    return [f.message for f in verify_ledger(path, [keys["lab.pub"]], **kw)]


def _hash(lines: list[str], i: int) -> str:
    return json.loads(lines[i])["entry_sha256"]


def test_entries_chain_each_to_the_one_before_and_are_signed_by_the_lab(five, keys):
    entries = read_ledger(five)
    lab = fingerprint(load_signer(keys["lab"]).public_bytes)
    assert [e.position for e in entries] == [0, 1, 2, 3, 4]
    assert entries[0].previous_sha256 == GENESIS
    assert [e.previous_sha256 for e in entries[1:]] == [e.entry_sha256 for e in entries[:-1]]
    assert all(e.entry_sha256 == entry_sha256(e) and e.lab_key == lab for e in entries)
    assert entries[3].verdict == "compliant" and entries[3].assessed_at == "2026-11-04T09:00:00+00:00"
    assert verify_ledger(five, [keys["lab.pub"]]) == []


def test_an_entry_is_one_canonical_json_line(five):
    first = five.read_bytes().split(b"\n")[0]
    record = json.loads(first)
    assert first == json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    body = {k: v for k, v in record.items() if k not in ("entry_sha256", "signature")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    import hashlib

    assert record["entry_sha256"] == hashlib.sha256(canonical).hexdigest()
    assert len(base64.b64decode(record["signature"])) == 64


@pytest.mark.parametrize(("removed", "expected"), [
    (0, "entry removed: position 0 is missing; the ledger starts at position 1 (line 1)"),
    (2, "entry removed: position 2 is missing, between position 1 (line 2) and position 3 (line 3)"),
])
def test_a_removed_entry_is_named(lines, tmp_path, keys, removed, expected):
    path = _write(tmp_path, lines[:removed] + lines[removed + 1:])
    assert _messages(path, keys) == [expected]


def test_two_removed_entries_are_named_as_one_gap(lines, tmp_path, keys):
    path = _write(tmp_path, lines[:1] + lines[3:])
    assert _messages(path, keys) == ["entry removed: positions 1 to 2 are missing, between position 0 (line 1) "
                                     "and position 3 (line 2)"]


def test_a_removed_last_entry_is_named_against_the_hash_known_for_it(lines, tmp_path, keys):
    path = _write(tmp_path, lines[:-1])
    assert _messages(path, keys) == []  # a shorter chain is valid on its own
    known = {4: _hash(lines, 4), 3: _hash(lines, 3)}
    assert _messages(path, keys, expected=known) == [
        f"entry removed: position 4 (entry_sha256 {known[4]}) is known, but the ledger ends at position 3"]


def test_a_replaced_entry_is_named_against_the_hash_known_for_it(lines, tmp_path, keys, five):
    path = _write(tmp_path, lines)
    assert _messages(path, keys, expected={2: "d" * 64}) == [
        f"entry replaced at position 2 (line 3): its entry_sha256 is {_hash(lines, 2)}, but {'d' * 64} is known "
        "for this position"]


def test_swapped_entries_are_named_as_reordered(lines, tmp_path, keys):
    path = _write(tmp_path, [lines[0], lines[2], lines[1], *lines[3:]])
    assert _messages(path, keys) == ["entries reordered: line 3 holds position 1, after position 2 on line 2"]


def test_a_duplicated_entry_is_named(lines, tmp_path, keys):
    path = _write(tmp_path, [*lines, lines[1]])
    assert _messages(path, keys) == ["position 1 appears twice: on line 2 and on line 6"]


def _edit(line: str, **changes) -> str:
    record = {**json.loads(line), **changes}
    return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"


def test_an_edited_field_is_named_with_both_hashes_and_the_signature(lines, tmp_path, keys):
    edited = _edit(lines[2], verdict="compliant")
    path = _write(tmp_path, [*lines[:2], edited, *lines[3:]])
    content = entry_sha256(LedgerEntry(**json.loads(edited)))
    assert _messages(path, keys) == [
        f"entry edited at position 2 (line 3): its content hashes to {content}, but its entry_sha256 is "
        f"{_hash(lines, 2)}",
        f"signature invalid at position 2 (line 3): it is not lab key {json.loads(lines[2])['lab_key']}'s Ed25519 "
        "signature of the entry"]


def _resign(line: str, key: Path, *, claim: str | None = None, **changes) -> str:
    """The entry edited, its hash recomputed and signed with ``key``, claiming ``claim``'s fingerprint."""
    signer = load_signer(key)
    record = {**json.loads(line), **changes, "lab_key": claim or fingerprint(signer.public_bytes)}
    body = {k: v for k, v in record.items() if k not in ("entry_sha256", "signature")}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    import hashlib

    record["entry_sha256"] = hashlib.sha256(payload).hexdigest()
    record["signature"] = base64.b64encode(signer.private_key.sign(payload)).decode()
    return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"


def test_an_entry_re_signed_with_another_key_is_named_and_breaks_the_next_link(lines, tmp_path, keys):
    forged = _resign(lines[2], keys["other"], verdict="compliant")
    path = _write(tmp_path, [*lines[:2], forged, *lines[3:]])
    other, lab = (fingerprint(load_signer(keys[k]).public_bytes) for k in ("other", "lab"))
    assert _messages(path, keys) == [
        f"signed by an unknown key at position 2 (line 3): lab key {other} is not one of the trusted keys ({lab})",
        f"broken chain at position 3 (line 4): previous_sha256 is {_hash(lines, 2)}, but the entry at position 2 "
        f"(line 3) has entry_sha256 {json.loads(forged)['entry_sha256']}"]


def test_an_entry_signed_with_another_key_under_the_labs_name_is_an_invalid_signature(lines, tmp_path, keys):
    lab = fingerprint(load_signer(keys["lab"]).public_bytes)
    forged = _resign(lines[4], keys["other"], claim=lab, verdict="compliant")
    path = _write(tmp_path, [*lines[:4], forged])
    assert _messages(path, keys) == [f"signature invalid at position 4 (line 5): it is not lab key {lab}'s Ed25519 "
                                     "signature of the entry"]
    assert _messages(path, {"lab.pub": keys["other.pub"]})[0].startswith("signed by an unknown key at position 0")


def test_a_truncated_last_line_is_named_as_torn(lines, tmp_path, keys):
    path = _write(tmp_path, [*lines[:4], lines[4][:50]])
    assert _messages(path, keys) == [
        "line 5: torn last line: 50 bytes without the newline that ends every entry (a crash while appending?)"]
    with pytest.raises(InputError) as err:
        read_ledger(path)
    assert str(err.value) == (f"{path}: not a readable ledger: line 5: torn last line: 50 bytes without the "
                              "newline that ends every entry (a crash while appending?)")


def test_a_broken_line_is_named_with_its_line_number_and_reason(lines, tmp_path, keys):
    record = json.loads(lines[1])
    del record["verdict"]
    twice = lines[2].replace('{"assessed_at"', '{"verdict":"compliant","assessed_at"')
    bad = [lines[0], json.dumps({**record, "position": -1, "extra": 1}) + "\n", "[1]\n", "{oops\n", twice,
           *lines[3:]]
    path = _write(tmp_path, bad)
    with pytest.raises(InputError) as err:
        read_ledger(path)
    assert str(err.value) == (
        f"{path}: not a readable ledger: line 2: not a ledger entry: missing fields ['verdict']; unexpected fields "
        "['extra']; position: expected a non-negative integer, found -1; line 3: not a ledger entry: expected a "
        "JSON object, found an array; line 4: not a ledger entry: invalid JSON at column 2: Expecting property name "
        "enclosed in double quotes; line 5: not a ledger entry: the field 'verdict' appears twice")


def test_appending_refuses_to_build_on_a_damaged_ledger(lines, tmp_path, keys):
    torn = _write(tmp_path, [*lines[:4], lines[4][:50]])
    with pytest.raises(EvidenceError) as err:
        _append(torn, keys["lab"], n=9)
    assert str(err.value) == (f"{torn}: refusing to append to a damaged ledger: line 5: torn last line: 50 bytes "
                              "without the newline that ends every entry (a crash while appending?)")
    gap = _write(tmp_path, lines[:1] + lines[2:])
    with pytest.raises(EvidenceError, match="refusing to append to a damaged ledger: entry removed: position 1"):
        _append(gap, keys["lab"], n=9)
    assert gap.read_text(encoding="utf-8") == "".join(lines[:1] + lines[2:])


def test_append_checks_its_arguments_and_writes_nothing_on_bad_ones(tmp_path, keys):
    path = tmp_path / "l.jsonl"
    with pytest.raises(InputError) as err:
        _append(path, keys["lab"], vendor="ABC", verdict="pass")
    assert str(err.value) == (f"{path}: cannot append the entry: vendor_key: expected 64 lowercase hex digits, "
                              "found 'ABC'; verdict: expected one of compliant, non_compliant, inconclusive, "
                              "found 'pass'")
    with pytest.raises(InputError, match="now: expected a timezone-aware time, found the naive time 2026-11-01"):
        append_entry(path, submission_sha256="0" * 64, manifest_sha256="0" * 64, profile_id="p",
                     profile_version="1", profile_sha256="0" * 64, vendor_key=VENDOR_A, verdict="compliant",
                     lab_private_key=load_signer(keys["lab"]), now=dt.datetime(2026, 11, 1))
    assert not path.exists()


def test_repair_moves_a_torn_last_line_aside_and_appending_goes_on(lines, tmp_path, keys):
    path = _write(tmp_path, [*lines[:4], lines[4][:50]])
    aside = repair_torn(path, now=T0)
    assert aside == path.with_name("tampered.jsonl.torn-20261101T090000Z")
    assert aside.read_text(encoding="utf-8") == lines[4][:50]
    assert path.read_text(encoding="utf-8") == "".join(lines[:4])
    assert repair_torn(path) is None
    assert _append(path, keys["lab"], n=9).position == 4
    assert verify_ledger(path, [keys["lab.pub"]]) == []
    gap = _write(tmp_path, [lines[0], *lines[2:4], lines[4][:50]])
    with pytest.raises(EvidenceError) as err:
        repair_torn(gap)
    assert str(err.value) == (f"{gap}: refusing to repair: entry removed: position 1 is missing, between position 0 "
                              "(line 1) and position 2 (line 2); only a torn last line is repaired")


def test_a_cap_needs_both_of_its_numbers(tmp_path, keys):
    with pytest.raises(InputError) as err:
        _append(tmp_path / "l.jsonl", keys["lab"], max_submissions=3)
    assert str(err.value) == "a submission cap needs both max_submissions and per_days; found max_submissions=3, " \
        "per_days=None"
    with pytest.raises(InputError, match="^per_days: expected a positive integer, found 0$"):
        _append(tmp_path / "l.jsonl", keys["lab"], max_submissions=3, per_days=0)


def test_attempts_counts_one_vendors_entries_for_a_profile_since_a_time(five):
    since = T0 + dt.timedelta(days=2)
    assert [e.position for e in attempts(five, vendor_key=VENDOR_A, profile_id="hiring-aedt", since=T0)] == [0, 2, 3]
    assert [e.position for e in attempts(five, vendor_key=VENDOR_A, profile_id="hiring-aedt", since=since)] == [2, 3]
    assert attempts(five, vendor_key=VENDOR_A, profile_id="other", since=T0) == []
    assert attempts(five.with_name("absent.jsonl"), vendor_key=VENDOR_A, profile_id="hiring-aedt", since=T0) == []


def test_the_cap_is_enforced_per_vendor_under_the_lock(tmp_path, keys):
    path = tmp_path / "capped.jsonl"
    cap = {"max_submissions": 2, "per_days": 30}
    _append(path, keys["lab"], day=0, n=0, **cap)
    _append(path, keys["lab"], day=10, n=1, **cap)
    _append(path, keys["lab"], vendor=VENDOR_B, day=11, n=2, **cap)
    with pytest.raises(InputError) as err:
        _append(path, keys["lab"], day=29, n=3, **cap)
    assert str(err.value) == (f"vendor key {VENDOR_A}: 2 submission(s) to profile hiring-aedt in the 30 days before "
                              "2026-11-30T09:00:00+00:00 (ledger positions 0, 1); the profile allows 2 per 30 days")
    assert _append(path, keys["lab"], day=31, n=4, **cap).position == 3  # the first attempt is 31 days old


def test_a_lock_held_too_long_and_a_short_write_are_named(tmp_path, keys, monkeypatch):
    import fcntl
    import os

    import harness.conformity.ledger as ledger

    path = tmp_path / "held.jsonl"
    monkeypatch.setattr(ledger, "LOCK_WAIT_S", 0.2)
    with open(tmp_path / "held.jsonl.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(EvidenceError) as err:
            _append(path, keys["lab"])
    assert str(err.value) == (f"{path}.lock: another process has held the ledger's lock for 0.2 s; try again when "
                              "its assessment is done")
    write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: write(fd, data[:40]))
    with pytest.raises(EvidenceError) as err:
        _append(path, keys["lab"])
    monkeypatch.undo()
    whole = len(_line_of(_append(tmp_path / "whole.jsonl", keys["lab"])))
    assert str(err.value) == (f"{path}: only 40 of {whole} bytes of the entry were written; its last line is torn")
    assert len(path.read_bytes()) == 40
    assert [f.kind for f in verify_ledger(path, [keys["lab.pub"]])] == ["torn"]


def _line_of(entry: LedgerEntry) -> bytes:
    return (json.dumps(entry.as_dict(), sort_keys=True, separators=(",", ":")) + "\n").encode()


def _append_many(path: str, key: str, start: int, go) -> None:
    go.wait(30)
    for n in range(start, start + 25):
        _append(Path(path), Path(key), n=n, day=n % 100)


def test_two_processes_appending_at_once_get_one_unbroken_chain(tmp_path, keys):
    path = tmp_path / "busy.jsonl"
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    procs = [ctx.Process(target=_append_many, args=(str(path), str(keys["lab"]), s, go)) for s in (0, 100)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(read_ledger(path)) == 50
    assert verify_ledger(path, [keys["lab.pub"]]) == []
