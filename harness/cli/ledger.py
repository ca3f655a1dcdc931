"""Commands for the lab's ledger: ``oversight ledger show / verify / mirror / repair``.

``show`` lists every attempt, per vendor; ``verify`` (for auditors) checks the chain and the
lab's signatures, and names each discrepancy; ``mirror`` (for the lab) copies the entries
into MLflow, one run each; ``repair`` (for the lab) moves aside a last line that a crash cut
short.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from ..evidence.store import DEFAULT_TIMEOUT
from ._common import _guard, emit

_HEX = re.compile(r"^[0-9a-f]{8,64}$")
_EXPECT = re.compile(r"^(\d+):([0-9a-f]{64})$")
_LEDGER = click.option("--ledger", "path", required=True, type=click.Path(dir_okay=False, path_type=Path),
                       help="The ledger file (JSON Lines) the lab publishes.")


@click.group()
def ledger() -> None:
    """The lab's ledger of assessments: every attempt, hash-chained and signed by the lab."""


def _vendor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _HEX.match(value):
        raise click.BadParameter(f"{value!r}: expected a vendor key fingerprint, or at least its first 8 of 64 "
                                 "lowercase hex digits")
    return value


@ledger.command("show")
@_LEDGER
@click.option("--profile", "profile_id", help="Only the attempts at this profile id.")
@click.option("--vendor", callback=_vendor, help="Only this vendor key's attempts (its fingerprint or a prefix).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_guard
def show(path: Path, profile_id: str | None, vendor: str | None, as_json: bool) -> int:
    """List every attempt, per vendor: position, time, verdict and profile version."""
    from ..conformity.ledger import read_ledger

    entries = read_ledger(path)
    shown = [e for e in entries if (profile_id is None or e.profile_id == profile_id)
             and (vendor is None or e.vendor_key.startswith(vendor))]
    vendors: dict[str, list[Any]] = {}
    for e in shown:
        vendors.setdefault(e.vendor_key, []).append(e)
    if as_json:
        emit(json.dumps({"ledger": str(path), "entries": len(entries), "shown": len(shown), "verified": False,
                         "vendors": [{"vendor_key": k, "attempts": [e.as_dict() for e in v]}
                                     for k, v in vendors.items()]}), code=0)
        return 0
    lines = [f"ledger {path}: {len(entries)} entries, {len(shown)} shown (chain and signatures not checked here: "
             "see `oversight ledger verify`)"]
    for key, attempts in vendors.items():
        lines.append(f"vendor {key}: {len(attempts)} attempt(s)")
        lines += [f"  position {e.position:<4} {e.assessed_at}  {e.profile_id} v{e.profile_version}  {e.verdict}"
                  for e in attempts]
    emit("\n".join(lines), code=0)
    return 0


def _expected(values: tuple[str, ...]) -> dict[int, str]:
    known: dict[int, str] = {}
    for value in values:
        match = _EXPECT.match(value)
        if match is None:
            raise click.BadParameter(f"{value!r}: expected POSITION:SHA256, such as 4:{'0' * 64}",
                                     param_hint="'--expect'")
        known[int(match[1])] = match[2]
    return known


@ledger.command("verify")
@_LEDGER
@click.option("--public-key", "public_keys", multiple=True, required=True,
              type=click.Path(exists=True, path_type=Path),
              help="The lab's Ed25519 public key (.pub) or a folder of trusted keys; repeatable.")
@click.option("--expect", "expect", multiple=True, metavar="POSITION:SHA256",
              help="An entry hash known from elsewhere (a bundle that cites it); repeatable.")
@click.option("--tracking-uri", help="Compare with the ledger's mirror in this MLflow store (it must exist).")
@click.option("--tracking-timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds to wait for the tracking server per connection and per request.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_guard
def verify(path: Path, public_keys: tuple[Path, ...], expect: tuple[str, ...], tracking_uri: str | None,
           tracking_timeout: float, as_json: bool) -> int:
    """Check the chain and the lab's signatures: exit 0 when intact, 1 naming each discrepancy.

    Entries removed from the end leave a shorter chain that is valid on its own: they show
    only against --expect or the MLflow mirror (--tracking-uri).
    """
    from ..conformity.ledger import read_ledger, verify_ledger

    known = _expected(expect)
    if tracking_uri:
        from ..conformity.ledger_mlflow import verify_with_mirror

        findings = verify_with_mirror(path, public_keys, tracking_uri=tracking_uri, expected=known,
                                      timeout=tracking_timeout)
    else:
        findings = verify_ledger(path, public_keys, expected=known)
    count = None if findings else len(read_ledger(path))
    code = 1 if findings else 0
    if as_json:
        emit(json.dumps({"ledger": str(path), "intact": not findings, "entries": count,
                         "against_mirror": tracking_uri, "expected": len(known),
                         "findings": [{"kind": f.kind, "position": f.position, "message": f.message}
                                      for f in findings]}), code=code)
        return code
    if findings:
        lines = [f"NOT INTACT: {len(findings)} discrepancy(ies) in {path}"] + [f"  - {f.message}" for f in findings]
    else:
        lines = [f"intact: {count} entries"]
        if tracking_uri:
            lines.append(f"checked against the MLflow mirror at {tracking_uri}")
        elif not known:
            lines.append("note: entries removed from the end show only against --expect or --tracking-uri")
    emit("\n".join(lines), code=code)
    return code


@ledger.command("mirror")
@_LEDGER
@click.option("--tracking-uri", required=True, help="The MLflow store to mirror into.")
@click.option("--tracking-timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds to wait for the tracking server per connection and per request.")
@_guard
def mirror(path: Path, tracking_uri: str, tracking_timeout: float) -> int:
    """Copy the entries into MLflow, one run each in `oversight-ledger/<profile id>`; again adds only new ones."""
    from ..conformity.ledger_mlflow import mirror_ledger

    result = mirror_ledger(path, tracking_uri=tracking_uri, timeout=tracking_timeout)
    emit(f"mirrored {path} into MLflow at {tracking_uri}: {len(result.created)} new run(s), "
         f"{len(result.present)} already there", code=0)
    return 0


@ledger.command("repair")
@_LEDGER
@_guard
def repair(path: Path) -> int:
    """Move a torn last line (an append a crash cut short) into LEDGER.torn-<time>; refuse any other damage."""
    from ..conformity.ledger import read_ledger, repair_torn

    aside = repair_torn(path)
    count = len(read_ledger(path))
    if aside is None:
        emit(f"nothing to repair: the last line of {path} is complete ({count} entries)", code=0)
    else:
        emit(f"repaired {path}: its torn last line ({aside.stat().st_size} bytes) is kept in {aside}; "
             f"{count} entries remain", code=0)
    return 0
