"""Engine speed: the harness's atoms and multinomial bootstrap against fairlearn's MetricFrame.

Both compute the same 15 metrics (every metric of the harness's table, AUROC, Brier and
ECE included) for each of the 10 groups of sex × race on the same 1,000,000 rows, with
bootstrap intervals. The harness runs ``build_atoms`` + ``measure`` with 1,000 replicates
(median of several runs). fairlearn runs ``MetricFrame(..., n_boot=k, ci_quantiles=[0.025,
0.975])`` at small ``k`` (median of several runs per ``k``); its time at 1,000 replicates is
extrapolated along the straight line through the two medians, since each fairlearn replicate
resamples all rows and recomputes every metric, so its cost grows linearly in ``k``.

    .venv/bin/python perf/engine.py            # prints a summary; --json PATH writes it
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import GROUPS, METRICS, Synthetic, generate, profile_text  # noqa: E402

from harness.measurements import measure  # noqa: E402
from harness.profile import parse_profile  # noqa: E402
from harness.profile import Bootstrap  # noqa: E402
from harness.stats import AtomTable, build_atoms, coarsen  # noqa: E402

SCORE_METRICS = ("auroc", "brier", "ece", "oe_ratio")
TARGET_SECONDS = 1.0
TARGET_SPEEDUP = 1000.0


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds of this process, and the result."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


# --- the harness -------------------------------------------------------------------------

def harness_run(synth: Synthetic, *, replicates: int, seed: int) -> tuple[pd.DataFrame, AtomTable]:
    """Measurements of every metric by sex × race, and the atom table."""
    profile = parse_profile(profile_text("synthetic-perf", "0" * 64, replicates=replicates, seed=seed))
    table = build_atoms(synth.frame[list(GROUPS)], synth.y, synth.decision, score=synth.score)
    measurements, _unknown = measure(profile, table)
    return measurements, table


def resampled_atoms(table: AtomTable) -> int:
    """Atoms the bootstrap resamples: the table on the default resampling grid."""
    return len(coarsen(table, Bootstrap.model_fields["score_bins"].default).count)


# --- fairlearn, with scikit-learn metrics where they exist ------------------------------

def _npv(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import confusion_matrix

    tn, _fp, fn, _tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    return tn / (tn + fn) if tn + fn else float("nan")


def _prevalence(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true))


def _auroc(y_true: np.ndarray, y_pred: np.ndarray, *, y_score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y_true, y_score)


def _brier(y_true: np.ndarray, y_pred: np.ndarray, *, y_score: np.ndarray) -> float:
    from sklearn.metrics import brier_score_loss

    return brier_score_loss(y_true, y_score)


def _ece(y_true: np.ndarray, y_pred: np.ndarray, *, y_score: np.ndarray) -> float:
    """10 equal-width bins on [0, 1], last bin closed; the harness's definition."""
    y_true, y_score = np.asarray(y_true, float), np.asarray(y_score, float)
    bins = np.clip(np.floor(y_score * 10).astype(np.int64), 0, 9)
    gap = np.bincount(bins, weights=y_true, minlength=10) - np.bincount(bins, weights=y_score, minlength=10)
    return float(np.abs(gap).sum() / y_true.size)


def _oe_ratio(y_true: np.ndarray, y_pred: np.ndarray, *, y_score: np.ndarray) -> float:
    return float(np.sum(y_true) / np.sum(y_score))


def fairlearn_metrics() -> dict[str, Callable]:
    from fairlearn.metrics import (
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, precision_score

    table = {
        "selection_rate": selection_rate,
        "sensitivity": true_positive_rate,
        "specificity": true_negative_rate,
        "fpr": false_positive_rate,
        "fnr": false_negative_rate,
        "ppv": partial(precision_score, zero_division=np.nan),
        "npv": _npv,
        "accuracy": accuracy_score,
        "prevalence": _prevalence,
        "balanced_accuracy": balanced_accuracy_score,
        "f1": partial(f1_score, zero_division=np.nan),
        "auroc": _auroc,
        "brier": _brier,
        "ece": _ece,
        "oe_ratio": _oe_ratio,
    }
    if tuple(table) != METRICS:
        raise RuntimeError(f"fairlearn metrics {list(table)} do not match the profile's {list(METRICS)}")
    return table


def fairlearn_run(synth: Synthetic, *, n_boot: int | None, seed: int):
    from fairlearn.metrics import MetricFrame

    boot = {} if n_boot is None else {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": seed}
    return MetricFrame(
        metrics=fairlearn_metrics(),
        y_true=synth.y,
        y_pred=synth.decision,
        sensitive_features=synth.frame[list(GROUPS)],
        sample_params={name: {"y_score": synth.score} for name in SCORE_METRICS},
        **boot,
    )


# --- comparison ------------------------------------------------------------------------

def point_differences(measurements: pd.DataFrame, by_group: pd.DataFrame) -> dict[str, float]:
    """Largest |harness - fairlearn| over the groups, per metric."""
    out = {}
    for name in METRICS:
        rows = measurements[measurements["requirement"] == f"R-{name}"]
        ours = dict(zip(rows["group"], rows["value"].astype(float)))
        theirs = {" × ".join(map(str, key)): float(v) for key, v in by_group[name].items()}
        if set(ours) != set(theirs):
            raise RuntimeError(f"{name}: groups differ: harness {sorted(ours)}, fairlearn {sorted(theirs)}")
        out[name] = max(abs(ours[g] - theirs[g]) for g in ours)
    return out


def run(*, rows: int = 1_000_000, replicates: int = 1000, repeats: int = 5, boots: tuple[int, int] = (2, 5),
        fairlearn_repeats: int = 3, seed: int = 0) -> dict[str, Any]:
    synth = generate(rows, seed=seed)
    harness_run(generate(10_000, seed=seed + 1), replicates=100, seed=seed)  # imports, caches
    harness_s, harness_cpu = [], []
    for _ in range(repeats):
        seconds, cpu, (measurements, table) = _timed(lambda: harness_run(synth, replicates=replicates, seed=seed))
        harness_s.append(seconds)
        harness_cpu.append(cpu)
        print(f"  harness: {seconds:.2f} s, {cpu:.2f} s CPU ({len(table.count):,} atoms)", file=sys.stderr)
    atoms, resampled = len(table.count), resampled_atoms(table)
    fair_s: dict[int, list[float]] = {}
    fair_cpu: dict[int, list[float]] = {}
    by_group = None
    for k in boots:
        fair_s[k], fair_cpu[k] = [], []
        for _ in range(fairlearn_repeats):
            seconds, cpu, frame = _timed(lambda: fairlearn_run(synth, n_boot=k, seed=seed))
            fair_s[k].append(seconds)
            fair_cpu[k].append(cpu)
            by_group = frame.by_group
            print(f"  fairlearn n_boot={k}: {seconds:.2f} s, {cpu:.2f} s CPU", file=sys.stderr)
    (k1, k2) = boots
    m1, m2 = statistics.median(fair_s[k1]), statistics.median(fair_s[k2])
    per_replicate = (m2 - m1) / (k2 - k1)
    fixed = m1 - k1 * per_replicate
    fairlearn_full = fixed + replicates * per_replicate
    harness_median = statistics.median(harness_s)
    diffs = point_differences(measurements, by_group)
    speedup = fairlearn_full / harness_median
    return {
        "rows": rows, "groups": int(synth.frame.groupby(list(GROUPS)).ngroups), "metrics": len(METRICS),
        "replicates": replicates, "atoms": atoms, "resampled_atoms": resampled,
        "harness_seconds": harness_s, "harness_median_s": harness_median,
        "harness_cpu_seconds": harness_cpu, "harness_cpu_median_s": statistics.median(harness_cpu),
        "fairlearn_seconds": {str(k): v for k, v in fair_s.items()},
        "fairlearn_cpu_seconds": {str(k): v for k, v in fair_cpu.items()},
        "fairlearn_median_s": {str(k1): m1, str(k2): m2},
        "fairlearn_fixed_s": fixed, "fairlearn_per_replicate_s": per_replicate,
        "fairlearn_extrapolated_s": fairlearn_full, "speedup": speedup,
        "max_abs_diff": diffs,
        "max_abs_diff_count_metrics": max(v for k, v in diffs.items() if k not in SCORE_METRICS),
        "max_abs_diff_score_metrics": max(diffs[k] for k in SCORE_METRICS),
        "targets": {"harness_seconds": TARGET_SECONDS, "speedup": TARGET_SPEEDUP},
        "met": {"harness_seconds": harness_median <= TARGET_SECONDS, "speedup": speedup >= TARGET_SPEEDUP},
    }


def summary(r: dict[str, Any]) -> str:
    boots = list(r["fairlearn_median_s"])
    lines = [
        f"{r['rows']:,} rows, {r['groups']} groups, {r['metrics']} metrics per group, "
        f"{r['replicates']:,} bootstrap replicates, {r['atoms']:,} atoms",
        f"harness build_atoms + measure: median {r['harness_median_s']:.2f} s of {len(r['harness_seconds'])} runs "
        f"({r['harness_cpu_median_s']:.2f} s CPU)",
        *(f"fairlearn MetricFrame n_boot={k}: median {r['fairlearn_median_s'][k]:.1f} s" for k in boots),
        f"fairlearn at {r['replicates']:,} replicates (extrapolated: {r['fairlearn_fixed_s']:.1f} s + "
        f"{r['fairlearn_per_replicate_s']:.2f} s per replicate): {r['fairlearn_extrapolated_s']:,.0f} s",
        f"speed-up: {r['speedup']:,.0f}x",
        f"max |harness - fairlearn| point estimate: count metrics {r['max_abs_diff_count_metrics']:.1e}, "
        f"score metrics {r['max_abs_diff_score_metrics']:.1e}",
        f"target harness <= {TARGET_SECONDS:g} s: {'met' if r['met']['harness_seconds'] else 'NOT met'}; "
        f"target >= {TARGET_SPEEDUP:,.0f}x: {'met' if r['met']['speedup'] else 'NOT met'}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5, help="harness runs (median)")
    parser.add_argument("--fairlearn-repeats", type=int, default=3, help="fairlearn runs per n_boot (median)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(rows=args.rows, replicates=args.replicates, repeats=args.repeats,
                 fairlearn_repeats=args.fairlearn_repeats)
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
