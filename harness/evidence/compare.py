"""Every run of one profile side by side: model, profile version, date, signer, verdict, requirements.

Runs live in the MLflow experiment named after the profile id. Per-requirement results are
read from each run's own evidence, not from metrics: three small files per run
(``manifest.json``, ``verdicts.json``, ``measurements.json``), checked against the run's
``oversight.manifest_sha256`` tag and the manifest's file hashes, so an artifact edited
after logging is shown as such instead of being listed as a result.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import EvidenceError, InputError, TrackingError
from ..paired import metric_direction
from .bundle import sha256_file

__all__ = ["Comparison", "Format", "GroupResult", "RequirementResult", "RunResult", "compare_runs",
           "render_comparison"]

Format = Literal["table", "csv", "json", "markdown"]
# The status that decides a requirement first; ``reported`` (no threshold) last.
STATUS_ORDER = ("fail", "flag", "inconclusive", "insufficient_data", "pass", "reported")
_FILES = ["manifest.json", "verdicts.json", "measurements.json"]


@dataclass(frozen=True)
class GroupResult:
    group: str
    status: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None


@dataclass(frozen=True)
class RequirementResult:
    id: str
    metric: str
    status: str  # the most severe status among its groups
    key: GroupResult  # the group that decides the status (least favourable among the most severe)
    groups: tuple[GroupResult, ...]


@dataclass(frozen=True)
class RunResult:
    run_id: str
    started: str
    model: str
    profile_version: str
    as_of: str
    signer: str
    verdict: str
    policy_status: str
    evidence: str  # "ok", or what is wrong with the run's evidence files
    requirements: tuple[RequirementResult, ...]


@dataclass(frozen=True)
class Comparison:
    profile_id: str
    tracking_uri: str
    runs: tuple[RunResult, ...]
    truncated: bool  # more runs exist than were read


def compare_runs(profile_id: str, *, tracking_uri: str | None = None, max_runs: int = 100) -> Comparison:
    """The newest ``max_runs`` runs of ``profile_id``; an unknown profile or no runs is an ``InputError``."""
    from .runs import check_store, download_run_files, search_profile_runs

    uri = check_store(tracking_uri)
    found = search_profile_runs(profile_id, tracking_uri=uri, max_results=max_runs + 1)
    if not found:
        raise InputError(f"profile '{profile_id}': the MLflow experiment at {uri} has no runs")
    rows = []
    for run in found[:max_runs]:
        with tempfile.TemporaryDirectory(prefix="oversight-compare-") as scratch:
            try:
                folder, _ = download_run_files(run["run_id"], _FILES, Path(scratch), tracking_uri=uri)
                evidence, results = _read_evidence(folder, run["tags"])
            except (TrackingError, EvidenceError) as exc:
                evidence, results = f"unreadable: {exc}", ()
        rows.append(_run_result(run, evidence, results))
    return Comparison(profile_id, uri, tuple(rows), len(found) > max_runs)


def _run_result(run: dict[str, Any], evidence: str, results: tuple[RequirementResult, ...]) -> RunResult:
    tags = run["tags"]
    started = dt.datetime.fromtimestamp(run["start_time"] / 1000, dt.timezone.utc)
    kind, fp = tags.get("oversight.model_kind", ""), tags.get("oversight.model_fingerprint", "")
    signer = tags.get("oversight.signer") or tags.get("oversight.signer_fingerprint") or "unsigned"
    return RunResult(run["run_id"], started.isoformat(timespec="seconds"), f"{kind} {fp[:12]}".strip() or "?",
                     tags.get("oversight.profile_version", "?"), tags.get("oversight.as_of", "?"), signer,
                     tags.get("oversight.verdict", "?"), tags.get("oversight.policy_status", "?"), evidence, results)


def _read_evidence(folder: Path, tags: dict[str, str]) -> tuple[str, tuple[RequirementResult, ...]]:
    """The requirements of one run's evidence, and whether its files match the logged manifest."""
    problems = []
    manifest_path = folder / "manifest.json"
    if sha256_file(manifest_path) != tags.get("oversight.manifest_sha256"):
        problems.append("manifest.json differs from the run's oversight.manifest_sha256 tag")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        verdicts = json.loads((folder / "verdicts.json").read_text(encoding="utf-8"))
        measurements = json.loads((folder / "measurements.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvidenceError(f"{type(exc).__name__}: {exc}") from None
    for name in _FILES[1:]:
        if sha256_file(folder / name) != manifest.get("files", {}).get(name):
            problems.append(f"{name} differs from the manifest")
    return ("ok" if not problems else "ALTERED: " + "; ".join(problems)), _requirements(verdicts, measurements)


def _requirements(verdicts: list[dict], measurements: list[dict]) -> tuple[RequirementResult, ...]:
    measured = {(m["requirement"], m["group"]): m for m in measurements}
    order: dict[str, list[GroupResult]] = {}
    metric: dict[str, str] = {}
    for v in verdicts:
        m = measured.get((v["requirement"], v["group"]), {})
        n = m.get("n")
        order.setdefault(v["requirement"], []).append(GroupResult(
            v["group"], v["status"], m.get("value"), m.get("ci_low"), m.get("ci_high"),
            None if n is None else int(n)))
        metric[v["requirement"]] = v["metric"]
    return tuple(_requirement(rid, metric[rid], groups) for rid, groups in order.items())


def _requirement(rid: str, metric: str, groups: list[GroupResult]) -> RequirementResult:
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    worst = min(groups, key=lambda g: rank.get(g.status, len(rank))).status
    tied = [g for g in groups if g.status == worst]
    direction = metric_direction(metric)
    finite = [g for g in tied if g.value is not None and math.isfinite(g.value)]
    key = tied[0]
    if finite and direction != "none":
        key = (min if direction == "higher" else max)(finite, key=lambda g: g.value)
    return RequirementResult(rid, metric, worst, key, tuple(groups))


# --- rendering ----------------------------------------------------------------

_CSV_COLUMNS = ["run_id", "started", "model", "profile_version", "as_of", "signer", "verdict", "policy_status",
                "evidence", "requirement", "metric", "group", "status", "value", "ci_low", "ci_high", "n"]
_RUN_COLUMNS = ["run", "started", "model", "version", "as of", "signer", "verdict", "evidence"]


def render_comparison(comparison: Comparison, fmt: Format) -> str:
    """The comparison as an aligned text table, CSV (one row per group), JSON or Markdown."""
    if fmt == "json":
        return json.dumps({"profile_id": comparison.profile_id, "tracking_uri": comparison.tracking_uri,
                           "truncated": comparison.truncated, "runs": [asdict(r) for r in comparison.runs]},
                          indent=1)
    if fmt == "csv":
        return _csv(comparison)
    if fmt == "markdown":
        return _markdown(comparison)
    return _table(comparison)


def _num(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"


def measurement_text(g: GroupResult) -> str:
    """``group value [low, high]`` (the group omitted for the whole benchmark)."""
    interval = "" if g.ci_low is None and g.ci_high is None else f" [{_num(g.ci_low)}, {_num(g.ci_high)}]"
    return ("" if g.group == "all" else f"{g.group} ") + _num(g.value) + interval


def _status_text(r: RequirementResult) -> str:
    count = sum(g.status == r.status for g in r.groups)
    return r.status if len(r.groups) == 1 else f"{r.status} ({count}/{len(r.groups)} groups)"


def _run_cells(r: RunResult) -> list[str]:
    return [r.run_id[:12], r.started.replace("T", " ")[:16], r.model, r.profile_version, r.as_of, r.signer,
            r.verdict, r.evidence]


def _align(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def _header(c: Comparison) -> str:
    more = f" (the newest {len(c.runs)}; more exist)" if c.truncated else ""
    return f"profile {c.profile_id}: {len(c.runs)} run(s) at {c.tracking_uri}, newest first{more}"


def _table(c: Comparison) -> str:
    lines = [_header(c), ""]
    for run in c.runs:
        lines += _align([_RUN_COLUMNS, _run_cells(run)])
        reqs = [["", r.id, r.metric, _status_text(r), measurement_text(r.key)] for r in run.requirements]
        lines += _align(reqs) if reqs else []
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _markdown(c: Comparison) -> str:
    head = [*_RUN_COLUMNS, "requirement", "status", "key measurement"]
    lines = [f"**{_header(c)}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in c.runs:
        cells = _run_cells(run)
        for i, r in enumerate(run.requirements or [None]):
            first = cells if i == 0 else [""] * len(cells)
            rest = ["", "", ""] if r is None else [f"{r.id} ({r.metric})", _status_text(r), measurement_text(r.key)]
            lines.append("| " + " | ".join(x.replace("|", "\\|") for x in first + rest) + " |")
    return "\n".join(lines) + "\n"


def _csv(c: Comparison) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for run in c.runs:
        fixed = [run.run_id, run.started, run.model, run.profile_version, run.as_of, run.signer, run.verdict,
                 run.policy_status, run.evidence]
        for r in run.requirements:
            for g in r.groups:
                writer.writerow([*fixed, r.id, r.metric, g.group, g.status, *("" if x is None else repr(x) if
                                 isinstance(x, float) else x for x in (g.value, g.ci_low, g.ci_high, g.n))])
    return out.getvalue()
