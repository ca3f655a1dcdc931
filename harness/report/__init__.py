"""Reports a person reads: a self-contained HTML file and a Markdown summary.

Both are rendered from the same three inputs the evaluation produces (the run summary, the
measurements and the verdicts) and show the same content: the overall verdict and policy
status, one section per requirement with every group's estimate, interval and status,
and the provenance an auditor needs to trace each number back to its inputs.
"""

from harness.report.figures import figures_of
from harness.report.html import render_html
from harness.report.markdown import render_markdown

__all__ = ["figures_of", "render_html", "render_markdown"]
