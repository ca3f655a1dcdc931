"""Coverage of the harness's 95% intervals on simulated data whose truth is known.

Each scenario draws a benchmark from a known population many times (*trials*); every
trial goes through the same public path a user's run takes (a profile parsed with
``parse_profile``, rows collapsed with ``build_atoms``, ``measure``) and records whether
each interval contains the population value. Coverage is the share of trials whose
interval contains it; its Monte-Carlo standard error is sqrt(c (1 - c) / trials), about
one percentage point at 500 trials and 95% coverage. A trial whose interval is undefined
(NaN) counts as not covering, and is counted separately.

Scenarios: sensitivity (Clopper-Pearson, Wilson, bootstrap percentile, BCa); impact ratio
of selection rates (percentile, BCa, Katz log), with two groups and with two tied top
groups; AUROC of binormal scores (truth Phi(delta / sqrt 2)); calibration slope of a
correctly specified logistic recalibration model (truth: its slope), when the metric
table has ``calibration_slope``; a selection rate with a cluster-level random effect,
row bootstrap against ``unit: cluster``; a survey-weighted selection rate (strata sampled
out of proportion, weights restoring the population); an impact ratio under the stratified
bootstrap; the difference of two selection rates; and regression metrics (MAE, RMSE, share
within a tolerance) of normally distributed prediction errors.

Every trial has its own seed, derived from ``--seed``, the scenario's name and the trial
number, for both the data and the bootstrap, so results do not depend on ``--workers``.

    .venv/bin/python perf/coverage.py                          # full study (1,000 trials)
    .venv/bin/python perf/coverage.py --trials 100 --only auroc  # a quick look at some scenarios
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one process per core; BLAS threads would oversubscribe

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from scipy import stats as st  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.measurements import measure  # noqa: E402
from harness.metrics import METRICS  # noqa: E402
from harness.profile import parse_profile  # noqa: E402
from harness.stats import build_atoms, build_regression_atoms  # noqa: E402

CONFIDENCE = 0.95
FLAG_BELOW = 0.93  # coverage under this, at 500+ trials, is a material under-coverage
CHUNK = 25  # trials per task handed to a worker


# --- simulated benchmarks ------------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    groups: pd.DataFrame
    label: np.ndarray
    decision: np.ndarray
    score: np.ndarray | None = None
    cluster: np.ndarray | None = None
    weight: np.ndarray | None = None
    regression: bool = False  # label holds the outcome, decision the prediction


def _one_group(n: int) -> pd.DataFrame:
    return pd.DataFrame({"site": np.full(n, "all", dtype=object)})


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def sensitivity_sample(rng: np.random.Generator, *, tpr: float, positives: int, negatives: int,
                       specificity: float = 0.8) -> Sample:
    label = np.r_[np.ones(positives, np.int8), np.zeros(negatives, np.int8)]
    decision = np.r_[rng.random(positives) < tpr, rng.random(negatives) >= specificity].astype(np.int8)
    return Sample(_one_group(label.size), label, decision)


def selection_sample(rng: np.random.Generator, *, rates: dict[str, float], size: int) -> Sample:
    names = np.repeat(np.array(list(rates), dtype=object), size)
    p = np.repeat(np.array(list(rates.values())), size)
    decision = (rng.random(p.size) < p).astype(np.int8)
    return Sample(pd.DataFrame({"group": names}), np.zeros(p.size, np.int8), decision)


def binormal_sample(rng: np.random.Generator, *, delta: float, positives: int, negatives: int) -> Sample:
    """Negatives ~ N(0, 1), positives ~ N(delta, 1), mapped into (0, 1) by the logistic function."""
    z = np.r_[rng.normal(delta, 1.0, positives), rng.normal(0.0, 1.0, negatives)]
    label = np.r_[np.ones(positives, np.int8), np.zeros(negatives, np.int8)]
    score = _sigmoid(z)
    return Sample(_one_group(label.size), label, (score > 0.5).astype(np.int8), score)


def recalibration_sample(rng: np.random.Generator, *, n: int, intercept: float, slope: float,
                         mean_logit: float, sd_logit: float) -> Sample:
    """logit(score) ~ N(mean, sd); y ~ Bernoulli(sigmoid(intercept + slope logit(score)))."""
    x = rng.normal(mean_logit, sd_logit, n)
    label = (rng.random(n) < _sigmoid(intercept + slope * x)).astype(np.int8)
    score = _sigmoid(x)
    return Sample(_one_group(n), label, (score > 0.5).astype(np.int8), score)


def clustered_sample(rng: np.random.Generator, *, clusters: int, size: int, rate: float, icc: float) -> Sample:
    """Each cluster's selection probability ~ Beta with mean ``rate`` and intra-cluster correlation ``icc``."""
    k = 1.0 / icc - 1.0
    p = np.repeat(rng.beta(rate * k, (1 - rate) * k, clusters), size)
    decision = (rng.random(p.size) < p).astype(np.int8)
    return Sample(_one_group(p.size), np.zeros(p.size, np.int8), decision,
                  cluster=np.repeat(np.arange(clusters), size))


def weighted_sample(rng: np.random.Generator, *, rates: dict[str, float], population: dict[str, float],
                    sizes: dict[str, int]) -> Sample:
    """Strata sampled out of proportion to the population; survey weights population share / sample share."""
    n = sum(sizes.values())
    names = np.repeat(np.array(list(sizes), dtype=object), list(sizes.values()))
    p = np.repeat([rates[k] for k in sizes], list(sizes.values()))
    weight = np.repeat([population[k] / (sizes[k] / n) for k in sizes], list(sizes.values()))
    decision = (rng.random(n) < p).astype(np.int8)
    return Sample(pd.DataFrame({"stratum": names}), np.zeros(n, np.int8), decision, weight=weight)


def regression_sample(rng: np.random.Generator, *, n: int, bias: float, sd: float) -> Sample:
    """Outcome ~ N(50, 10); prediction = outcome + e, e ~ N(bias, sd)."""
    outcome = rng.normal(50.0, 10.0, n)
    return Sample(_one_group(n), outcome, outcome + rng.normal(bias, sd, n), regression=True)


# --- scenarios -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    name: str
    family: str
    requirement: dict[str, Any]  # metric, of, groups: the fields every requirement shares
    truth: float
    simulate: Callable[[np.random.Generator], Sample]
    designs: tuple[tuple[str, tuple[str, ...]], ...]  # (bootstrap unit, intervals)
    group: str = "all"  # the group whose row is scored
    params: dict[str, Any] = field(default_factory=dict)
    top: tuple[str, ...] = ()  # impact ratio: the groups with the highest rate in truth


def _sens(tpr: float, positives: int) -> Scenario:
    return Scenario(
        f"sensitivity {tpr:.2f}, {positives} positives", "sensitivity", {"metric": "sensitivity"}, tpr,
        partial(sensitivity_sample, tpr=tpr, positives=positives, negatives=positives),
        (("row", ("clopper_pearson", "wilson", "bootstrap_percentile", "bootstrap_bca")),),
        params={"tpr": tpr, "positives": positives, "negatives": positives, "specificity": 0.8})


def _ratio(rates: dict[str, float], size: int) -> Scenario:
    shown = " vs ".join(f"{k} {v:.3g}" for k, v in rates.items())
    return Scenario(
        f"impact ratio, {shown}, {size} per group", "impact_ratio",
        {"metric": "impact_ratio", "of": "selection_rate", "groups": ["group"]},
        rates["B"] / max(rates.values()), partial(selection_sample, rates=rates, size=size),
        (("row", ("bootstrap_percentile", "bootstrap_bca", "katz_log")),), group="B",
        params={"rates": rates, "size_per_group": size},
        top=tuple(k for k, v in rates.items() if v == max(rates.values())))


def _auroc(auc: float, positives: int) -> Scenario:
    delta = float(np.sqrt(2) * st.norm.ppf(auc))
    return Scenario(
        f"AUROC {auc:.2f}, {positives} positives", "auroc", {"metric": "auroc"}, auc,
        partial(binormal_sample, delta=delta, positives=positives, negatives=positives),
        (("row", ("bootstrap_percentile", "bootstrap_bca")),),
        params={"auc": auc, "delta": delta, "positives": positives, "negatives": positives})


def _slope(slope: float, n: int) -> Scenario:
    shape = {"intercept": 0.0, "slope": slope, "mean_logit": -1.5, "sd_logit": 1.2}
    return Scenario(
        f"calibration slope {slope:.2f}, {n} rows", "calibration_slope", {"metric": "calibration_slope"}, slope,
        partial(recalibration_sample, n=n, **shape), (("row", ("bootstrap_percentile", "bootstrap_bca")),),
        params={"rows": n, **shape})


def _clustered(icc: float, clusters: int = 200, size: int = 10, rate: float = 0.3) -> Scenario:
    return Scenario(
        f"selection rate {rate:.2f}, {clusters} clusters of {size}, ICC {icc:.2f}", "clustered",
        {"metric": "selection_rate"}, rate,
        partial(clustered_sample, clusters=clusters, size=size, rate=rate, icc=icc),
        (("row", ("clopper_pearson", "wilson", "bootstrap_percentile", "bootstrap_bca")),
         ("cluster", ("bootstrap_percentile", "bootstrap_bca"))),
        params={"clusters": clusters, "cluster_size": size, "rate": rate, "icc": icc,
                "design_effect": 1 + (size - 1) * icc})


def _weighted(size: int) -> Scenario:
    rates, population, sizes = {"s1": 0.2, "s2": 0.5}, {"s1": 0.5, "s2": 0.5}, {"s1": 4 * size, "s2": size}
    return Scenario(
        f"weighted selection rate, strata of {4 * size} and {size} rows, weights 0.625 and 2.5", "weighted",
        {"metric": "selection_rate", "weighted": True}, sum(rates[k] * population[k] for k in rates),
        partial(weighted_sample, rates=rates, population=population, sizes=sizes),
        (("row", ("bootstrap_percentile", "bootstrap_bca")),),
        params={"rates": rates, "population_share": population, "sample_sizes": sizes})


def _stratified(size: int) -> Scenario:
    rates = {"A": 0.10, "B": 0.07}
    return Scenario(
        f"impact ratio, A 0.1 vs B 0.07, {size} per group, stratified bootstrap", "stratified",
        {"metric": "impact_ratio", "of": "selection_rate", "groups": ["group"]}, rates["B"] / rates["A"],
        partial(selection_sample, rates=rates, size=size),
        (("stratified", ("bootstrap_percentile", "bootstrap_bca")),), group="B",
        params={"rates": rates, "size_per_group": size}, top=("A",))


def _difference(size: int) -> Scenario:
    rates = {"A": 0.10, "B": 0.07}
    return Scenario(
        f"difference of selection rates, A 0.1 vs B 0.07, {size} per group", "difference",
        {"metric": "difference", "of": "selection_rate", "groups": ["group"]}, rates["A"] - rates["B"],
        partial(selection_sample, rates=rates, size=size),
        (("row", ("bootstrap_percentile", "bootstrap_bca")),), group="B",
        params={"rates": rates, "size_per_group": size}, top=("A",))


def _regression(metric: str, n: int, bias: float = 0.5, sd: float = 1.0, tolerance: float = 1.0) -> Scenario:
    z = bias / sd
    truth = {"mae": sd * np.sqrt(2 / np.pi) * np.exp(-z * z / 2) + bias * (1 - 2 * st.norm.cdf(-z)),
             "within_tolerance": st.norm.cdf((tolerance - bias) / sd) - st.norm.cdf((-tolerance - bias) / sd),
             "rmse": float(np.sqrt(bias**2 + sd**2))}[metric]
    requirement = {"metric": metric, **({"tolerance": tolerance} if metric == "within_tolerance" else {})}
    intervals = ("bootstrap_percentile", "bootstrap_bca") + {"within_tolerance": ("clopper_pearson",),
                                                             "rmse": ("bootstrap_t",)}.get(metric, ())
    return Scenario(
        f"{metric}, prediction error ~ N({bias}, {sd}), {n} rows", "regression", requirement, float(truth),
        partial(regression_sample, n=n, bias=bias, sd=sd), (("row", intervals),),
        params={"rows": n, "bias": bias, "sd": sd, **({"tolerance": tolerance} if metric == "within_tolerance" else {})})


def scenarios() -> list[Scenario]:
    out = [_sens(t, n) for t in (0.85, 0.95) for n in (50, 500)]
    out += [_ratio({"A": 0.10, "B": 0.07}, n) for n in (200, 2000)]
    out += [_ratio({"A": 0.10, "B": 0.095}, 200)]
    out += [_ratio({"A": 0.10, "B": 0.07, "C": 0.10}, n) for n in (200, 2000)]
    out += [_auroc(a, n) for a in (0.75, 0.90) for n in (100, 1000)]
    if "calibration_slope" in METRICS:
        out += [_slope(0.8, n) for n in (200, 500, 5000)]  # 5,000 distinct scores: the resampling grid
    out += [_clustered(icc) for icc in (0.05, 0.2)]
    out += [_weighted(n) for n in (100, 1000)]
    out += [_stratified(200), _difference(200), _difference(2000)]
    out += [_regression(m, n) for m in ("mae", "rmse", "within_tolerance") for n in (50, 500)]
    return out


# --- one trial through the harness -----------------------------------------------------------

def profile_text(scn: Scenario, unit: str, intervals: tuple[str, ...], *, replicates: int, seed: int) -> str:
    reqs = [{"id": f"R-{i}", "title": f"{scn.family} ({i})", **scn.requirement, "interval": i} for i in intervals]
    bootstrap = {"replicates": replicates, "seed": seed}
    bootstrap.update({"stratify": True} if unit == "stratified" else {"unit": unit})
    profile = {
        "id": "coverage-study", "version": 1, "title": "Coverage study", "sector": "synthetic",
        "authority": "none (coverage study)", "legal_basis": ["none: synthetic"],
        "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
        "benchmark": {"id": "simulated", "sha256": "0" * 64, "split": "all"},
        "task": "regression" if scn.family == "regression" else "binary_classification",
        "inference": {"confidence": CONFIDENCE, "bootstrap": bootstrap},
        "requirements": reqs,
    }
    return yaml.safe_dump(profile, sort_keys=False)


def _seeds(base: int, scn: Scenario, trial: int) -> tuple[np.random.Generator, int]:
    seq = np.random.SeedSequence([base, zlib.crc32(scn.name.encode()), trial])
    data, boot = seq.spawn(2)
    return np.random.default_rng(data), int(boot.generate_state(1, np.uint32)[0])


def run_trial(scn: Scenario, trial: int, *, replicates: int, base_seed: int) -> dict[str, Any]:
    """Lower and upper bound of every interval of the scenario for one simulated benchmark."""
    rng, boot_seed = _seeds(base_seed, scn, trial)
    sample = scn.simulate(rng)
    if sample.regression:
        table = build_regression_atoms(sample.groups, sample.label, sample.decision, weight=sample.weight,
                                       cluster=sample.cluster)
    else:
        table = build_atoms(sample.groups, sample.label, sample.decision, score=sample.score,
                            weight=sample.weight, cluster=sample.cluster)
    out: dict[str, Any] = {"bounds": {}}
    for unit, intervals in scn.designs:
        profile = parse_profile(profile_text(scn, unit, intervals, replicates=replicates, seed=boot_seed))
        rows, _ = measure(profile, table)
        rows = rows[rows["group"] == scn.group]
        for _, r in rows.iterrows():
            asked = r["requirement"].removeprefix("R-")  # the row's own column may name a fallback
            out["bounds"][_key(unit, asked)] = (float(r["ci_low"]), float(r["ci_high"]))
        out["value"] = float(rows["value"].iloc[0])
        out["reference"] = str(rows["reference_group"].iloc[0])
    return out


def _key(unit: str, interval: str) -> str:
    """The interval's name, with the profile's bootstrap unit when it is not rows."""
    if unit == "stratified":
        return f"{interval} (stratified)"
    return interval if unit == "row" else f"{interval} (unit: {unit})"


def run_chunk(scn: Scenario, trials: range, *, replicates: int, base_seed: int) -> list[dict[str, Any]]:
    return [run_trial(scn, t, replicates=replicates, base_seed=base_seed) for t in trials]


# --- summaries -----------------------------------------------------------------------------

def _share(mask: np.ndarray, among: np.ndarray) -> float | None:
    return float(mask[among].mean()) if among.any() else None


def summarise(scn: Scenario, trials: list[dict[str, Any]]) -> dict[str, Any]:
    rows = []
    # impact ratio: was the observed reference group (highest observed rate) a top group in truth?
    true_ref = np.array([t["reference"] in scn.top for t in trials]) if scn.top else None
    for key in trials[0]["bounds"]:
        b = np.array([t["bounds"][key] for t in trials], dtype=float)
        lo, hi = b[:, 0], b[:, 1]
        defined = np.isfinite(lo) & np.isfinite(hi)
        covered = defined & (lo <= scn.truth) & (scn.truth <= hi)
        c = float(covered.mean())
        by_ref = {} if true_ref is None else {
            "coverage_when_reference_is_a_true_top_group": _share(covered, true_ref),
            "coverage_when_reference_is_not": _share(covered, ~true_ref),
        }
        rows.append({
            "interval": key,
            "trials": len(trials),
            "coverage": c,
            "mc_se": float(np.sqrt(c * (1 - c) / len(trials))),
            "mean_width": float(np.mean(hi[defined] - lo[defined])) if defined.any() else None,
            "truth_below_interval": float(np.mean(defined & (scn.truth < lo))),
            "truth_above_interval": float(np.mean(defined & (scn.truth > hi))),
            "no_interval": float(np.mean(~defined)),
            "under_covers": c < FLAG_BELOW,
            **by_ref,
        })
    values = np.array([t["value"] for t in trials])
    out = {
        "scenario": scn.name, "family": scn.family, "metric": scn.requirement["metric"],
        "group": scn.group, "truth": scn.truth, "params": scn.params,
        "mean_estimate": float(np.nanmean(values)), "results": rows,
    }
    if true_ref is not None:
        out["reference_not_a_true_top_group_share"] = float(np.mean(~true_ref))
    return out


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| scenario | truth | interval | coverage ± MC s.e. | mean width | truth below / above | no interval |",
             "|---|---|---|---|---|---|---|"]
    for s in results:
        for r in s["results"]:
            flag = " **under**" if r["under_covers"] else ""
            width = "—" if r["mean_width"] is None else f"{r['mean_width']:.4f}"
            lines.append(
                f"| {s['scenario']} | {s['truth']:.4g} | {r['interval']} | "
                f"{100 * r['coverage']:.1f}% ± {100 * r['mc_se']:.1f}{flag} | {width} | "
                f"{100 * r['truth_below_interval']:.1f}% / {100 * r['truth_above_interval']:.1f}% | "
                f"{100 * r['no_interval']:.1f}% |")
    return "\n".join(lines)


def _git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "harness_modified": bool(git("status", "--porcelain", "harness"))}


# --- the study -----------------------------------------------------------------------------

def run(*, trials: int, replicates: int, seed: int, workers: int, only: str | None) -> dict[str, Any]:
    chosen = [s for s in scenarios() if only is None or only.lower() in s.name.lower()]
    start, harness = time.perf_counter(), _git_state()  # the code the workers run: as at the start
    done: dict[str, list] = {s.name: [None] * trials for s in chosen}
    counts = {s.name: 0 for s in chosen}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {}
        for scn in chosen:
            for lo in range(0, trials, CHUNK):
                part = range(lo, min(lo + CHUNK, trials))
                fut = pool.submit(run_chunk, scn, part, replicates=replicates, base_seed=seed)
                futures[fut] = (scn.name, part)
        for fut in as_completed(futures):
            name, part = futures[fut]
            for t, res in zip(part, fut.result()):
                done[name][t] = res
            counts[name] += len(part)
            print(f"[{time.perf_counter() - start:7.1f} s] {name}: {counts[name]}/{trials}", file=sys.stderr)
    results = [summarise(s, done[s.name]) for s in chosen]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "study": "coverage of nominal 95% intervals on simulated data with known truth",
        "confidence": CONFIDENCE, "trials": trials, "replicates": replicates, "seed": seed,
        "workers": workers, "runtime_seconds": round(time.perf_counter() - start, 1),
        "worker_cpu_seconds": round(children.ru_utime + children.ru_stime, 1),
        "under_coverage_threshold": FLAG_BELOW,
        "calibration_slope": "measured" if "calibration_slope" in METRICS else "skipped: not in the metric table",
        "harness": harness, "scenarios": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000, help="simulated benchmarks per scenario")
    parser.add_argument("--replicates", type=int, default=999, help="bootstrap replicates per trial")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", help="run only scenarios whose name contains this text")
    parser.add_argument("--json", type=Path, default=ROOT / "perf" / "results" / "coverage.json")
    args = parser.parse_args()
    result = run(trials=args.trials, replicates=args.replicates, seed=args.seed, workers=args.workers,
                 only=args.only)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.json)
    print(markdown(result["scenarios"]))
    print(f"\n{result['runtime_seconds']:.0f} s; written to {args.json}")


if __name__ == "__main__":
    main()
