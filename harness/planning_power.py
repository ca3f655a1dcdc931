"""Planning impact ratios: pass probability and the disparity flagged with 80% power, by simulation.

Each group is compared with the largest other eligible group (the most precise reference a
run could find; in a run the reference is the highest-rate group). The reference group's true
rate is the label's share in it for ``selection_rate`` (a system selecting at the base rate)
and 0.5 for other base metrics; the group's true rate is the ratio times that.
"""

from __future__ import annotations

import math

import pandas as pd

from .planning import DENOMINATOR, POWER, PlannedGroup, _base, ratio_power
from .profile import Profile, Requirement

__all__ = ["flagged_ratio", "plan_ratio"]

_BISECTIONS = 10  # search steps: the ratio is found to 2**-10 of the threshold


def plan_ratio(profile: Profile, req: Requirement, sizes: pd.DataFrame, assumed: float, *,
               seed_path: tuple[int, ...]) -> list[PlannedGroup]:
    denominator = DENOMINATOR.get(req.base_metric, "")
    rows = list(sizes.itertuples(index=False))
    why = _unplannable(req, denominator)
    if why:
        return [PlannedGroup(**_base(req, r, denominator or "rows", int(r.rows)), method="not_planned", note=why)
                for r in rows]
    total = max(1, int(sizes["rows"].sum()))
    eligible = [r.rows / total >= req.exclude_below_share for r in rows]
    out = []
    for g, row in enumerate(rows):
        size = int(getattr(row, denominator))
        base = _base(req, row, denominator, size)
        others = [k for k in range(len(rows)) if k != g and eligible[k]]
        if not eligible[g]:
            out.append(PlannedGroup(**base, method="not_planned",
                                    note=f"under {req.exclude_below_share:.0%} of the data: left out of the ratio"))
            continue
        if not others:
            out.append(PlannedGroup(**base, method="not_planned", note="no other eligible group to compare with"))
            continue
        ref = rows[max(others, key=lambda k: getattr(rows[k], denominator))]
        n_ref = int(getattr(ref, denominator))
        rate = ref.positives / ref.rows if req.base_metric == "selection_rate" and ref.rows else 0.5
        seed = (profile.inference.bootstrap.seed, *seed_path, g)
        kwargs = dict(reference_rate=rate, n_group=size, n_ref=n_ref,
                      support=(int(row.rows), row.positives, row.negatives), rng_seed=seed,
                      comparisons=max(1, sum(eligible) - 1))
        if size == 0 or n_ref == 0 or rate == 0:
            out.append(PlannedGroup(**base, method="not_planned", note="no rows in the group's or the reference's "
                                    "denominator, or a reference rate of 0"))
            continue
        passing = ratio_power(req, ratio=assumed, **kwargs)[1] if req.threshold else math.nan
        flagged = flagged_ratio(req, **kwargs) if req.significance is not None and req.threshold else math.nan
        note = f"against {ref.group} ({n_ref} {denominator}, assumed rate {rate:.3f})"
        if req.significance is not None and math.isnan(flagged) and req.threshold:
            verb = "flagged" if req.on_breach == "flag" else "failed"
            note += f"; no disparity is {verb} with {POWER:.0%} power at this size"
        if req.significance is not None and req.significance.adjust != "none":
            note += (f"; p-values {req.significance.adjust}-adjusted over {max(1, sum(eligible) - 1)} comparisons, "
                     "planned at the Bonferroni level (Holm and Benjamini-Hochberg flag at least as often)")
        if profile.inference.bootstrap.unit == "cluster" and req.significance is not None:
            note += "; rows simulated as independent: the profile's cluster-robust test needs more"
        out.append(PlannedGroup(**base, method="simulation", assumed=assumed, pass_probability=passing,
                                flagged_ratio=flagged, note=note))
    return out


def _unplannable(req: Requirement, denominator: str) -> str:
    if req.metric != "impact_ratio":
        return f"metric '{req.metric}': not planned"
    if not denominator:
        return f"base metric '{req.base_metric}': its denominator is not fixed by the labels, not planned"
    if req.rule != "point" and req.threshold is not None:
        return f"rule '{req.rule}' on an impact ratio needs bootstrap intervals of simulated benchmarks, not planned"
    if req.weighted:
        return "weighted rows: not planned"
    return ""


def flagged_ratio(req: Requirement, **kwargs: object) -> float:
    """The largest true ratio below the threshold flagged with POWER; NaN if not even a ratio of 0 is."""
    lo, hi = 0.0, float(req.threshold.value)
    if ratio_power(req, ratio=lo, **kwargs)[0] < POWER:
        return math.nan
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        if ratio_power(req, ratio=mid, **kwargs)[0] >= POWER:
            lo = mid
        else:
            hi = mid
    return lo
