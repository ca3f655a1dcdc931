"""The report's vocabulary and number formats, shared by the HTML and Markdown renderers.

Every number a reader sees goes through one of these functions, so both renderers print
the same value the same way: proportions with three decimals, p-values with three
significant digits, missing values as "n/a".
"""

from __future__ import annotations

from typing import Final

import pandas as pd

__all__ = [
    "MISSING",
    "NOT_APPLICABLE",
    "NOT_RECORDED",
    "EXCLUDED_LABEL",
    "POLICY_LABELS",
    "STATUSES",
    "STATUS_LABELS",
    "STATUS_MEANINGS",
    "VERDICT_LABELS",
    "count",
    "interval",
    "interval_method",
    "is_missing",
    "p_value",
    "proportion",
    "rule_label",
]

MISSING: Final = "n/a"
"""Shown where a number could not be computed (NaN)."""

NOT_APPLICABLE: Final = "—"
"""Shown where a number does not apply, e.g. a p-value for a group with no test."""

NOT_RECORDED: Final = "not recorded"
"""Shown for a provenance field the run did not record."""

EXCLUDED_LABEL: Final = "excluded (<2%)"
"""Marks a group left out of a ratio because it is too small a share of the data."""

STATUSES: Final = ("fail", "flag", "inconclusive", "insufficient_data", "pass", "reported")
"""Every status a verdict can carry, worst first: the order used for "worst status"."""

STATUS_LABELS: Final[dict[str, str]] = {
    "fail": "fail",
    "flag": "flag",
    "inconclusive": "inconclusive",
    "insufficient_data": "insufficient data",
    "pass": "pass",
    "reported": "reported",
}

STATUS_MEANINGS: Final[dict[str, str]] = {
    "fail": "The value does not meet the threshold under the decision rule.",
    "flag": (
        "The threshold is missed and the profile treats a breach as a flag (with a significance "
        "test: only when the difference is also significant); counts against compliance like a fail."
    ),
    "inconclusive": "The confidence interval does not settle whether the threshold is met.",
    "insufficient_data": "Below the minimum support declared by the profile; not judged.",
    "pass": "The value meets the threshold under the decision rule.",
    "reported": "Reported for information: no threshold applies, or the group is left out of the comparison.",
}

VERDICT_LABELS: Final[dict[str, str]] = {
    "compliant": "Compliant",
    "non_compliant": "Not compliant",
    "inconclusive": "Inconclusive",
}

POLICY_LABELS: Final[dict[str, str]] = {
    "not_in_force": "Not in force",
    "grace_period": "Grace period",
    "enforced": "Enforced",
}

_RULE_LABELS: Final[dict[str, str]] = {
    "point": "point estimate",
    "bound": "confidence bound",
    "dual": "estimate and bound",
    "none": "report only",
}

_INTERVAL_LABELS: Final[dict[str, str]] = {
    "wilson": "Wilson score",
    "clopper_pearson": "Clopper–Pearson exact",
    "bootstrap_percentile": "bootstrap percentile",
    "none": "none",
}


def is_missing(x: object) -> bool:
    """True for None and NaN (including numpy and pandas missing scalars)."""
    return x is None or (pd.api.types.is_scalar(x) and bool(pd.isna(x)))


def proportion(x: float | None) -> str:
    """A proportion, ratio or AUC with three decimals."""
    return MISSING if is_missing(x) else f"{float(x):.3f}"  # type: ignore[arg-type]


def p_value(x: float | None) -> str:
    """Three significant digits; "<0.001" below 0.001, where digits stop meaning much."""
    if is_missing(x):
        return NOT_APPLICABLE
    value = float(x)  # type: ignore[arg-type]
    return "<0.001" if value < 0.001 else f"{value:#.3g}"


def count(x: float | None) -> str:
    """A count of rows with thousands separators."""
    return MISSING if is_missing(x) else f"{int(x):,}"  # type: ignore[arg-type]


def interval(low: float | None, high: float | None) -> str:
    """A confidence interval as "low – high", or "n/a" when either end is missing."""
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"{proportion(low)} – {proportion(high)}"


def interval_method(name: str) -> str:
    return _INTERVAL_LABELS.get(name, name)


def rule_label(name: str) -> str:
    return _RULE_LABELS.get(name, name)
