"""What an auditor reads on a run's page in the MLflow UI without opening a file.

The run's name says which profile judged which model and how; its description (MLflow's
note, the tag ``mlflow.note.content``) is a short Markdown summary: the verdict, the policy
status, one row per requirement with its worst status, and where the evidence is. Both are
derived from the bundle's summary and verdicts, so ``oversight sync`` writes the same page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from .metric_names import metric_key

__all__ = ["NOTE_TAG", "STATUS_ORDER", "requirement_status", "run_name", "run_note", "worst"]

NOTE_TAG = "mlflow.note.content"
STATUS_ORDER = ("fail", "flag", "inconclusive", "insufficient_data", "pass", "reported")


def worst(statuses: Iterable[str]) -> str:
    """The status that decides a requirement: a failure anywhere outweighs passes elsewhere."""
    found = [s for s in statuses if s in STATUS_ORDER]
    return min(found, key=STATUS_ORDER.index) if found else "reported"


def requirement_status(verdicts: pd.DataFrame) -> dict[str, str]:
    """Each requirement's worst status over its groups, in the profile's order."""
    if verdicts.empty:
        return {}
    return {str(req): worst(part["status"].astype(str)) for req, part in verdicts.groupby("requirement", sort=False)}


def run_name(summary: dict[str, Any]) -> str:
    """``hiring-aedt v1 · non_compliant · bfdfa89e1c2d``: reruns of another model or verdict look different."""
    p = summary["profile"]
    fingerprint = summary["model"]["fingerprint"][:12] or "predictions"
    return f"{p['id']} v{p['version']} · {summary['verdict']} · {fingerprint}"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def run_note(summary: dict[str, Any], verdicts: pd.DataFrame, *, bundle_path: str) -> str:
    """The run's description: verdict, policy, the requirements table, where the evidence is."""
    p, policy = summary["profile"], summary["policy"]
    status = requirement_status(verdicts)
    lines = [
        f"**{summary['verdict'].replace('_', ' ').upper()}** against {_cell(p['title'])} "
        f"({p['id']} v{p['version']}, {_cell(p['authority'])})",
        "",
        f"Policy: **{policy['status'].replace('_', ' ')}** ({_cell(policy['message'])}; as of {policy['as_of']}).",
    ]
    conformance = summary.get("conformance", {})
    if conformance and not conformance.get("conformant", True):
        lines += ["", f"EXPLORATORY: {_cell(conformance['reason'])}"]
    lines += ["", "| requirement | metric | threshold | rule | blocking | status | metrics |",
              "|---|---|---|---|---|---|---|"]
    for req in summary["requirements"]:
        prefix = metric_key(req["id"], req["metric"], "", "value").rstrip("/")
        lines.append(f"| {req['id']} {_cell(req['title'])} | {req['metric']} | {_cell(req['threshold'])} | "
                     f"{req['rule']} | {'yes' if req['blocking'] else 'no'} | "
                     f"**{status.get(req['id'], 'reported')}** | `{prefix}/…` |")
    bench, model = summary["benchmark"], summary["model"]
    lines += [
        "",
        f"Benchmark {bench['id']} ({bench['split']} split, {bench['rows']:,} rows, SHA-256 `{bench['sha256'][:16]}…`); "
        f"model {model['kind']} `{model['fingerprint'][:16] or 'n/a'}`.",
        "",
        f"Evidence: the artifacts under `evidence/` (the bundle {_cell(bundle_path)}); `manifest.json` hashes every "
        f"file, SHA-256 `{summary.get('manifest_sha256', '')}`. Re-verify with `oversight verify`.",
        "",
        "Metric names: `<requirement>.<metric>/<group>` is the value; `detail/<requirement>.<metric>.<group>.ci_low`, "
        "`.ci_high` and `.n` the interval and the group's size. In a group, `_` is written `__`, ` × ` `_x_`, "
        "`+` `_plus_` and other symbols `_<name>_` or `_u<hex>_`.",
    ]
    return "\n".join(lines) + "\n"
