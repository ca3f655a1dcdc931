"""Text and JSON views of an evaluation for the terminal and for other tools."""

from __future__ import annotations

import math
from typing import Any, Sequence

from .evaluation import Evaluation
from .labels import group_text

__all__ = ["evaluation_json", "verdict_table"]

_MARK = {"pass": "PASS", "fail": "FAIL", "flag": "FLAG", "inconclusive": "INCONCLUSIVE",
         "insufficient_data": "INSUFFICIENT DATA", "reported": "reported"}


def _num(x: Any) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _clean(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return None
    if hasattr(x, "item"):
        return _clean(x.item())
    return x


def verdict_table(result: Evaluation) -> str:
    s = result.summary
    p = s["profile"]
    conf = f"{s['confidence']:.0%}"
    exploratory = _exploratory(s)
    header = [
        f"{p['title']}  [{p['id']} v{p['version']}, {p['authority']}]",
        f"verdict: {result.verdict.upper().replace('_', '-')}{' (EXPLORATORY)' if exploratory else ''}   "
        f"policy: {result.policy_status} "
        f"({result.policy.message}; as of {result.policy.as_of})",
        f"benchmark {s['benchmark']['id']} ({s['benchmark']['split']}, {s['benchmark']['rows']:,} rows)   "
        f"model {s['model']['kind']} {s['model']['fingerprint'][:12]}",
    ]
    if exploratory:
        header.append(f"EXPLORATORY: {exploratory}")
    newer = result.policy.superseded_by
    if newer is not None:
        header.append(f"SUPERSEDED: {newer.id} v{newer.version} is in force on {result.policy.as_of} (since "
                      f"{newer.effective_from}); this verdict is for v{p['version']}")
    merged = result.measurements.merge(result.verdicts[["requirement", "group", "status", "reason", "blocking"]],
                                       on=["requirement", "group"])
    rows = [("req", "group", "metric", "value", f"{conf} CI", "n", "status", "reason")]
    labels = s["benchmark"].get("labels")
    for m in merged.itertuples(index=False):
        ci = "" if math.isnan(m.ci_low) else f"[{_num(m.ci_low)}, {_num(m.ci_high)}]"
        req = m.requirement + ("" if m.blocking else "*")
        rows.append((req, group_text(m.family, m.group, labels), m.metric, _num(m.value), ci, f"{m.n:,}", _MARK[m.status], m.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(7)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:7], widths)) + "  " + r[7] for r in rows]
    lines.insert(1, "-" * min(160, sum(widths) + 14 + 40))
    unknown = {k: v for k, v in s["counts"]["unknown_category"].items() if v}
    footer = ["* not blocking: reported for information"]
    if unknown:
        footer.append("unknown category (left out of the groups): "
                      + ", ".join(f"{k}: {v:,}" for k, v in unknown.items()))
    if result.bundle:
        footer.append(f"evidence: {result.bundle}")
    if result.run_id:
        footer.append(f"MLflow run: {result.run_id}")
    return "\n".join(header + [""] + lines + [""] + footer)


def _exploratory(summary: dict[str, Any]) -> str:
    """Why the run is not evidence, or "" when it judged the profile's split."""
    conformance = summary.get("conformance", {"conformant": True})
    return "" if conformance["conformant"] else str(conformance["reason"])


def evaluation_json(result: Evaluation) -> dict[str, Any]:
    reqs = []
    merged = result.measurements.merge(
        result.verdicts[["requirement", "group", "status", "reason", "compared"]], on=["requirement", "group"])
    labels = result.summary["benchmark"].get("labels")
    for info in result.summary["requirements"]:
        part = merged[merged["requirement"] == info["id"]]
        groups = [_group_json(row, labels) for row in part.to_dict("records")]
        statuses = [g["status"] for g in groups]
        reqs.append({**info, "status": _worst(statuses), "groups": groups})
    return {
        "verdict": result.verdict,
        "conformant": not _exploratory(result.summary),
        "conformance_reason": _exploratory(result.summary) or None,
        "favourable_decision": result.summary.get("favourable_decision", 1),
        "policy_status": result.policy_status,
        "policy": {k: v for k, v in result.policy.record().items() if k != "status"},
        "profile": result.summary["profile"],
        "benchmark": result.summary["benchmark"],
        "model": result.summary["model"],
        "confidence": result.summary["confidence"],
        "requirements": reqs,
        "unknown_category": result.summary["counts"]["unknown_category"],
        "bundle": str(result.bundle) if result.bundle else None,
        "run_id": result.run_id,
        "tracking_pending": str(result.pending) if result.pending else None,
    }


def _group_json(row: dict[str, Any], labels: Any) -> dict[str, Any]:
    """A group's measurement and verdict; ``group`` keeps the code, ``group_label`` names it."""
    out = {k: _clean(v) for k, v in row.items() if k != "requirement"}
    out["group_label"] = group_text(str(row["family"]), str(row["group"]), labels)
    return out


_ORDER = ["fail", "flag", "inconclusive", "insufficient_data", "pass", "reported"]


def _worst(statuses: Sequence[str]) -> str:
    return min(statuses, key=_ORDER.index) if statuses else "reported"
