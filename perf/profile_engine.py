"""Where the engine's time goes: cProfile of ``build_atoms`` + ``measure`` on the engine benchmark.

Prints the number of atoms, the wall time with and without the profiler, and the
cumulative time of the engine's main stages as a share of the profiled total. Stages are
found by function name, so a stage the engine no longer has shows as absent. Then times
the same measurement on coarser score grids (``GridSpec(bins)``), with the number of atoms
and the largest error of AUROC and Brier against scikit-learn on the exact scores.

    .venv/bin/python perf/profile_engine.py    # --json PATH also writes the figures
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import generate  # noqa: E402
from engine import harness_run  # noqa: E402

# (module file, function) → what it does; cumulative times, so nested stages overlap.
STAGES = (
    ("stats.py", "build_atoms", "build_atoms: rows → atoms (integer keys, bincount)"),
    ("measurements.py", "measure", "measure: every requirement × group with its interval"),
    ("stats.py", "family_cells", "family_cells: group label of every atom"),
    ("resampling.py", "replicate_counts", "replicate_counts: multinomial draws of atom counts"),
    ("measurements.py", "_resample", "bootstrap loop: draws + metric values per batch"),
    ("measurements.py", "interval_values", "interval_values: atom counts → cells → metric"),
    ("measurements.py", "_shared_cells", "  _shared_cells: atom counts → group cells, once per family and batch"),
    ("stats.py", "sum_cells", "  sum_cells: bincount of atom counts into cells"),
    ("metrics.py", "_auroc", "  metric _auroc"),
    ("metrics.py", "_ece", "  metric _ece"),
    ("metrics.py", "_brier", "  metric _brier"),
    ("resampling.py", "percentile_interval", "percentile_interval"),
    ("measurements.py", "_rows", "_rows: point estimates, intervals, table"),
)


def _cumulative(stats: pstats.Stats) -> dict[tuple[str, str], tuple[int, float, float]]:
    out: dict[tuple[str, str], tuple[int, float, float]] = {}
    for (filename, _line, func), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        key = (Path(filename).name, func)
        n, tt, ct = out.get(key, (0, 0.0, 0.0))
        out[key] = (n + calls, tt + tottime, ct + cumtime)
    return out


def grid_sweep(synth: Any, *, replicates: int, seed: int, bins: tuple[int, ...]) -> list[dict[str, Any]]:
    """Atoms, wall time and score-metric error of ``build_atoms`` + ``measure`` for coarser score grids."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    from harness.measurements import measure
    from harness.profile import parse_profile
    from harness.stats import GridSpec, build_atoms

    from data import GROUPS, profile_text

    profile = parse_profile(profile_text("synthetic-perf", "0" * 64, replicates=replicates, seed=seed))
    groups = synth.frame[list(GROUPS)]
    labels = groups["sex"].astype(str) + " × " + groups["race"].astype(str)
    exact = {}
    for name, fn in (("auroc", roc_auc_score), ("brier", brier_score_loss)):
        exact[name] = {g: fn(synth.y[idx], synth.score[idx]) for g, idx in labels.groupby(labels).indices.items()}
    out = []
    for n_bins in bins:
        start = time.perf_counter()
        table = build_atoms(groups, synth.y, synth.decision, score=synth.score, spec=GridSpec(n_bins))
        measurements, _ = measure(profile, table)
        wall = time.perf_counter() - start
        err = {}
        for name in exact:
            rows = measurements[measurements["requirement"] == f"R-{name}"]
            err[name] = float(max(abs(v - exact[name][g]) for g, v in zip(rows["group"], rows["value"])))
        out.append({"score_bins": n_bins, "atoms": len(table.count), "wall_s": wall,
                    "max_abs_error": err, "exact": bool(table.grid.exact)})
        print(f"  score_bins {n_bins:,}: {len(table.count):,} atoms, {wall:.1f} s, errors {err}", file=sys.stderr)
    return out


def run(*, rows: int = 1_000_000, replicates: int = 1000, seed: int = 0, top: int = 12,
        bins: tuple[int, ...] = (10_000, 1_000, 100)) -> dict[str, Any]:
    synth = generate(rows, seed=seed)
    harness_run(generate(10_000, seed=seed + 1), replicates=100, seed=seed)
    start = time.perf_counter()
    _, atoms = harness_run(synth, replicates=replicates, seed=seed)
    wall = time.perf_counter() - start
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(harness_run, synth, replicates=replicates, seed=seed)
    profiled = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    cum = _cumulative(stats)
    total = stats.total_tt  # type: ignore[attr-defined]
    stages = []
    for module, func, what in STAGES:
        if (module, func) in cum:
            calls, _tt, ct = cum[(module, func)]
            stages.append({"stage": what, "function": f"{module}:{func}", "calls": calls, "seconds": ct,
                           "share": ct / total})
    own = sorted(((k, v) for k, v in cum.items()), key=lambda kv: kv[1][1], reverse=True)[:top]
    hot = [{"function": f"{k[0]}:{k[1]}", "calls": v[0], "own_seconds": v[1], "share": v[1] / total} for k, v in own]
    sweep = grid_sweep(synth, replicates=replicates, seed=seed, bins=bins) if bins else []
    return {"rows": rows, "replicates": replicates, "atoms": atoms, "wall_s": wall, "profiled_s": profiled,
            "profiled_total_s": total, "stages": stages, "hottest_own_time": hot, "grid_sweep": sweep}


def summary(r: dict[str, Any]) -> str:
    lines = [f"{r['rows']:,} rows, {r['replicates']:,} replicates, {r['atoms']:,} atoms; "
             f"wall {r['wall_s']:.1f} s, under cProfile {r['profiled_s']:.1f} s",
             "", "| stage (cumulative, nested stages overlap) | calls | seconds | share |", "|---|---:|---:|---:|"]
    lines += [f"| {s['stage'].strip()} | {s['calls']:,} | {s['seconds']:.2f} | {s['share']:.0%} |" for s in r["stages"]]
    lines += ["", "| hottest functions (own time) | calls | seconds | share |", "|---|---:|---:|---:|"]
    lines += [f"| `{h['function']}` | {h['calls']:,} | {h['own_seconds']:.2f} | {h['share']:.0%} |"
              for h in r["hottest_own_time"]]
    lines += ["", sweep_table(r["grid_sweep"])] if r["grid_sweep"] else []
    return "\n".join(lines)


def sweep_table(sweep: list[dict[str, Any]]) -> str:
    lines = ["| `inference.score_bins` | atoms | build_atoms + measure (one run) | max abs error AUROC | Brier |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {x['score_bins']:,} | {x['atoms']:,} | {x['wall_s']:.1f} s | {x['max_abs_error']['auroc']:.1e} "
              f"| {x['max_abs_error']['brier']:.1e} |" for x in sweep]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--bins", type=int, nargs="*", default=[10_000, 1_000, 100],
                        help="score grids to time after the profile (none: skip)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(rows=args.rows, replicates=args.replicates, bins=tuple(args.bins))
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
