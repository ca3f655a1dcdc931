"""What a report shows, computed once from the evaluation's outputs.

Both renderers read a ``ReportView``: the HTML and the Markdown report therefore list the
same requirements, groups, numbers and provenance, and differ only in layout. Each judged
group is a verdict joined with its measurement; measurements of a requirement that carry
no verdict (e.g. the selection rates behind an impact ratio) are kept as supporting rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.labels import Labels, group_text
from harness.report import formatting as fmt
from harness.report.provenance import ProvenanceSection, provenance

__all__ = ["GroupRow", "ProvenanceSection", "ReportView", "RequirementView", "build_view"]

_KEYS = ["requirement", "metric", "family", "group"]
_COUNT_LABELS = {"unknown_category": "Rows in an unknown category"}
_MEASURED = ["value", "ci_low", "ci_high", "interval", "n", "positives", "excluded",
             "p_value", "reference_group"]


@dataclass(frozen=True)
class GroupRow:
    """One group of one requirement: its measurement and, when judged, its verdict."""

    metric: str
    family: str
    group: str
    value: float
    ci_low: float
    ci_high: float
    interval: str
    n: float
    positives: float
    excluded: bool
    p_value: float
    reference_group: str
    status: str = ""
    reason: str = ""
    label: str = ""  # the group with the card's value labels; "" when it has none

    @property
    def group_text(self) -> str:
        return self.label or self.group

    @property
    def status_label(self) -> str:
        return fmt.STATUS_LABELS.get(self.status, self.status)

    @property
    def value_text(self) -> str:
        return fmt.proportion(self.value)

    @property
    def ci_text(self) -> str:
        return fmt.interval(self.ci_low, self.ci_high)

    @property
    def n_text(self) -> str:
        return fmt.count(self.n)

    @property
    def positives_text(self) -> str:
        return fmt.count(self.positives)

    @property
    def p_text(self) -> str:
        if self.reference_group and self.group == self.reference_group:
            return "reference"
        return fmt.p_value(self.p_value)


@dataclass(frozen=True)
class RequirementView:
    """One requirement of the profile with every group it was judged on."""

    id: str
    anchor: str
    title: str
    metric: str
    description: str
    blocking: bool
    rule: str
    threshold_text: str
    thresholds: tuple[float, ...]
    rows: tuple[GroupRow, ...]
    supporting: tuple[GroupRow, ...]
    bound_goals: tuple[float, ...] = ()  # the dual rule's goal for the confidence bound

    @property
    def worst_status(self) -> str:
        present = {row.status for row in self.rows} - {""}
        return next((s for s in fmt.STATUSES if s in present), min(present, default=""))

    @property
    def worst_label(self) -> str:
        return fmt.STATUS_LABELS.get(self.worst_status, self.worst_status) or fmt.NOT_APPLICABLE

    @property
    def status_counts(self) -> str:
        """E.g. "1 fail · 3 pass", worst first; statuses outside the known set come last."""
        statuses = [row.status for row in self.rows]
        order = [s for s in fmt.STATUSES if s in statuses]
        order += sorted(set(statuses) - set(order))
        parts = [f"{statuses.count(s)} {fmt.STATUS_LABELS.get(s, s)}" for s in order]
        return " · ".join(parts) or "no groups judged"

    @property
    def rule_text(self) -> str:
        return fmt.rule_label(self.rule)

    @property
    def has_p_values(self) -> bool:
        return any(not fmt.is_missing(row.p_value) for row in self.rows)

    @property
    def interval_methods(self) -> str:
        methods = dict.fromkeys(r.interval for r in self.rows if r.interval not in ("", "none"))
        return ", ".join(fmt.interval_method(m) for m in methods) or "none"

    @property
    def reference_groups(self) -> str:
        pairs = dict.fromkeys((r.family, r.reference_group) for r in self.rows if r.reference_group)
        if len({group for _, group in pairs}) == 1:
            return next(iter(pairs))[1]
        return "; ".join(f"{family}: {group}" for family, group in pairs)

    @property
    def has_excluded(self) -> bool:
        return any(row.excluded for row in (*self.rows, *self.supporting))


@dataclass(frozen=True)
class ReportView:
    """Everything either report prints, already worded and formatted."""

    title: str
    profile_id: str
    profile_version: str
    authority: str
    sector: str
    verdict: str
    verdict_label: str
    policy_status: str
    policy_label: str
    policy_message: str
    as_of: str
    ci_label: str
    requirements: tuple[RequirementView, ...]
    data_notes: tuple[str, ...]
    provenance: tuple[ProvenanceSection, ...]
    legal_basis: tuple[str, ...]
    harness_version: str
    created_at: str
    manifest_sha256: str
    profile_sha256: str = ""
    exploratory: str = ""  # why the run is not evidence; "" when it judged the profile's split
    favourable: str = ""  # which decision benefits the person, as selection rates count it
    labels: Labels | None = None  # the card's value labels, {column: {code: label}}

    @property
    def blocking_outcome(self) -> str:
        """E.g. "Of 5 blocking requirements: 2 failed, 1 flagged, 2 passed.": what decided the verdict."""
        blocking = [r.worst_status for r in self.requirements if r.blocking]
        if not blocking:
            return "No requirement is blocking, so none decides the verdict."
        parts = [f"{blocking.count(s)} {word}" for s, word in _OUTCOME_WORDS if blocking.count(s)]
        other = len(blocking) - sum(blocking.count(s) for s, _ in _OUTCOME_WORDS)
        parts += [f"{other} not judged"] if other else []
        noun = "requirement" if len(blocking) == 1 else "requirements"
        return f"Of {len(blocking)} blocking {noun}: {', '.join(parts)}."


def _measured(measurements: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(requirement, metric, group) of every measurement, in the table's order."""
    if measurements.empty or not {"requirement", "metric", "group"} <= set(measurements.columns):
        return []
    cols = measurements[["requirement", "metric", "group"]].astype(str)
    return list(cols.itertuples(index=False, name=None))


def build_view(
    summary: Mapping[str, Any], measurements: pd.DataFrame, verdicts: pd.DataFrame
) -> ReportView:
    """Join verdicts with their measurements and word the summary for a reader."""
    profile = summary.get("profile", {})
    policy = summary.get("policy", {})
    verdict = str(summary.get("verdict", ""))
    return ReportView(
        title=str(profile.get("title", "")),
        profile_id=str(profile.get("id", "")),
        profile_version=str(profile.get("version", "")),
        authority=str(profile.get("authority", "")),
        sector=str(profile.get("sector", "")),
        verdict=verdict,
        verdict_label=fmt.VERDICT_LABELS.get(verdict, verdict),
        policy_status=str(policy.get("status", "")),
        policy_label=fmt.POLICY_LABELS.get(policy.get("status", ""), str(policy.get("status", ""))),
        policy_message=str(policy.get("message", "")),
        as_of=str(policy.get("as_of", "")),
        ci_label=_ci_label(summary.get("confidence")),
        requirements=_requirements(summary, measurements, verdicts),
        data_notes=_data_notes(summary.get("counts", {})),
        provenance=provenance(summary, _measured(measurements)),
        legal_basis=tuple(str(x) for x in profile.get("legal_basis", [])),
        harness_version=str(summary.get("harness_version", "")),
        created_at=str(summary.get("created_at", "")),
        manifest_sha256=str(summary.get("manifest_sha256", "")),
        profile_sha256=str(profile.get("sha256", "")),
        exploratory=_exploratory(summary.get("conformance")),
        favourable=_favourable(summary.get("favourable_decision")),
        labels=_labels(summary.get("benchmark", {})),
    )


_OUTCOME_WORDS = (("fail", "failed"), ("flag", "flagged"), ("inconclusive", "inconclusive"),
                  ("insufficient_data", "with insufficient data"), ("pass", "passed"),
                  ("reported", "reported only"))


def _labels(benchmark: Mapping[str, Any]) -> Labels | None:
    labels = benchmark.get("labels") if isinstance(benchmark, Mapping) else None
    return labels if isinstance(labels, Mapping) and labels else None


def _favourable(decision: object) -> str:
    if decision not in (0, 1):
        return ""
    return f"decision {decision} (selection rates and impact ratios count decision {decision})"


def _exploratory(conformance: object) -> str:
    if not isinstance(conformance, Mapping) or conformance.get("conformant", True):
        return ""
    return str(conformance.get("reason", "exploratory run, not evidence"))


def _ci_label(confidence: object) -> str:
    if fmt.is_missing(confidence):
        return "CI"
    return f"{float(confidence) * 100:g}% CI"  # type: ignore[arg-type]


def _requirements(
    summary: Mapping[str, Any], measurements: pd.DataFrame, verdicts: pd.DataFrame
) -> tuple[RequirementView, ...]:
    """Requirements in profile order, then any found only in the verdicts or measurements."""
    declared = {str(r["id"]): r for r in summary.get("requirements", [])}
    ids = list(declared)
    for frame in (verdicts, measurements):
        ids += [i for i in dict.fromkeys(frame["requirement"].astype(str)) if i not in ids]
    labels = _labels(summary.get("benchmark", {}))
    marked = measurements.merge(verdicts[_KEYS].drop_duplicates(), on=_KEYS, how="left",
                                indicator=True)
    unjudged = marked[marked["_merge"] == "left_only"].drop(columns="_merge")
    judged_by, unjudged_by = _by_requirement(_join(measurements, verdicts)), _by_requirement(unjudged)
    return tuple(
        _requirement(
            rid,
            declared.get(rid, {}),
            position=position,
            judged=judged_by.get(rid, []),
            unjudged=unjudged_by.get(rid, []),
            labels=labels,
        )
        for position, rid in enumerate(ids, start=1)
    )


def _by_requirement(frame: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The frame's records grouped by requirement, in order: one pass, not one filter per requirement."""
    out: dict[str, list[dict[str, Any]]] = {}
    for record in frame.to_dict("records"):
        out.setdefault(str(record["requirement"]), []).append(record)
    return out


def _join(measurements: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Each verdict with its measurement; a verdict without one keeps NaN numbers."""
    measured = measurements.drop_duplicates(_KEYS)[_KEYS + _MEASURED]
    return verdicts.merge(measured, on=_KEYS, how="left", validate="many_to_one")


def _requirement(
    rid: str,
    declared: Mapping[str, Any],
    *,
    position: int,
    judged: list[dict[str, Any]],
    unjudged: list[dict[str, Any]],
    labels: Labels | None,
) -> RequirementView:
    first: dict[str, Any] = judged[0] if judged else {}

    def declared_or_judged(key: str, default: object = "") -> str:
        return str(declared.get(key, first.get(key, default)))

    judged_blocking = any(bool(r["blocking"]) for r in judged)
    limits = [r for r in judged if not fmt.is_missing(r["threshold"])]
    return RequirementView(
        id=rid,
        anchor=f"req-{position}-{re.sub(r'[^A-Za-z0-9_-]+', '-', rid)}",
        title=declared_or_judged("title"),
        metric=declared_or_judged("metric"),
        description=str(declared.get("description", "")),
        blocking=bool(declared.get("blocking", judged_blocking)),
        rule=declared_or_judged("rule", "none"),
        threshold_text=str(declared["threshold"]) if "threshold" in declared else _threshold_text(limits),
        thresholds=tuple(dict.fromkeys(float(r["threshold"]) for r in limits)),
        rows=tuple(_row(r, labels) for r in judged),
        supporting=tuple(_row(r, labels) for r in unjudged),
        bound_goals=_bound_goals(declared),
    )


def _bound_goals(declared: Mapping[str, Any]) -> tuple[float, ...]:
    goal = declared.get("bound_goal")
    return () if fmt.is_missing(goal) or isinstance(goal, bool) else (float(goal),)


def _threshold_text(limits: list[dict[str, Any]]) -> str:
    if not limits:
        return "report only"
    first = limits[0]
    return f"{first['operator']} {fmt.proportion(first['threshold'])}".strip()


def _row(record: Mapping[str, Any], labels: Labels | None = None) -> GroupRow:
    def text(key: str) -> str:
        value = record.get(key)
        return "" if fmt.is_missing(value) else str(value)

    def number(key: str) -> float:
        value = record.get(key)
        return float("nan") if fmt.is_missing(value) else float(value)  # type: ignore[arg-type]

    excluded = record.get("excluded")
    return GroupRow(
        metric=text("metric"),
        family=text("family"),
        group=text("group"),
        value=number("value"),
        ci_low=number("ci_low"),
        ci_high=number("ci_high"),
        interval=text("interval"),
        n=number("n"),
        positives=number("positives"),
        excluded=False if fmt.is_missing(excluded) else bool(excluded),
        p_value=number("p_value"),
        reference_group=text("reference_group"),
        status=text("status"),
        reason=text("reason"),
        label=_labelled(text("family"), text("group"), labels),
    )


def _labelled(family: str, group: str, labels: Labels | None) -> str:
    named = group_text(family, group, labels)
    return "" if named == group else named


def _data_notes(counts: Mapping[str, Any]) -> tuple[str, ...]:
    """Counts the profile asks to disclose, e.g. rows whose category is unknown."""
    notes = []
    for key, value in counts.items():
        label = _COUNT_LABELS.get(key, f"Rows counted as {key.replace('_', ' ')}")
        if isinstance(value, Mapping):
            parts = "; ".join(f"{k} {fmt.count(v)}" for k, v in value.items())
            notes.append(f"{label}, by attribute: {parts or 'none'}.")
        else:
            notes.append(f"{label}: {fmt.count(value)}.")
    return tuple(notes)
