"""Decision rules, the overall verdict and the policy clock, as tables."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from harness.profile import Requirement, parse_profile
from harness.verdict import Measured, judge, overall_verdict, policy_clock

NAN = math.nan


def req(**kw) -> Requirement:
    base = {"id": "R", "title": "t", "metric": "sensitivity"}
    return Requirement.model_validate({**base, **kw})


def m(value, lo=NAN, hi=NAN, n=1000, pos=500, neg=500, excluded=False, p=NAN) -> Measured:
    return Measured(value=value, ci_low=lo, ci_high=hi, n=n, positives=pos, negatives=neg,
                    excluded=excluded, p_value=p)


MIN80 = {"threshold": {"min": 0.8}}
MAX10 = {"threshold": {"max": 0.1}}

CASES = [
    # (requirement fields, measurement, expected status, expected compared value)
    ({}, m(0.9, 0.85, 0.95), "reported", 0.9),
    ({**MIN80, "rule": "point"}, m(0.80, 0.7, 0.9), "pass", 0.80),
    ({**MIN80, "rule": "point"}, m(0.79, 0.7, 0.9), "fail", 0.79),
    ({**MIN80, "rule": "point", "on_breach": "flag"}, m(0.79), "flag", 0.79),
    ({**MAX10, "rule": "point"}, m(0.10), "pass", 0.10),
    ({**MAX10, "rule": "point"}, m(0.11), "fail", 0.11),
    ({**MIN80, "rule": "bound"}, m(0.90, 0.81, 0.95), "pass", 0.81),
    ({**MIN80, "rule": "bound"}, m(0.85, 0.78, 0.90), "inconclusive", 0.78),
    ({**MIN80, "rule": "bound"}, m(0.70, 0.60, 0.79), "fail", 0.60),
    ({**MAX10, "rule": "bound"}, m(0.05, 0.02, 0.09), "pass", 0.09),
    ({**MAX10, "rule": "bound"}, m(0.08, 0.05, 0.11), "inconclusive", 0.11),
    ({**MAX10, "rule": "bound"}, m(0.20, 0.12, 0.30), "fail", 0.30),
    ({**MIN80, "rule": "bound"}, m(0.90), "inconclusive", NAN),
    ({**MIN80, "rule": "dual", "null_threshold": 0.75}, m(0.87, 0.82, 0.91), "pass", 0.82),
    ({**MIN80, "rule": "dual", "null_threshold": 0.75}, m(0.87, 0.74, 0.95), "inconclusive", 0.74),
    ({**MIN80, "rule": "dual", "null_threshold": 0.75}, m(0.79, 0.76, 0.82), "fail", 0.79),
    ({**MIN80, "min_support": {"positives": 30}}, m(0.9, pos=29), "insufficient_data", NAN),
    ({**MIN80, "min_support": {"rows": 100}}, m(0.9, n=99), "insufficient_data", NAN),
    ({**MIN80, "min_support": {"negatives": 100}}, m(0.9, neg=10), "insufficient_data", NAN),
    ({**MIN80}, m(NAN), "insufficient_data", NAN),
]

IR = {"metric": "impact_ratio", "groups": ["race"], "threshold": {"min": 0.8}, "on_breach": "flag",
      "significance": {"alpha": 0.05}, "exclude_below_share": 0.02}
CASES += [
    (IR, m(0.6, p=0.01), "flag", 0.6),
    (IR, m(0.6, p=0.20), "pass", 0.6),
    (IR, m(0.6, p=NAN), "inconclusive", 0.6),
    (IR, m(0.95, p=0.001), "pass", 0.95),
    (IR, m(0.5, excluded=True), "reported", NAN),
]


@pytest.mark.parametrize(("fields", "measured", "status", "compared"), CASES)
def test_decision_rules(fields, measured, status, compared):
    out = judge(req(**fields), measured)
    assert out.status == status, out.reason
    assert (math.isnan(out.compared) and math.isnan(compared)) or out.compared == pytest.approx(compared)


def test_reasons_name_the_numbers():
    out = judge(req(**MIN80, rule="bound"), m(0.85, 0.78, 0.90))
    assert out.reason == "interval [0.780, 0.900] straddles 0.8"
    out = judge(req(**MIN80, rule="dual", null_threshold=0.75), m(0.87, 0.82, 0.91))
    assert out.reason == "estimate 0.870 >= 0.8 and lower 97.5% bound 0.820 >= 0.75"
    out = judge(req(**IR), m(0.6, p=0.01))
    assert out.reason == "estimate 0.600 misses min 0.8 and the difference is significant (p = 0.01 < 0.05)"
    assert judge(req(**MIN80, min_support={"positives": 30}), m(0.9, pos=29)).reason == "29 positives < 30 required"


@pytest.mark.parametrize(("statuses", "verdict"), [
    ([], "compliant"),
    (["pass", "pass"], "compliant"),
    (["pass", "reported"], "compliant"),
    (["pass", "inconclusive"], "inconclusive"),
    (["pass", "insufficient_data"], "inconclusive"),
    (["pass", "flag"], "non_compliant"),
    (["inconclusive", "fail"], "non_compliant"),
])
def test_overall_verdict(statuses, verdict):
    assert overall_verdict(statuses) == verdict


PROFILE = """
id: clock
version: 1
title: t
sector: s
authority: a
legal_basis: [x]
effective_from: 2026-01-22
enforcement_from: 2027-01-22
benchmark: {id: b, sha256: "%s"}
task: binary_classification
inference: {bootstrap: {seed: 1}}
requirements: [{id: R, title: t, metric: accuracy}]
""" % ("0" * 64)


@pytest.mark.parametrize(("day", "status", "message"), [
    ("2025-12-31", "not_in_force", "informational: the profile takes effect on 2026-01-22"),
    ("2026-01-21", "not_in_force", "informational: the profile takes effect on 2026-01-22"),
    ("2026-01-22", "grace_period", "advisory; sanctions start on 2027-01-22"),
    ("2027-01-21", "grace_period", "advisory; sanctions start on 2027-01-22"),
    ("2027-01-22", "enforced", "enforced since 2027-01-22"),
    ("2030-06-01", "enforced", "enforced since 2027-01-22"),
])
def test_policy_clock(day, status, message):
    clock = policy_clock(parse_profile(PROFILE), dt.date.fromisoformat(day))
    assert (clock.status, clock.message) == (status, message)
