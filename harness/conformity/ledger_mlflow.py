"""The ledger mirrored into MLflow: one run per entry, in the experiment ``oversight-ledger/<profile id>``.

Auditors browse the mirror beside the assessments' runs, and it is a second copy held by the
tracking server: what it holds and the file lost (entries removed from the end, which leave
a shorter chain that is valid on its own) is named by ``verify_with_mirror``. Each run
carries every field of its entry as a tag ``oversight.ledger.<field>``, so an entry is
rebuilt from its run alone and checked against the lab's signature before it is believed,
and ``oversight.ledger.id`` (the hash of the ledger's first entry) tells apart the ledgers
of several labs in one store. Mirroring is idempotent: an entry whose run exists is not
logged again. MLflow is used through an explicit ``MlflowClient``, never its global state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import EvidenceError, TrackingError
from ..evidence.runs import check_store
from ..evidence.store import DEFAULT_TIMEOUT, bounded_store
from .ledger_checks import entry_problems, structure, trusted_keys, verify_ledger
from .ledger_entry import FIELDS, Finding, LedgerEntry, field_problem, parse

__all__ = ["EXPERIMENT_PREFIX", "MirrorResult", "Mirrored", "mirror_ledger", "read_mirror", "verify_with_mirror"]

EXPERIMENT_PREFIX = "oversight-ledger/"
TAG = "oversight.ledger."
LEDGER_ID = TAG + "id"
_PAGE = 1000


@dataclass(frozen=True)
class MirrorResult:
    """Positions logged now and positions the mirror already held."""

    created: tuple[int, ...]
    present: tuple[int, ...]


@dataclass(frozen=True)
class Mirrored:
    """One run of the mirror: the entry rebuilt from its tags, or why it could not be."""

    run_id: str
    ledger_id: str
    entry: LedgerEntry | None
    problem: str | None


def _tags(entry: LedgerEntry, ledger_id: str) -> dict[str, str]:
    return {LEDGER_ID: ledger_id, **{TAG + k: str(v) for k, v in entry.as_dict().items()}}


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _all_runs(client: Any, experiment_ids: list[str], *, deleted: bool) -> list[Any]:
    from mlflow.entities import ViewType

    view = ViewType.ALL if deleted else ViewType.ACTIVE_ONLY
    runs: list[Any] = []
    token = None
    while experiment_ids:
        page = client.search_runs(experiment_ids, run_view_type=view, max_results=_PAGE, page_token=token)
        runs += list(page)
        token = page.token
        if not token:
            break
    return runs


def _experiment(client: Any, profile_id: str) -> str:
    """The ledger's experiment for this profile, created if needed (as evaluation runs' experiments are)."""
    from ..evidence.tracking import _experiment as experiment_named

    return experiment_named(client, EXPERIMENT_PREFIX + profile_id)


def _mirror(client: Any, entries: list[LedgerEntry]) -> MirrorResult:
    ledger_id = entries[0].entry_sha256
    created: list[int] = []
    present: list[int] = []
    for profile_id in sorted({e.profile_id for e in entries}):
        experiment_id = _experiment(client, profile_id)
        held = {r.data.tags.get(TAG + "entry_sha256"): r for r in _all_runs(client, [experiment_id], deleted=False)}
        for e in (e for e in entries if e.profile_id == profile_id):
            run = held.get(e.entry_sha256)
            if run is not None:
                if run.info.status == "RUNNING":  # a mirror that died after creating it: its tags are complete
                    client.set_terminated(run.info.run_id, "FINISHED")
                present.append(e.position)
                continue
            start = int(dt.datetime.fromisoformat(e.assessed_at).timestamp() * 1000)
            run_id = client.create_run(experiment_id, start_time=start, tags=_tags(e, ledger_id),
                                       run_name=f"{e.position:06d} {e.vendor_key[:8]} {e.verdict}").info.run_id
            client.set_terminated(run_id, "FINISHED", end_time=start)
            created.append(e.position)
    return MirrorResult(tuple(sorted(created)), tuple(sorted(present)))


def mirror_ledger(path: Path | str, *, tracking_uri: str, timeout: float = DEFAULT_TIMEOUT) -> MirrorResult:
    """Log every entry the mirror lacks; a damaged ledger is refused, so the mirror never copies tampering."""
    path = Path(path)
    numbered, findings = parse(path)
    findings += structure(numbered)
    if findings:
        raise EvidenceError(f"{path}: refusing to mirror a damaged ledger: {findings[0]}"
                            + (f" (and {len(findings) - 1} more; see `oversight ledger verify`)"
                               if len(findings) > 1 else ""))
    if not numbered:
        return MirrorResult((), ())
    from ..evidence.tracking import _quiet_mlflow, create_sqlite_store

    try:
        with _quiet_mlflow(), bounded_store(tracking_uri, timeout, create_sqlite=create_sqlite_store) as uri:
            return _mirror(_client(uri), [e for _, e in numbered])
    except TrackingError:
        raise
    except Exception as exc:
        raise TrackingError(f"MLflow at {tracking_uri} could not mirror the ledger {path}: "
                            f"{type(exc).__name__}: {exc}") from exc


def _rebuilt(run: Any) -> Mirrored:
    tags = run.data.tags
    record: dict[str, Any] = {f: tags.get(TAG + f) for f in FIELDS}
    missing = [f for f, v in record.items() if v is None]
    if missing:
        return Mirrored(run.info.run_id, tags.get(LEDGER_ID, ""), None, f"missing tags {[TAG + f for f in missing]}")
    record["position"] = int(record["position"]) if record["position"].isdigit() else record["position"]
    problems = [p for f in FIELDS if (p := field_problem(f, record[f]))]
    if problems:
        return Mirrored(run.info.run_id, tags.get(LEDGER_ID, ""), None, "; ".join(problems))
    return Mirrored(run.info.run_id, tags.get(LEDGER_ID, ""), LedgerEntry(**record), None)


def read_mirror(*, tracking_uri: str, timeout: float = DEFAULT_TIMEOUT) -> list[Mirrored]:
    """Every run of every ``oversight-ledger/`` experiment, deleted ones too; never creates a store."""
    from mlflow.entities import ViewType

    from ..evidence.tracking import _quiet_mlflow

    check_store(tracking_uri)
    try:
        with _quiet_mlflow(), bounded_store(tracking_uri, timeout, create_sqlite=_no_create) as uri:
            client = _client(uri)
            experiments = client.search_experiments(view_type=ViewType.ALL,
                                                    filter_string=f"name LIKE '{EXPERIMENT_PREFIX}%'")
            runs = _all_runs(client, [e.experiment_id for e in experiments], deleted=True)
    except TrackingError:
        raise
    except Exception as exc:
        raise TrackingError(f"cannot read the ledger mirror at {tracking_uri}: {type(exc).__name__}: {exc}") from exc
    return [_rebuilt(run) for run in runs]


def _no_create(path: Path) -> None:
    raise TrackingError(f"MLflow store: the SQLite file {path} does not exist; nothing was created")


def _mirror_findings(mirrored: list[Mirrored], keys: dict[str, Any], hashes: set[str],
                     uri: str) -> tuple[list[Finding], dict[int, str]]:
    """Findings about the mirror's own runs, and the entry hashes it vouches for, by position."""
    ids = {m.ledger_id for m in mirrored if m.entry is not None and m.entry.entry_sha256 in hashes}
    if not ids:
        return [Finding("unmirrored", None, f"the MLflow mirror at {uri} holds no entry of this ledger, so entries "
                        "removed from its end cannot be seen (mirror it with `oversight ledger mirror`)")], {}
    findings: list[Finding] = []
    known: dict[int, tuple[str, str]] = {}
    for m in (m for m in mirrored if m.ledger_id in ids):
        if m.entry is None:
            findings.append(Finding("mirror_invalid", None, f"MLflow run {m.run_id} of the mirror: not a ledger entry: "
                                    f"{m.problem}"))
            continue
        problems = entry_problems(m.entry, keys)
        if problems:
            findings += [Finding("mirror_invalid", m.entry.position, f"MLflow run {m.run_id} (mirrored position "
                                 f"{m.entry.position}): {why}") for _, why in problems]
            continue
        seen = known.setdefault(m.entry.position, (m.entry.entry_sha256, m.run_id))
        if seen[0] != m.entry.entry_sha256:
            findings.append(Finding("forked", m.entry.position, f"the lab signed two entries at position "
                                    f"{m.entry.position}: {seen[0]} (MLflow run {seen[1]}) and "
                                    f"{m.entry.entry_sha256} (MLflow run {m.run_id})"))
    return findings, {position: sha for position, (sha, _) in known.items()}


def verify_with_mirror(path: Path | str, lab_public_keys: Mapping[str, Path] | Iterable[Path], *,
                       tracking_uri: str, expected: Mapping[int, str] | None = None,
                       timeout: float = DEFAULT_TIMEOUT) -> list[Finding]:
    """``verify_ledger``, with every mirrored entry that the lab's key vouches for as known."""
    path = Path(path)
    keys = trusted_keys(lab_public_keys)
    numbered, _ = parse(path)
    hashes = {e.entry_sha256 for _, e in numbered}
    mirror, known = _mirror_findings(read_mirror(tracking_uri=tracking_uri, timeout=timeout), keys, hashes,
                                     tracking_uri)
    return verify_ledger(path, lab_public_keys, expected={**known, **(expected or {})}) + mirror
