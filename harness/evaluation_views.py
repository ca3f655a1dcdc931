"""Views of an evaluation for people at a Python prompt or in a notebook.

``by_group`` is the wide frame fairlearn's ``MetricFrame.by_group`` users know, one row per
group with the value, its interval, the group's size and the verdict side by side;
``overall`` is one row per requirement. The ``repr`` fits on one screen, and the HTML view
(notebooks) shows the verdict banner and the requirements table.
"""

from __future__ import annotations

import difflib
import html
from typing import Any

import pandas as pd

from .errors import InputError
from .evidence.run_page import requirement_status

__all__ = ["BY_GROUP_COLUMNS", "OVERALL_COLUMNS", "by_group", "overall", "html_view", "short_repr"]

BY_GROUP_COLUMNS = ["metric", "value", "ci_low", "ci_high", "n", "status", "threshold", "compared", "reason"]
OVERALL_COLUMNS = ["title", "metric", "threshold", "rule", "blocking", "status", "groups", "not_passing"]
_PASSING = ("pass", "reported")


def by_group(measurements: pd.DataFrame, verdicts: pd.DataFrame, requirement: str) -> pd.DataFrame:
    """One row per group of ``requirement`` (index ``group``), in the order the profile gives them."""
    known = list(dict.fromkeys(measurements["requirement"]))
    if requirement not in known:
        close = difflib.get_close_matches(requirement, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(f"requirement {requirement!r} is not in this evaluation{hint} (requirements: "
                         f"{', '.join(known)})")
    m = measurements[measurements["requirement"] == requirement]
    v = verdicts[verdicts["requirement"] == requirement][["group", "status", "threshold", "compared", "reason"]]
    frame = m.merge(v, on="group", how="left").set_index("group")
    return frame[BY_GROUP_COLUMNS]


def overall(summary: dict[str, Any], verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per requirement (index ``requirement``): what it asks, its worst status, the groups not passing."""
    status = requirement_status(verdicts)
    rows = []
    for req in summary["requirements"]:
        part = verdicts[verdicts["requirement"] == req["id"]]
        failing = part.loc[~part["status"].isin(_PASSING), "group"].astype(str).tolist()
        rows.append({"requirement": req["id"], "title": req["title"], "metric": req["metric"],
                     "threshold": req["threshold"], "rule": req["rule"], "blocking": bool(req["blocking"]),
                     "status": status.get(req["id"], "reported"), "groups": len(part),
                     "not_passing": ", ".join(failing)})
    return pd.DataFrame(rows, columns=["requirement", *OVERALL_COLUMNS]).set_index("requirement")


def _counts(table: pd.DataFrame) -> str:
    counts = table["status"].value_counts()
    return ", ".join(f"{int(n)} {status}" for status, n in counts.items())


def short_repr(result: Any) -> str:
    """A few lines: what was judged, the verdict, how the requirements came out, where the evidence is."""
    p = result.summary["profile"]
    table = overall(result.summary, result.verdicts)
    lines = [f"<Evaluation {p['id']} v{p['version']}: {result.verdict} ({result.policy_status}, "
             f"as of {result.policy.as_of})",
             f"  {len(table)} requirements: {_counts(table)}"]
    bad = table[~table["status"].isin(_PASSING)]
    for rid, row in bad.head(8).iterrows():
        groups = f" [{row['not_passing'][:60]}]" if row["not_passing"] else ""
        lines.append(f"  {rid}: {row['status']}{groups}")
    if len(bad) > 8:
        lines.append(f"  ... and {len(bad) - 8} more; see .overall")
    lines.append(f"  bundle: {result.bundle or 'not written'}; MLflow run: {result.run_id or 'not logged'}>")
    return "\n".join(lines)


_BANNER = {"compliant": "#1b7f3b", "non_compliant": "#b3261e", "inconclusive": "#8a6d00"}


def html_view(result: Any) -> str:
    """The verdict banner and the requirements table, for a notebook cell."""
    p = result.summary["profile"]
    colour = _BANNER.get(result.verdict, "#555")
    banner = (f'<div style="background:{colour};color:#fff;padding:.5em 1em;border-radius:4px">'
              f"<strong>{html.escape(result.verdict.replace('_', ' ').upper())}</strong> against "
              f"{html.escape(str(p['title']))} ({html.escape(p['id'])} v{html.escape(str(p['version']))}) · policy "
              f"{html.escape(result.policy_status)}: {html.escape(result.policy.message)}</div>")
    table = overall(result.summary, result.verdicts).to_html(escape=True, border=0)
    where = html.escape(str(result.bundle)) if result.bundle else "not written"
    return f"<div>{banner}{table}<p>Evidence bundle: {where}; MLflow run: {html.escape(result.run_id or 'not logged')}</p></div>"
