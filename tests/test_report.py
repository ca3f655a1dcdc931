"""The HTML and Markdown reports, rendered from small synthetic evaluation outputs."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from pathlib import Path

import pandas as pd
import pytest

from harness.report import render_html, render_markdown
from harness.report import formatting as fmt

NAN = math.nan
SHA = "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef0"
SCRIPT = "<script>alert('x')</script>"

# requirement, metric, family, group, value, ci_low, ci_high, interval, n, positives,
# excluded, p_value, reference_group
_MEASUREMENTS = [
    ("HIR-IR", "impact_ratio", "gender", "m", 1.0, NAN, NAN, "none", 2400, 610, False, NAN, "m"),
    ("HIR-IR", "impact_ratio", "gender", "f", 0.742, 0.661, 0.829, "bootstrap_percentile",
     2100, 540, False, 0.0004, "m"),
    ("HIR-IR", "impact_ratio", "gender × race", "m × white", 1.0, NAN, NAN, "none",
     1300, 330, False, NAN, "m × white"),
    ("HIR-IR", "impact_ratio", "gender × race", "f × black", 0.781, 0.602, 0.988,
     "bootstrap_percentile", 310, 80, False, 0.2104, "m × white"),
    ("HIR-IR", "impact_ratio", "gender × race", "f × white", 0.912, 0.826, 1.004,
     "bootstrap_percentile", 1150, 300, False, 0.3378, "m × white"),
    ("HIR-IR", "impact_ratio", "gender × race", "f × other", NAN, NAN, NAN, "none",
     49, 12, True, NAN, "m × white"),
    ("HIR-IR", "impact_ratio", "gender × race", "m × other", 0.954, 0.702, 1.243,
     "bootstrap_percentile", 72, 19, True, NAN, "m × white"),
    ("HIR-IR", "selection_rate", "gender", "m", 0.312, 0.294, 0.331, "wilson", 2400, 610,
     False, NAN, ""),
    ("HIR-IR", "selection_rate", "gender", "f", 0.232, 0.214, 0.250, "wilson", 2100, 540,
     False, NAN, ""),
    ("HIR-SENS", "sensitivity", "overall", "all", 0.889, 0.862, 0.912, "wilson", 4500, 1150,
     False, NAN, ""),
    ("HIR-SENS", "sensitivity", "gender", "m", 0.903, 0.871, 0.929, "wilson", 2400, 610,
     False, NAN, ""),
    ("HIR-SENS", "sensitivity", "gender", "f", 0.870, 0.812, 0.921, "clopper_pearson",
     2100, 540, False, NAN, ""),
    ("HIR-SENS", "sensitivity", "gender", "x", NAN, NAN, NAN, "none", 12, 0, False, NAN, ""),
    ("HIR-AUC", "auroc", "overall", "all", 0.861, 0.842, 0.879, "bootstrap_percentile",
     4500, 1150, False, NAN, ""),
]

# requirement, family, group, status, compared, reason
_VERDICTS = [
    ("HIR-IR", "gender", "m", "pass", 1.0, "reference group: impact ratio 1.000"),
    ("HIR-IR", "gender", "f", "fail", 0.742,
     "impact ratio 0.742 < 0.80 and significant (p <0.001)"),
    ("HIR-IR", "gender × race", "m × white", "pass", 1.0, "reference group: impact ratio 1.000"),
    ("HIR-IR", "gender × race", "f × black", "flag", 0.781,
     "impact ratio 0.781 < 0.80 but not significant (p 0.210)"),
    ("HIR-IR", "gender × race", "f × white", "pass", 0.912, "impact ratio 0.912 ≥ 0.80"),
    ("HIR-IR", "gender × race", "f × other", "insufficient_data", NAN,
     "1.1% of the data (< 2%): excluded from the impact ratio"),
    ("HIR-IR", "gender × race", "m × other", "reported", 0.954,
     "1.6% of the data (< 2%): excluded from the impact ratio, shown for information"),
    ("HIR-SENS", "overall", "all", "pass", 0.862, "lower 95% bound 0.862 ≥ 0.85"),
    ("HIR-SENS", "gender", "m", "pass", 0.871, "lower 95% bound 0.871 ≥ 0.85"),
    ("HIR-SENS", "gender", "f", "inconclusive", 0.812,
     f"lower 95% bound 0.812 < 0.85 {SCRIPT}"),
    ("HIR-SENS", "gender", "x", "insufficient_data", NAN, "12 rows, 0 positives: below minimum 30"),
    ("HIR-AUC", "overall", "all", "reported", 0.861, "reported only"),
]

_REQUIREMENTS = {
    "HIR-IR": ("Impact ratio of selection rates", "impact_ratio", True, "point", "min", 0.80),
    "HIR-SENS": ("Sensitivity <b>by</b> group", "sensitivity", False, "bound", "min", 0.85),
    "HIR-AUC": ("Ranking quality", "auroc", False, "none", "", NAN),
}


def _measurements() -> pd.DataFrame:
    columns = ["requirement", "metric", "family", "group", "value", "ci_low", "ci_high",
               "interval", "n", "positives", "excluded", "p_value", "reference_group"]
    return pd.DataFrame(_MEASUREMENTS, columns=columns)


def _verdicts() -> pd.DataFrame:
    rows = []
    for rid, family, group, status, compared, reason in _VERDICTS:
        title, metric, blocking, rule, operator, threshold = _REQUIREMENTS[rid]
        rows.append({
            "requirement": rid, "title": title, "metric": metric, "family": family,
            "group": group, "status": status, "blocking": blocking, "rule": rule,
            "operator": operator, "threshold": threshold, "compared": compared, "reason": reason,
        })
    return pd.DataFrame(rows)


def _summary() -> dict[str, Any]:
    requirements = [
        {"id": rid, "title": title, "metric": metric, "blocking": blocking, "rule": rule,
         "threshold": f"{op} {threshold:.2f}" if op else "report only",
         "description": f"Measured for {metric}; see the profile."}
        for rid, (title, metric, blocking, rule, op, threshold) in _REQUIREMENTS.items()
    ]
    return {
        "profile": {
            "id": "hiring-screening", "version": 2, "title": "Automated hiring screening",
            "sector": "hiring", "authority": "Ministry of Labour",
            "legal_basis": ["29 CFR 1607.4(D)", "6 RCNY 5-301"],
            "effective_from": "2026-01-22", "enforcement_from": "2027-01-22",
        },
        "verdict": "non_compliant",
        "policy": {"status": "grace_period", "as_of": "2026-09-01",
                   "message": "advisory until sanctions start on 2027-01-22"},
        "benchmark": {"id": "hiring-applicants@3", "sha256": SHA, "split": "test", "rows": 4537},
        "model": {"kind": "skops", "uri": "models/screener.skops", "fingerprint": "ab12" * 16},
        "confidence": 0.95,
        "seed": 20260901,
        "bootstrap_replicates": 2000,
        "bootstrap_unit": "cluster",
        "bootstrap_score_bins": 1000,
        "harness_version": "0.1.0",
        "created_at": "2026-09-01T10:15:00+00:00",
        "requirements": requirements,
        "counts": {"unknown_category": {"gender": 37, "race": 52}},
        "manifest_sha256": "",
    }


@pytest.fixture(scope="module")
def html() -> str:
    return render_html(_summary(), _measurements(), _verdicts())


@pytest.fixture(scope="module")
def markdown() -> str:
    return render_markdown(_summary(), _measurements(), _verdicts())


def test_html_is_a_complete_document(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html
    assert "<title>" in html and "</body>" in html
    assert html.rstrip().endswith("</html>")


def test_html_loads_nothing_from_elsewhere(html: str) -> None:
    for forbidden in ("<script", "<link", "<img", "<iframe", "@import", "url(http", "src="):
        assert forbidden not in html.lower()
    # SVG namespace declarations name a URI but fetch nothing; any other URL would.
    rest = re.sub(r'xmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in rest and "https://" not in rest


def test_html_shows_every_requirement_group_and_status(html: str) -> None:
    for rid in _REQUIREMENTS:
        assert rid in html
    for row in _VERDICTS:
        assert f">{row[2]}<" in html
    for status in fmt.STATUSES:
        assert f'class="status status-{status}">{fmt.STATUS_LABELS[status]}<' in html
    assert SHA in html


def test_html_shows_banner_policy_and_provenance(html: str) -> None:
    assert "Not compliant" in html
    assert "Grace period: advisory until sanctions start on 2027-01-22" in html
    assert "2026-09-01" in html
    assert "29 CFR 1607.4(D)" in html
    assert "Rows in an unknown category, by attribute: gender 37; race 52." in html
    assert ("Evidence manifest</th><td>manifest.json, beside this report in the evidence bundle: it lists the "
            "SHA-256 of every file of the bundle, this report included") in html
    assert "not recorded</td>" not in html.split("Evidence manifest")[1].split("</tr>")[0]
    assert "Its evidence manifest is <span class=\"mono\">manifest.json</span> beside it in the bundle" in html
    assert "2,000 replicates of clusters; scores resampled on 1,000 bins" in html


def test_html_escapes_text(html: str) -> None:
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<b>by</b>" not in html


def test_text_in_the_stylesheet_cannot_leave_it() -> None:
    summary = _summary()
    summary["profile"]["id"] = 'x"; } </style><script>alert(1)</script>'
    html = render_html(summary, _measurements(), _verdicts())
    assert "<script>" not in html
    assert html.count("</style>") == html.count("<style")  # the report's and each chart's


def test_html_formats_numbers(html: str) -> None:
    assert ">0.742<" in html and ">0.661 – 0.829<" in html
    assert ">&lt;0.001<" in html and ">0.210<" in html
    assert ">reference<" in html
    assert ">n/a<" in html
    assert "excluded (&lt;2%)" in html


def test_html_has_one_chart_per_requirement_with_unique_ids(html: str) -> None:
    assert html.count("<svg") == len(_REQUIREMENTS)
    ids = Counter(re.findall(r'\bid="([^"]+)"', html))
    assert [name for name, seen in ids.items() if seen > 1] == []


def test_charts_are_written_without_a_plotting_library() -> None:
    package = Path(__file__).resolve().parents[1] / "harness" / "report"
    sources = {p.name: p.read_text(encoding="utf-8") for p in package.glob("*.py")}
    assert [name for name, text in sources.items() if "matplotlib" in text] == []


def test_rendering_is_deterministic(html: str) -> None:
    assert render_html(_summary(), _measurements(), _verdicts()) == html


def test_markdown_has_a_table_row_for_every_verdict(markdown: str) -> None:
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    for _, family, group, status, _, _ in _VERDICTS:
        label = fmt.STATUS_LABELS[status]
        assert any(
            row.startswith(f"| {family} | {group}") and f"| {label} |" in row for row in rows
        ), (family, group, status)


def test_markdown_carries_the_same_facts(markdown: str) -> None:
    assert "**Overall verdict: NOT COMPLIANT**" in markdown
    assert SHA in markdown
    assert "| f × other, excluded (<2%) |" in markdown
    assert "<svg" not in markdown and "<img" not in markdown
    assert "2,000 replicates of clusters; scores resampled on 1,000 bins" in markdown
    for rid in _REQUIREMENTS:
        assert f"## `{rid}`" in markdown


def test_markdown_escapes_text(markdown: str) -> None:
    assert SCRIPT not in markdown
    assert "\\<script>" in markdown
    assert "\\<b>by\\</b>" in markdown


def test_a_verdict_without_measurement_still_shows() -> None:
    verdicts = _verdicts()
    measurements = _measurements().query("group != 'x'")
    html = render_html(_summary(), measurements, verdicts)
    assert "12 rows, 0 positives: below minimum 30" in html


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0004, "<0.001"), (0.001, "0.00100"), (0.01234, "0.0123"), (0.5, "0.500"),
     (1.0, "1.00"), (NAN, "—")],
)
def test_p_values_have_three_significant_digits(value: float, expected: str) -> None:
    assert fmt.p_value(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(0.81234, "0.812"), (1.0, "1.000"), (0.0, "0.000"), (NAN, "n/a")]
)
def test_proportions_have_three_decimals(value: float, expected: str) -> None:
    assert fmt.proportion(value) == expected


def test_a_summary_without_bootstrap_fields_says_not_recorded() -> None:
    summary = {k: v for k, v in _summary().items() if not k.startswith("bootstrap_")}
    text = render_markdown(summary, _measurements(), _verdicts())
    assert "| Bootstrap | not recorded |" in text and "replicates of" not in text


def _with_blocking(blocking: bool) -> dict[str, Any]:
    summary = _summary()
    summary["requirements"] = [{**r, "blocking": blocking} for r in summary["requirements"]]
    return summary


@pytest.mark.parametrize("blocking,sentence", [
    (True, "Of 3 blocking requirements: 1 failed, 1 inconclusive, 1 reported only."),
    (False, "No requirement is blocking, so none decides the verdict."),
])
def test_the_banner_says_how_the_blocking_requirements_came_out(blocking: bool, sentence: str) -> None:
    summary = _with_blocking(blocking)
    assert f'<p class="verdict-why">{sentence}</p>' in render_html(summary, _measurements(), _verdicts())
    assert f"\n{sentence}\n" in render_markdown(summary, _measurements(), _verdicts())


def test_the_default_banner_counts_the_one_blocking_requirement(html: str, markdown: str) -> None:
    assert '<p class="verdict-why">Of 1 blocking requirement: 1 failed.</p>' in html
    assert "**Overall verdict: NOT COMPLIANT**\n\nOf 1 blocking requirement: 1 failed.\n" in markdown


def test_both_reports_name_the_mlflow_metrics_as_the_run_logs_them(html: str, markdown: str) -> None:
    from harness.evidence.metric_names import parse_metric_key
    from harness.evidence.tracking import _metrics

    logged = set(_metrics(_measurements()))
    section = html.split("MLflow metric names")[1]
    names = re.findall(r"<th scope=\"row\">(HIR-[A-Z]+) · ([^<]+)</th><td>([^<]+)</td>", section)
    assert [(req, group) for req, group, _ in names] == [
        ("HIR-IR", "m × white"), ("HIR-IR", "f × black"), ("HIR-IR", "f × white"), ("HIR-IR", "f × other"),
        ("HIR-IR", "m × other")]
    for req, group, key in names:
        assert parse_metric_key(key) == (req, "impact_ratio", group, "value")
        assert key in logged or group == "f × other"  # that group has no value, so the run logs none
    assert "| HIR-IR · f × black | HIR-IR.impact_ratio/f_x_black |" in markdown
    assert "detail/&lt;requirement&gt;.&lt;metric&gt;.&lt;group&gt;.ci_low, .ci_high and .n" in section
