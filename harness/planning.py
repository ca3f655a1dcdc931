"""Sample-size planning: what a profile's benchmark can show, before any model runs.

For each requirement and group, on the group sizes of the judged split, the plan says how
wide the interval will be, how likely a system whose true value is the assumed one is to
pass under the requirement's own rule (``verdict.judge`` decides, so planning and judging
cannot disagree), which groups no system can pass at their size, and, for significance-
conditioned impact ratios, the largest true ratio that is flagged with 80% power.

Exact: a proportion whose denominator is fixed by the labels (rows, positives or negatives)
with a Clopper-Pearson or Wilson interval: the count is binomial, and every count's
interval and judgement are summed with its probability. Impact ratios with a significance
test: the group and reference counts are simulated (seeded, ``SIMULATIONS`` benchmarks) and
each is judged with the harness's own tests (``planning_power``). AUROC: simulated benchmarks
measured with the harness's own bootstrap (``planning_sim``). Other metrics (calibration and
other scores, counts, regression errors, bootstrap intervals of proportions, weighted rows,
denominators the model decides such as PPV's) are listed as not planned, with the reason.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .benchmark import label_values
from .errors import ProfileError
from .metrics import METRICS, RELATIVE, value_range
from .plan import Plan
from .profile import Profile, Requirement
from .resampling import clopper_pearson, fisher_exact_p, two_proportion_z_p, wilson
from .verdict import Measured, judge

__all__ = ["MARGIN", "POWER", "PlannedGroup", "SIMULATIONS", "binomial_outlook", "parse_assumptions",
           "plan_requirements", "ratio_power"]

MARGIN = 0.05  # default assumed truth: the threshold moved this far to the passing side
POWER = 0.80
SIMULATIONS = 400  # simulated benchmarks per power evaluation
_TAIL = 1e-12  # binomial counts less likely than this are left out of the sums
_SEP = " × "
# What the denominator of each proportion counts, where the labels alone fix it.
DENOMINATOR = {"selection_rate": "rows", "accuracy": "rows", "prevalence": "rows", "within_tolerance": "rows",
               "sensitivity": "positives", "fnr": "positives", "specificity": "negatives", "fpr": "negatives"}


@dataclass(frozen=True)
class PlannedGroup:
    """One group of one requirement; NaN where a quantity does not apply."""

    requirement: str
    metric: str
    rule: str
    threshold: str
    group: str
    rows: int
    positives: int | None  # None for regression (no positive class)
    negatives: int | None
    denominator: str  # what the metric's size counts: rows, positives or negatives
    size: int
    method: str  # exact_binomial, simulation, not_planned
    assumed: float = math.nan
    expected_width: float = math.nan
    pass_probability: float = math.nan
    flagged_ratio: float = math.nan  # the largest true impact ratio flagged with POWER
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def parse_assumptions(profile: Profile, pairs: tuple[str, ...]) -> dict[str, float]:
    """``REQ=VALUE`` pairs: a known requirement and a finite value its metric can take."""
    ids = [r.id for r in profile.requirements]
    out: dict[str, float] = {}
    for pair in pairs:
        rid, sep, text = pair.partition("=")
        if not sep:
            raise ProfileError(f"--assume {pair!r}: expected REQ=VALUE, e.g. {ids[0]}=0.85")
        if rid not in ids:
            close = difflib.get_close_matches(rid, ids, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ";"
            raise ProfileError(f"--assume {pair!r}: unknown requirement '{rid}'{hint} valid choices: {', '.join(ids)}")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        req = profile.requirement(rid)
        low, high = value_range(req.metric, req.base_metric)
        low = -math.inf if low is None else low
        high = (1.0 if req.metric == "impact_ratio" else math.inf) if high is None else high
        if not (math.isfinite(value) and low <= value <= high):
            raise ProfileError(f"--assume {pair!r}: expected a number in [{low:g}, {high:g}] for metric "
                               f"'{req.metric}', found {text!r}")
        out[rid] = value
    return out


def default_assumption(req: Requirement, margin: float = MARGIN) -> float:
    """The threshold moved by ``margin`` to its passing side, kept inside the metric's range."""
    if req.threshold is None:
        return math.nan
    op, t = req.threshold.operator, req.threshold.value
    low, high = value_range(req.metric, req.base_metric)
    if req.metric == "impact_ratio":
        high = 1.0
    value = t + margin if op == "min" else t - margin
    return float(min(max(value, -math.inf if low is None else low), math.inf if high is None else high))


def interval_method(profile: Profile, req: Requirement) -> str:
    """The interval the measurement will use for a plain proportion (as ``measurements`` chooses it)."""
    clustered = profile.inference.bootstrap.unit == "cluster"
    return req.interval or profile.inference.interval or ("bootstrap_percentile" if clustered else "clopper_pearson")


def binomial_outlook(req: Requirement, *, size: int, support: tuple[int, float, float], p: float, confidence: float,
                     method: str) -> tuple[float, float]:
    """(expected interval width, probability of 'pass') when the count is Binomial(size, p).

    ``support`` is the group's (rows, positives, negatives), which the minimum support checks.
    """
    from scipy import stats as st

    x = np.arange(size + 1)
    pmf = st.binom.pmf(x, size, p)
    keep = pmf > _TAIL
    x, pmf = x[keep], pmf[keep]
    lo, hi = (wilson if method == "wilson" else clopper_pearson)(x, np.full(x.size, size), confidence)
    rows, pos, neg = support
    passed = np.array([judge(req, Measured(xi / size, li, hi_, rows, pos, neg, confidence=confidence)).status == "pass"
                       for xi, li, hi_ in zip(x, lo, hi)])
    return float(np.sum(pmf * (hi - lo)) / pmf.sum()), float(np.sum(pmf[passed]) / pmf.sum())


def never_passes(req: Requirement, *, size: int, denominator: str, support: tuple[int, float, float],
                 confidence: float, method: str) -> str:
    """Why no system can pass this group at its size (empty when one can)."""
    rows, pos, neg = support
    need = req.min_support
    for name, have, want in (("rows", rows, need.rows), ("positives", pos, need.positives),
                             ("negatives", neg, need.negatives)):
        if have < want:
            return f"{have} {name} < {want} required: judged insufficient_data whatever the system"
    if req.threshold is None or req.rule == "point" or size == 0:
        return ""
    op = req.threshold.operator
    goal = req.threshold.value if req.rule == "bound" else float(req.null_threshold)
    best = size if op == "min" else 0
    lo, hi = (wilson if method == "wilson" else clopper_pearson)(np.array([best]), np.array([size]), confidence)
    bound = float(lo[0] if op == "min" else hi[0])
    if (bound >= goal) if op == "min" else (bound <= goal):
        return ""
    side, sign = ("lower", "<") if op == "min" else ("upper", ">")
    return (f"{size} {denominator}: even a perfect system's {side} {1 - (1 - confidence) / 2:.1%} bound is "
            f"{bound:.3f} {sign} {goal:g}")


def group_sizes(plan: Plan, columns: list[str]) -> pd.DataFrame:
    """Rows, positives and negatives per group of ``columns`` in the judged split (unknown values left out)."""
    label = label_values(plan.benchmark.card, plan.benchmark.frame)
    frame = pd.DataFrame({"positives": label.astype(np.int64)})
    if not columns:
        frame["group"] = "all"  # as the measurements name the whole split
    else:
        parts = plan.groups[columns].reset_index(drop=True)
        known = parts.notna().all(axis=1).to_numpy()
        frame = frame[known].copy()
        frame["group"] = parts[known].astype(str).agg(_SEP.join, axis=1).to_numpy()
    out = frame.groupby("group", sort=True)["positives"].agg(rows="size", positives="sum").reset_index()
    out["negatives"] = out["rows"] - out["positives"]
    if plan.profile.task == "regression":  # no positive class: NaN, as the measurements give it
        out[["positives", "negatives"]] = math.nan
    return out


def plan_requirements(plan: Plan, *, assume: dict[str, float] | None = None,
                      margin: float = MARGIN) -> list[PlannedGroup]:
    """Every requirement's groups, planned as the module docstring says."""
    from .planning_power import plan_ratio  # the simulated parts, kept in their own modules
    from .planning_sim import plan_auroc

    assume = assume or {}
    out: list[PlannedGroup] = []
    for i, req in enumerate(plan.profile.requirements):
        sizes = group_sizes(plan, list(req.groups))
        assumed = assume.get(req.id, default_assumption(req, margin))
        if req.metric in RELATIVE:
            out += plan_ratio(plan.profile, req, sizes, assumed, seed_path=(i,))
        elif req.metric == "auroc" and not req.weighted:
            out += plan_auroc(plan, req, sizes, assumed, seed_path=(i,))
        else:
            out += [_plan_plain(plan.profile, req, row, assumed) for row in sizes.itertuples(index=False)]
    return out


def _base(req: Requirement, row: object, denominator: str, size: int) -> dict[str, object]:
    return dict(requirement=req.id, metric=req.metric if req.of is None else f"{req.metric} of {req.of}",
                rule=req.rule, threshold=req.threshold.text() if req.threshold else "", group=row.group,
                rows=int(row.rows), positives=_count(row.positives), negatives=_count(row.negatives),
                denominator=denominator, size=size)


def _count(x: float) -> int | None:
    return None if math.isnan(x) else int(x)


def _plan_plain(profile: Profile, req: Requirement, row: object, assumed: float) -> PlannedGroup:
    metric = METRICS[req.base_metric]
    denominator = DENOMINATOR.get(req.metric, "")
    method = interval_method(profile, req)
    if metric.kind != "proportion" or not denominator or req.weighted or method not in ("wilson", "clopper_pearson"):
        why = _unplannable(req, metric.kind, denominator, method)
        shown = denominator or "rows"
        return PlannedGroup(**_base(req, row, shown, int(getattr(row, shown))), method="not_planned", note=why)
    size = int(getattr(row, denominator))
    support = (int(row.rows), row.positives, row.negatives)  # NaN for regression: no support to check
    conf = profile.inference.confidence
    note = never_passes(req, size=size, denominator=denominator, support=support, confidence=conf, method=method)
    if size == 0:
        return PlannedGroup(**_base(req, row, denominator, 0), method="exact_binomial", assumed=assumed,
                            pass_probability=0.0 if req.threshold else math.nan, note=note or f"no {denominator}")
    width, passing = binomial_outlook(req, size=size, support=support, p=assumed if req.threshold else 0.5,
                                      confidence=conf, method=method)
    if req.threshold is None:  # reported only: the width at p = 0.5, the widest case
        return PlannedGroup(**_base(req, row, denominator, size), method="exact_binomial", expected_width=width,
                            note="reported, no threshold: width at a true value of 0.5 (the widest)")
    return PlannedGroup(**_base(req, row, denominator, size), method="exact_binomial", assumed=assumed,
                        expected_width=width, pass_probability=passing, note=note)


def _unplannable(req: Requirement, kind: str, denominator: str, method: str) -> str:
    if kind != "proportion":
        return f"{kind} metric: needs simulated benchmarks, not planned"
    if not denominator:
        return f"the denominator of {req.metric} depends on the model's decisions, not planned"
    if req.weighted:
        return "weighted rows: not planned"
    return f"interval '{method}': only Clopper-Pearson and Wilson intervals are planned"


def ratio_power(req: Requirement, *, ratio: float, reference_rate: float, n_group: int, n_ref: int,
                support: tuple[int, float, float], rng_seed: tuple[int, ...],
                comparisons: int = 1) -> tuple[float, float]:
    """(probability of a flag or fail, probability of a pass) for a true impact ratio, by simulation.

    Both counts are binomial; each simulated pair is judged with the harness's own test (Fisher's
    exact test under ``small_n`` when the test is ``auto``) and decision rule. The same uniforms
    serve every ratio, so the power is monotone in the ratio and the search below is stable.
    Under ``significance.adjust`` the p-value is judged at the Bonferroni level of the
    requirement's ``comparisons``: exact for Bonferroni, and since Holm's and Benjamini-Hochberg's
    adjusted p-values are never larger, a lower bound of their power to flag.
    """
    from scipy import stats as st

    u = np.random.default_rng(list(rng_seed)).random((2, SIMULATIONS))
    x_g = st.binom.ppf(u[0], n_group, min(ratio * reference_rate, 1.0))
    x_r = st.binom.ppf(u[1], n_ref, reference_rate)
    sig = req.significance
    fisher = sig.test == "fisher" or (sig.test == "auto" and min(n_group, n_ref) < sig.small_n)
    test = fisher_exact_p if fisher else two_proportion_z_p
    rows, pos, neg = support
    flagged = passed = 0
    cache: dict[tuple[float, float], str] = {}
    for a, b in zip(x_g, x_r):
        if (a, b) not in cache:
            rate_ref = b / n_ref
            value = min((a / n_group) / rate_ref, 1.0) if rate_ref > 0 else math.nan
            p = test(a, n_group, b, n_ref)
            adjusted = math.nan if math.isnan(p) else min(1.0, p * comparisons)
            cache[a, b] = judge(req, Measured(value, math.nan, math.nan, rows, pos, neg, p_value=p,
                                              p_adjusted=adjusted)).status
        flagged += cache[a, b] == req.on_breach
        passed += cache[a, b] == "pass"
    return flagged / SIMULATIONS, passed / SIMULATIONS
