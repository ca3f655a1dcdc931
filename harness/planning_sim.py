"""Planning AUROC requirements: the harness's own bootstrap on simulated benchmarks.

A system whose true AUROC is A is simulated on the benchmark's own labels and groups by the
binormal model (negatives' latent scores N(0, 1), positives' N(d, 1), d = sqrt(2) Φ⁻¹(A), whose
AUROC is Φ(d / sqrt(2))), mapped into the profile's score range. Each simulated benchmark is
measured as a run measures it (``measurements.measure``, the profile's interval, seed and
confidence, ``SIM_REPLICATES`` replicates) and judged with the verdict's rule. Bounded:
``SIM_BENCHMARKS`` benchmarks, so a pass probability is good to about ±0.1.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .benchmark import label_values
from .plan import Plan
from .planning import PlannedGroup, _base
from .profile import Requirement
from .stats import GridSpec, build_atoms
from .verdict import Measured, judge

__all__ = ["SIM_BENCHMARKS", "SIM_REPLICATES", "plan_auroc"]

SIM_BENCHMARKS = 20
SIM_REPLICATES = 200


def plan_auroc(plan: Plan, req: Requirement, sizes: pd.DataFrame, assumed: float, *,
               seed_path: tuple[int, ...]) -> list[PlannedGroup]:
    """Expected interval width and pass probability per group, from simulated benchmarks."""
    from scipy import stats as st

    from .measurements import measure

    profile = plan.profile
    boot = profile.inference.bootstrap.model_copy(update={"replicates": SIM_REPLICATES})
    sub = profile.model_copy(update={"requirements": [req],
                                     "inference": profile.inference.model_copy(update={"bootstrap": boot})})
    label = label_values(plan.benchmark.card, plan.benchmark.frame)
    groups = plan.groups[list(req.groups)].reset_index(drop=True)
    truth = assumed if req.threshold is not None else 0.75
    shift = math.sqrt(2) * float(st.norm.ppf(min(max(truth, 1e-6), 1 - 1e-6)))
    lo, hi = profile.inference.score_range
    rng = np.random.default_rng([profile.inference.bootstrap.seed, *seed_path])
    spec = GridSpec(profile.inference.score_bins, (lo, hi))
    conf = profile.inference.confidence
    widths: dict[str, list[float]] = {g: [] for g in sizes["group"]}
    passes = dict.fromkeys(sizes["group"], 0)
    for _ in range(SIM_BENCHMARKS):
        latent = rng.standard_normal(label.size) + shift * label
        score = lo + (hi - lo) / (1 + np.exp(-latent))
        table = build_atoms(groups, label, (score >= (lo + hi) / 2).astype(np.int8), score=score, spec=spec)
        frame, _ = measure(sub, table)
        for m in frame.itertuples(index=False):
            if m.group not in widths:
                continue
            widths[m.group].append(m.ci_high - m.ci_low)
            got = Measured(m.value, m.ci_low, m.ci_high, int(m.n), int(m.positives), int(m.negatives),
                           bool(m.excluded), float(m.p_value), conf)
            passes[m.group] += judge(req, got).status == "pass"
    out = []
    for row in sizes.itertuples(index=False):
        done = widths[row.group]
        width = float(np.nanmean(done)) if done and np.isfinite(done).any() else math.nan
        note = f"{SIM_BENCHMARKS} simulated benchmarks (binormal scores), {SIM_REPLICATES} bootstrap replicates each"
        if req.threshold is None:
            note += "; reported, no threshold: width at a true AUROC of 0.75"
        out.append(PlannedGroup(**_base(req, row, "rows", int(row.rows)), method="simulation",
                                assumed=assumed if req.threshold is not None else math.nan, expected_width=width,
                                pass_probability=passes[row.group] / SIM_BENCHMARKS if req.threshold else math.nan,
                                note=note))
    return out
