"""Reports a person reads: a self-contained HTML file and a Markdown summary.

Both are rendered from the same three inputs the evaluation produces (the run summary, the
measurements and the verdicts) and show the same content: the overall verdict and policy
status, one section per requirement with every group's estimate, interval and status,
and the provenance an auditor needs to trace each number back to its inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from harness.report.figures import RequirementFigure, figures_of
from harness.report.html import html_of, render_html
from harness.report.markdown import markdown_of, render_markdown
from harness.report.view import build_view

__all__ = ["figures_of", "render_html", "render_markdown", "render_reports"]


def render_reports(
    summary: dict[str, Any],
    measurements: pd.DataFrame,
    verdicts: pd.DataFrame,
    *,
    figures: Mapping[str, RequirementFigure] | None = None,
) -> tuple[str, str]:
    """Both reports, (HTML, Markdown), from one view of the evaluation."""
    view = build_view(summary, measurements, verdicts)
    return html_of(view, figures=figures), markdown_of(view)
