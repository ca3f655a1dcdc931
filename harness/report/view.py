"""What a report shows, computed once from the evaluation's outputs.

Both renderers read a ``ReportView``: the HTML and the Markdown report therefore list the
same requirements, groups, numbers and provenance, and differ only in layout. Each judged
group is a verdict joined with its measurement; measurements of a requirement that carry
no verdict (e.g. the selection rates behind an impact ratio) are kept as supporting rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from harness.report import formatting as fmt

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
class ProvenanceSection:
    """A titled list of (label, value) pairs; ``hashes`` are shown in full and monospaced."""

    title: str
    items: tuple[tuple[str, str], ...]
    hashes: frozenset[str] = frozenset()


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
        provenance=_provenance(summary),
        legal_basis=tuple(str(x) for x in profile.get("legal_basis", [])),
        harness_version=str(summary.get("harness_version", "")),
        created_at=str(summary.get("created_at", "")),
        manifest_sha256=str(summary.get("manifest_sha256", "")),
        profile_sha256=str(profile.get("sha256", "")),
        exploratory=_exploratory(summary.get("conformance")),
        favourable=_favourable(summary.get("favourable_decision")),
    )


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
    judged = _join(measurements, verdicts)
    marked = measurements.merge(verdicts[_KEYS].drop_duplicates(), on=_KEYS, how="left",
                                indicator=True)
    unjudged = marked[marked["_merge"] == "left_only"].drop(columns="_merge")
    return tuple(
        _requirement(
            rid,
            declared.get(rid, {}),
            position=position,
            judged=judged[judged["requirement"].astype(str) == rid],
            unjudged=unjudged[unjudged["requirement"].astype(str) == rid],
        )
        for position, rid in enumerate(ids, start=1)
    )


def _join(measurements: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Each verdict with its measurement; a verdict without one keeps NaN numbers."""
    measured = measurements.drop_duplicates(_KEYS)[_KEYS + _MEASURED]
    return verdicts.merge(measured, on=_KEYS, how="left", validate="many_to_one")


def _requirement(
    rid: str,
    declared: Mapping[str, Any],
    *,
    position: int,
    judged: pd.DataFrame,
    unjudged: pd.DataFrame,
) -> RequirementView:
    first: dict[str, Any] = judged.iloc[0].to_dict() if len(judged) else {}

    def declared_or_judged(key: str, default: object = "") -> str:
        return str(declared.get(key, first.get(key, default)))

    judged_blocking = bool(judged["blocking"].any()) if len(judged) else False
    return RequirementView(
        id=rid,
        anchor=f"req-{position}-{re.sub(r'[^A-Za-z0-9_-]+', '-', rid)}",
        title=declared_or_judged("title"),
        metric=declared_or_judged("metric"),
        description=str(declared.get("description", "")),
        blocking=bool(declared.get("blocking", judged_blocking)),
        rule=declared_or_judged("rule", "none"),
        threshold_text=str(declared.get("threshold", _threshold_text(judged))),
        thresholds=tuple(float(t) for t in judged["threshold"].dropna().unique()),
        rows=tuple(_row(r) for r in judged.to_dict("records")),
        supporting=tuple(_row(r) for r in unjudged.to_dict("records")),
    )


def _threshold_text(judged: pd.DataFrame) -> str:
    rows = judged.dropna(subset=["threshold"])
    if rows.empty:
        return "report only"
    first = rows.iloc[0]
    return f"{first['operator']} {fmt.proportion(first['threshold'])}".strip()


def _row(record: Mapping[str, Any]) -> GroupRow:
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
    )


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


def _provenance(summary: Mapping[str, Any]) -> tuple[ProvenanceSection, ...]:
    profile = summary.get("profile", {})
    benchmark = summary.get("benchmark", {})
    model = summary.get("model", {})
    policy = summary.get("policy", {})
    return (
        _section("Sector profile", [
            ("Title", profile.get("title")), ("Identifier", profile.get("id")),
            ("Version", profile.get("version")), ("Sector", profile.get("sector")),
            ("Authority", profile.get("authority")),
            ("Effective from", profile.get("effective_from")),
            ("Enforced from", profile.get("enforcement_from")),
        ]),
        _section("Benchmark", [
            ("Identifier", benchmark.get("id")), ("Split", benchmark.get("split")),
            ("Rows", fmt.count(benchmark.get("rows"))), ("SHA-256", benchmark.get("sha256")),
        ], hashes={"SHA-256"}),
        _section("Model", [
            ("Kind", model.get("kind")), ("URI", model.get("uri")),
            ("Fingerprint", model.get("fingerprint")),
            ("Isolation", _isolation_text(model)),
        ], hashes={"Fingerprint"}),
        _section("Run", [
            ("Evaluated as of", policy.get("as_of")), ("Created at", summary.get("created_at")),
            ("Confidence level", summary.get("confidence")), ("Random seed", summary.get("seed")),
            ("Bootstrap", _bootstrap_text(summary)),
            ("Harness version", summary.get("harness_version")),
            ("Manifest SHA-256", summary.get("manifest_sha256")),
        ], hashes={"Manifest SHA-256"}),
        *_assessment(summary.get("assessment")),
    )


def _assessment(record: Mapping[str, Any] | None) -> tuple[ProvenanceSection, ...]:
    """A lab's assessment of a signed submission: both parties' keys and what was committed to."""
    if not record:
        return ()
    model = record.get("model", {})
    return (_section("Third-party assessment", [
        ("Vendor", record.get("vendor")), ("Vendor key", record.get("vendor_key")),
        ("Submitted at", record.get("submitted_at")), ("Submission SHA-256", record.get("submission_sha256")),
        ("Model fingerprint", model.get("fingerprint")),
        ("Testing lab", record.get("lab")), ("Lab key", record.get("lab_key")),
        ("Sealed from benchmark", record.get("sealed_from")), ("Label commitment", record.get("commitment")),
    ], hashes={"Vendor key", "Submission SHA-256", "Model fingerprint", "Lab key", "Sealed from benchmark",
               "Label commitment"}),)


def _isolation_text(model: Mapping[str, Any]) -> str | None:
    """How the model ran and whether it was trusted; None when the run did not record it."""
    if "sandbox" not in model:
        return None
    sandbox = model["sandbox"]
    if not sandbox:
        return "no model ran (declared predictions)"
    trust = "given" if sandbox.get("trust_model") else "not given"
    return f"{sandbox.get('isolation')}; --trust-model {trust}; model process {sandbox.get('exit')}"


def _bootstrap_text(summary: Mapping[str, Any]) -> str | None:
    """Replicates, what they resample, and the score grid they see; None when not recorded."""
    replicates = summary.get("bootstrap_replicates")
    if replicates is None:
        return None
    unit = "clusters" if summary.get("bootstrap_unit") == "cluster" else "rows"
    bins = summary.get("bootstrap_score_bins")
    grid = f"; scores resampled on {fmt.count(bins)} bins" if bins is not None else ""
    return f"{fmt.count(replicates)} replicates of {unit}{grid}"


def _section(
    title: str, items: Sequence[tuple[str, object]], *, hashes: set[str] | None = None
) -> ProvenanceSection:
    shown = tuple(
        (label, fmt.NOT_RECORDED if fmt.is_missing(value) or value == "" else str(value))
        for label, value in items
    )
    return ProvenanceSection(title=title, items=shown, hashes=frozenset(hashes or ()))
