"""The HTML report: one self-contained file an auditor can open, print or attach to a file.

Nothing is loaded from elsewhere: styles are inline, charts are inline SVG, there are no
scripts or web fonts, so the report reads the same offline, in MLflow's artifact viewer
and on paper. Every piece of text passes through Jinja's autoescaping.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

import jinja2
import pandas as pd

from harness.report import formatting as fmt
from harness.report.charts import NEUTRAL_COLOURS, STATUS_COLOURS, requirement_chart
from harness.report.curve_charts import figure_chart
from harness.report.figures import RequirementFigure
from harness.report.view import ReportView, build_view

__all__ = ["html_of", "render_html"]

_VERDICT_STATUS: Final = {
    "compliant": "pass",
    "non_compliant": "fail",
    "inconclusive": "inconclusive",
}
"""The overall verdict borrows the colours of the status it corresponds to."""


def render_html(
    summary: dict[str, Any],
    measurements: pd.DataFrame,
    verdicts: pd.DataFrame,
    *,
    figures: Mapping[str, RequirementFigure] | None = None,
) -> str:
    """Render the evaluation as a complete HTML document.

    ``figures`` (from ``harness.report.figures.figures_of``) adds each requirement's ROC
    curves, reliability diagrams or confusion matrices; without it the report has the
    interval charts only.
    """
    return html_of(build_view(summary, measurements, verdicts), figures=figures)


def html_of(view: ReportView, *, figures: Mapping[str, RequirementFigure] | None = None) -> str:
    """The HTML document of a view already built (so both reports share one)."""
    charts = {
        requirement.anchor: requirement_chart(requirement, ci_label=view.ci_label)
        for requirement in view.requirements
    }
    curves = _curves(view, figures or {})
    verdict_colours = STATUS_COLOURS.get(_VERDICT_STATUS.get(view.verdict, ""), NEUTRAL_COLOURS)
    return _environment().get_template("report.html.j2").render(
        view=view,
        charts=charts,
        curves=curves,
        figures=figures or {},
        anchors={r.id: r.anchor for r in view.requirements},
        statuses=fmt.STATUSES,
        status_labels=fmt.STATUS_LABELS,
        status_meanings=fmt.STATUS_MEANINGS,
        status_colours=STATUS_COLOURS,
        verdict_colours=verdict_colours,
        excluded_label=fmt.EXCLUDED_LABEL,
        not_applicable=fmt.NOT_APPLICABLE,
        not_recorded=fmt.NOT_RECORDED,
    )


def _curves(view: ReportView, figures: Mapping[str, RequirementFigure]) -> dict[str, str]:
    """Each requirement's figure drawn once; a figure shown under an earlier requirement is not redrawn."""
    out = {}
    for requirement in view.requirements:
        figure = figures.get(requirement.id)
        if figure is not None and not figure.shown_in:
            out[requirement.anchor] = figure_chart(requirement, figure, ci_label=view.ci_label, labels=view.labels)
    return out


def _css_string(value: object) -> str:
    """Text for a CSS string inside ``<style>``, where HTML escaping does not apply.

    Anything but letters, digits and a few harmless marks becomes a CSS hex escape, so
    no quote, backslash or ``</style>`` can leave the string.
    """
    keep = set(" .,:;-_()·×")
    return "".join(c if c.isalnum() or c in keep else f"\\{ord(c):x} " for c in str(value))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["css_string"] = _css_string
    return environment
