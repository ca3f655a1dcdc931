"""The Markdown report: the HTML report's content as GitHub-flavoured text tables.

It carries no images; each chart's numbers are in the table that follows it. Free text
from the profile and the verdicts is escaped so that it can neither break a table nor
inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from harness.report import formatting as fmt
from harness.report.view import ReportView, RequirementView, build_view

__all__ = ["markdown_of", "render_markdown"]


def render_markdown(
    summary: dict[str, Any], measurements: pd.DataFrame, verdicts: pd.DataFrame
) -> str:
    """Render the evaluation as a Markdown document."""
    return markdown_of(build_view(summary, measurements, verdicts))


def markdown_of(view: ReportView) -> str:
    """The Markdown document of a view already built (so both reports share one)."""
    lines = [*_header(view), *_summary(view)]
    for requirement in view.requirements:
        lines += _requirement(requirement, ci_label=view.ci_label)
    lines += _provenance(view)
    return "\n".join(lines).rstrip() + "\n"


def _text(value: object) -> str:
    """Escape free text for a table cell or a paragraph, changing as little as possible."""
    text = " ".join(str(value).split())
    text = re.sub(r"([\\`*|\[\]])", r"\\\1", text)
    text = re.sub(r"<(?=[A-Za-z/!?])", r"\\<", text)  # only "<" that could open a tag
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)  # intraword "_" is safe


def _code(value: object) -> str:
    """An identifier as inline code; a backtick or pipe in it cannot close the span or cell."""
    text = " ".join(str(value).split()).replace("`", "'").replace("|", "\\|")
    return f"`{text}`" if text else ""


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: set[int]
) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    rule = ["---:" if i in numeric else "---" for i in range(len(headers))]
    return [line(headers), line(rule), *(line(row) for row in rows), ""]


def _header(view: ReportView) -> list[str]:
    policy = view.policy_label + (f": {view.policy_message}" if view.policy_message else "")
    return [
        f"# {_text(view.title)}",
        "",
        f"Performance oversight report · sector profile {_code(view.profile_id)}, "
        f"version {_text(view.profile_version)}"
        + (f" · {_text(view.authority)}" if view.authority else ""),
        "",
        f"**Overall verdict: {_text(view.verdict_label.upper())}**",
        "",
        _text(view.blocking_outcome),
        "",
        *([f"**Exploratory:** {_text(view.exploratory)}", ""] if view.exploratory else []),
        f"- Policy status: {_text(policy)}",
        f"- Evaluated as of: {_text(view.as_of)}",
        *([f"- Favourable outcome: {_text(view.favourable)}"] if view.favourable else []),
        f"- Profile SHA-256: {_code(view.profile_sha256) or fmt.NOT_RECORDED}",
        f"- Requirements: {len(view.requirements)} in the profile, "
        f"{sum(r.blocking for r in view.requirements)} blocking; "
        "blocking requirements decide the verdict",
        "",
    ]


def _summary(view: ReportView) -> list[str]:
    headers = ["Requirement", "Title", "Blocking", "Decision rule", "Threshold",
               "Worst status", "Groups by status"]
    rows = [
        [_code(r.id), _text(r.title), "yes" if r.blocking else "no", _text(r.rule_text),
         _text(r.threshold_text), _text(r.worst_label), _text(r.status_counts)]
        for r in view.requirements
    ]
    legend = [[fmt.STATUS_LABELS[s], _text(fmt.STATUS_MEANINGS[s])] for s in fmt.STATUSES]
    notes = [*(_text(note) for note in view.data_notes), ""] if view.data_notes else []
    return [
        "## Summary of requirements",
        "",
        *_table(headers, rows, numeric=set()),
        *notes,
        "Status words:",
        "",
        *_table(["Status", "Meaning"], legend, numeric=set()),
    ]


def _requirement(req: RequirementView, *, ci_label: str) -> list[str]:
    meta = [
        f"Metric {_code(req.metric)}",
        f"decision rule: {_text(req.rule_text)}",
        f"threshold: {_text(req.threshold_text)}",
        "blocking" if req.blocking else "not blocking",
        f"worst status: {_text(req.worst_label)}",
    ]
    lines = [f"## {_code(req.id)} {_text(req.title)}", "", " · ".join(meta), ""]
    if req.description:
        lines += [_text(req.description), ""]
    lines += _group_table(req, ci_label=ci_label)
    if req.rows:
        lines += [f"Intervals: {_text(req.interval_methods)}.", ""]
    if req.has_p_values:
        lines += [f"p-values test each group against the reference group "
                  f"({_text(req.reference_groups)}).", ""]
    if req.supporting:
        lines += [f"Supporting measurements for {_code(req.id)} (not judged):", ""]
        lines += _table(
            ["Metric", "Family", "Group", "n", "Positives", "Value", ci_label],
            [[_code(r.metric), _text(r.family), _group(r.group_text, excluded=r.excluded),
              r.n_text, r.positives_text, r.value_text, r.ci_text] for r in req.supporting],
            numeric={3, 4, 5, 6},
        )
    return lines


def _group_table(req: RequirementView, *, ci_label: str) -> list[str]:
    if not req.rows:
        return ["No group of this requirement was judged.", ""]
    headers = ["Family", "Group", "n", "Positives", "Value", ci_label, "Status"]
    headers += ["p-value"] if req.has_p_values else []
    rows = []
    for r in req.rows:
        cells = [_text(r.family), _group(r.group_text, excluded=r.excluded), r.n_text,
                 r.positives_text, r.value_text, r.ci_text, _text(r.status_label or "—")]
        cells += [r.p_text] if req.has_p_values else []
        rows.append([*cells, _text(r.reason)])
    numeric = {2, 3, 4, 5} | ({7} if req.has_p_values else set())
    return _table([*headers, "Reason"], rows, numeric=numeric)


def _group(name: str, *, excluded: bool) -> str:
    return _text(name) + (f", {_text(fmt.EXCLUDED_LABEL)}" if excluded else "")


def _provenance(view: ReportView) -> list[str]:
    lines = ["## Provenance", ""]
    for part in view.provenance:
        rows = [
            [label, _code(value) if label in part.hashes and value != fmt.NOT_RECORDED
             else _text(value)]
            for label, value in part.items
        ]
        lines += [f"### {part.title}", "", *_table(["Item", "Value"], rows, numeric=set())]
    lines += ["### Legal basis", ""]
    lines += [f"- {_text(basis)}" for basis in view.legal_basis] or ["None stated in the profile."]
    lines += [
        "",
        "---",
        "",
        f"Produced by oversight-harness {_text(view.harness_version)} at {_text(view.created_at)}. "
        "Its evidence manifest is `manifest.json` beside it in the bundle, which hashes this report; "
        "`oversight verify` checks both.",
    ]
    return lines
