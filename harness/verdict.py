"""Judging, kept apart from measuring: decision rules, the overall verdict, the policy clock.

A failed threshold is a result (a ``Judgement``), never an exception.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Iterable, Literal

from .multiplicity import ADJUST_LABELS
from .profile import Profile, Requirement

__all__ = [
    "Judgement",
    "Measured",
    "PolicyClock",
    "Status",
    "Successor",
    "judge",
    "overall_verdict",
    "policy_clock",
]

Status = Literal["pass", "fail", "flag", "inconclusive", "insufficient_data", "reported"]
Overall = Literal["compliant", "non_compliant", "inconclusive"]
PolicyStatus = Literal["not_in_force", "grace_period", "enforced"]


@dataclass(frozen=True)
class Measured:
    """What the verdict needs to know about one group's measurement."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    positives: int
    negatives: int
    excluded: bool = False
    p_value: float = math.nan
    confidence: float = 0.95
    p_adjusted: float = math.nan  # p_value corrected across the requirement's comparisons (significance.adjust)


@dataclass(frozen=True)
class Judgement:
    status: Status
    compared: float
    reason: str


def _fmt(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3f}"


def _support_gap(req: Requirement, m: Measured) -> str | None:
    need = req.min_support
    for name, have, want in (("rows", m.n, need.rows), ("positives", m.positives, need.positives),
                             ("negatives", m.negatives, need.negatives)):
        if have < want:
            return f"{have} {name} < {want} required"
    return None


def _clears(x: float, op: str, t: float) -> bool:
    return x >= t if op == "min" else x <= t


def _bound(m: Measured, op: str) -> tuple[float, float, str]:
    """(bound that must clear, opposite bound, its name) for a min or max threshold."""
    one_sided = 1 - (1 - m.confidence) / 2
    if op == "min":
        return m.ci_low, m.ci_high, f"lower {one_sided:.1%} bound"
    return m.ci_high, m.ci_low, f"upper {one_sided:.1%} bound"


def judge(req: Requirement, m: Measured) -> Judgement:
    """Apply a requirement's decision rule to one group's measurement."""
    if m.excluded:
        return Judgement("reported", math.nan, f"left out of the comparison: under {req.exclude_below_share:.0%} of the data")
    gap = _support_gap(req, m)
    if gap:
        return Judgement("insufficient_data", math.nan, gap)
    if math.isnan(m.value):
        return Judgement("insufficient_data", math.nan, "undefined for this group (no rows in its denominator)")
    if req.threshold is None:
        return Judgement("reported", m.value, "reported, no threshold")
    op, t = req.threshold.operator, req.threshold.value
    sign = ">=" if op == "min" else "<="
    if req.rule == "point":
        return _point(req, m, op, t, sign)
    bound, opposite, name = _bound(m, op)
    if math.isnan(bound):
        return Judgement("inconclusive", bound, f"no confidence bound could be computed for {name}")
    if req.rule == "bound":
        if _clears(bound, op, t):
            return Judgement("pass", bound, f"{name} {_fmt(bound)} {sign} {t:g}")
        if not _clears(opposite, op, t):
            return Judgement(req.on_breach, bound, f"whole interval outside the threshold: {_fmt(opposite)} vs {op} {t:g}")
        return Judgement("inconclusive", bound, f"interval [{_fmt(m.ci_low)}, {_fmt(m.ci_high)}] straddles {t:g}")
    return _dual(req, m, op, t, sign, bound, name)


def _point(req: Requirement, m: Measured, op: str, t: float, sign: str) -> Judgement:
    if _clears(m.value, op, t):
        return Judgement("pass", m.value, f"estimate {_fmt(m.value)} {sign} {t:g}")
    breach = f"estimate {_fmt(m.value)} misses {op} {t:g}"
    sig = req.significance
    if sig is None:
        return Judgement(req.on_breach, m.value, breach)
    p = m.p_value if sig.adjust == "none" else m.p_adjusted
    if math.isnan(p):
        return Judgement("inconclusive", m.value, f"{breach}; significance could not be tested")
    label = "p" if sig.adjust == "none" else f"{ADJUST_LABELS[sig.adjust]} p"
    raw = "" if sig.adjust == "none" else f"; unadjusted p = {m.p_value:.3g}"
    if p < sig.alpha:
        return Judgement(req.on_breach, m.value,
                         f"{breach} and the difference is significant ({label} = {p:.3g} < {sig.alpha:g}{raw})")
    return Judgement("pass", m.value,
                     f"{breach} but the difference is not significant ({label} = {p:.3g} >= {sig.alpha:g}{raw})")


def _dual(req: Requirement, m: Measured, op: str, t: float, sign: str, bound: float, name: str) -> Judgement:
    null = float(req.null_threshold)  # validated present for rule 'dual'
    if not _clears(m.value, op, t):
        return Judgement(req.on_breach, m.value, f"estimate {_fmt(m.value)} misses the goal {op} {t:g}")
    if not _clears(bound, op, null):
        return Judgement("inconclusive", bound, f"goal met ({_fmt(m.value)}) but {name} {_fmt(bound)} misses {null:g}")
    return Judgement("pass", bound, f"estimate {_fmt(m.value)} {sign} {t:g} and {name} {_fmt(bound)} {sign} {null:g}")


def overall_verdict(blocking_statuses: Iterable[Status]) -> Overall:
    """Non-compliant on any fail or flag; inconclusive on any open question; else compliant."""
    seen = set(blocking_statuses)
    if seen & {"fail", "flag"}:
        return "non_compliant"
    if seen & {"inconclusive", "insufficient_data"}:
        return "inconclusive"
    return "compliant"


@dataclass(frozen=True)
class Successor:
    """A newer version of the same profile, in force on the evaluation date (see ``supersession``)."""

    id: str
    version: str
    effective_from: dt.date
    sha256: str

    def record(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "effective_from": self.effective_from.isoformat(),
                "sha256": self.sha256}


@dataclass(frozen=True)
class PolicyClock:
    status: PolicyStatus
    as_of: dt.date
    message: str
    superseded_by: Successor | None = None

    @property
    def in_force(self) -> bool:
        """The profile judged is the version in force on ``as_of``: effective, and no newer one is."""
        return self.status != "not_in_force" and self.superseded_by is None

    def record(self) -> dict[str, object]:
        """The clock as the summary, the JSON output and the MLflow tags keep it."""
        return {"status": self.status, "as_of": self.as_of.isoformat(), "message": self.message,
                "in_force": self.in_force,
                "superseded_by": None if self.superseded_by is None else self.superseded_by.record()}


def policy_clock(profile: Profile, as_of: dt.date, *, superseded_by: Successor | None = None) -> PolicyClock:
    """Where ``as_of`` falls between the profile's effective and enforcement dates, and whether a newer
    version (``superseded_by``, found in the catalogue) has replaced it by then."""
    eff, enf = profile.effective_from, profile.enforcement_from
    if as_of < eff:
        status: PolicyStatus = "not_in_force"
        message = f"informational: the profile takes effect on {eff.isoformat()}"
    elif as_of < enf:
        status, message = "grace_period", f"advisory; sanctions start on {enf.isoformat()}"
    else:
        status, message = "enforced", f"enforced since {enf.isoformat()}"
    if superseded_by is not None:
        message += (f"; superseded by {superseded_by.id} v{superseded_by.version}, in force since "
                    f"{superseded_by.effective_from.isoformat()}")
    return PolicyClock(status, as_of, message, superseded_by)
