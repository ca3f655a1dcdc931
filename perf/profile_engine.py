"""Where the engine's time goes: cProfile of ``build_atoms`` + ``measure`` on the engine benchmark.

Prints the number of atoms, the wall time with and without the profiler, and the
cumulative time of the engine's main stages as a share of the profiled total. Stages are
found by function name, so a stage the engine no longer has shows as absent. cProfile
sees only the thread it runs in, so the profiled run measures on one thread (the unprofiled
wall time uses the harness's threads). Then, for several resampling grids
(``inference.bootstrap.score_bins``), the atoms resampled, the wall time, and how far the
score metrics' intervals lie from those of the default grid on the same replicates.

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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import generate  # noqa: E402
from engine import harness_run, resampled_atoms  # noqa: E402

SWEEP_METRICS = ("auroc", "brier", "ece")

# (module file, function) → what it does; cumulative times, so nested stages overlap.
STAGES = (
    ("stats.py", "build_atoms", "build_atoms: rows → atoms (integer keys, bincount)"),
    ("measurements.py", "measure", "measure: every requirement × group with its interval"),
    ("stats.py", "family_cells", "family_cells: group label of every atom"),
    ("stats.py", "coarsen", "coarsen: atoms on the resampling grid"),
    ("resampling.py", "batch", "Replicates.batch: multinomial draws of atom counts"),
    ("resampling.py", "_atoms_of", "  rows completing each multinomial to N"),
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
    """For each resampling grid (``inference.bootstrap.score_bins``): atoms resampled, wall time of
    ``build_atoms`` + ``measure``, and how far its percentile intervals of the score metrics lie from
    the default grid's on the same replicates.

    Pairing: replicates are drawn over the default grid's atoms and summed into the coarse
    grid's atoms (``coarse_index``), so the two intervals differ by the grid alone, not by
    Monte Carlo error. The coarse interval is moved by the point estimates' difference, as
    ``measure`` does.
    """
    from harness.measurements import measure
    from harness.metrics import METRICS, Cells
    from harness.profile import parse_profile
    from harness.resampling import Replicates, percentile_interval
    from harness.stats import build_atoms, coarse_index, coarsen, family_cells, sum_cells

    from data import GROUPS, profile_text

    groups = synth.frame[list(GROUPS)]
    fine = build_atoms(groups, synth.y, synth.decision, score=synth.score)
    coarse = {b: coarsen(fine, b) for b in bins}
    index = {b: coarse_index(fine, t) for b, t in coarse.items()}

    def values(table: Any, counts: np.ndarray) -> dict[str, np.ndarray]:
        gc = family_cells(table, list(GROUPS))
        cells = Cells(gc.conf(table, counts, weighted=False), gc.hist(table, counts, weighted=False),
                      table.grid.values)
        return {m: METRICS[m].fn(cells) for m in SWEEP_METRICS}

    reps = Replicates(fine.count, replicates=replicates, seed=seed)
    draws: dict[int, list[dict[str, np.ndarray]]] = {b: [] for b in bins}
    fine_draws = []
    for i in range(len(reps)):
        counts = reps.batch(i)
        fine_draws.append(values(fine, counts))
        for b in bins:
            draws[b].append(values(coarse[b], sum_cells(index[b], len(coarse[b].count), counts, None)))
    point = values(fine, fine.count)
    out = []
    for b in bins:
        profile = parse_profile(profile_text("synthetic-perf", "0" * 64, replicates=replicates, seed=seed,
                                             resample_bins=b))
        start = time.perf_counter()
        measure(profile, build_atoms(groups, synth.y, synth.decision, score=synth.score))
        wall = time.perf_counter() - start
        moved = {}
        for m in SWEEP_METRICS:
            lo_f, hi_f = percentile_interval(np.concatenate([d[m] for d in fine_draws]), 0.95)
            lo_c, hi_c = percentile_interval(np.concatenate([d[m] for d in draws[b]]), 0.95)
            shift = point[m] - values(coarse[b], coarse[b].count)[m]
            gap = np.maximum(np.abs(lo_c + shift - lo_f), np.abs(hi_c + shift - hi_f))
            moved[m] = {"max_abs": float(gap.max()), "max_share_of_width": float((gap / (hi_f - lo_f)).max())}
        out.append({"resample_bins": b, "atoms": len(coarse[b].count), "wall_s": wall, "endpoint_gap": moved})
        print(f"  bootstrap.score_bins {b:,}: {len(coarse[b].count):,} atoms, {wall:.1f} s, {moved}", file=sys.stderr)
    return out


def run(*, rows: int = 1_000_000, replicates: int = 1000, seed: int = 0, top: int = 12,
        bins: tuple[int, ...] = (10_000, 1_000, 100)) -> dict[str, Any]:
    synth = generate(rows, seed=seed)
    harness_run(generate(10_000, seed=seed + 1), replicates=100, seed=seed)
    start = time.perf_counter()
    _, table = harness_run(synth, replicates=replicates, seed=seed)
    atoms, resampled = len(table.count), resampled_atoms(table)
    wall = time.perf_counter() - start
    import harness.measurements

    threads = harness.measurements._threads
    harness.measurements._threads = lambda: 1  # cProfile sees only its own thread
    try:
        start = time.perf_counter()
        harness_run(synth, replicates=replicates, seed=seed)
        one_thread = time.perf_counter() - start
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(harness_run, synth, replicates=replicates, seed=seed)
        profiled = time.perf_counter() - start
    finally:
        harness.measurements._threads = threads
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
    return {"rows": rows, "replicates": replicates, "atoms": atoms, "resampled_atoms": resampled, "wall_s": wall, "one_thread_s": one_thread,
            "threads": threads(), "profiled_s": profiled,
            "profiled_total_s": total, "stages": stages, "hottest_own_time": hot, "grid_sweep": sweep}


def summary(r: dict[str, Any]) -> str:
    lines = [f"{r['rows']:,} rows, {r['replicates']:,} replicates, {r['atoms']:,} atoms "
             f"({r['resampled_atoms']:,} resampled); "
             f"wall {r['wall_s']:.2f} s ({r['threads']} threads), {r['one_thread_s']:.2f} s on one thread, "
             f"under cProfile (one thread) {r['profiled_s']:.2f} s",
             "", "| stage (cumulative, nested stages overlap) | calls | seconds | share |", "|---|---:|---:|---:|"]
    lines += [f"| {s['stage'].strip()} | {s['calls']:,} | {s['seconds']:.2f} | {s['share']:.0%} |" for s in r["stages"]]
    lines += ["", "| hottest functions (own time) | calls | seconds | share |", "|---|---:|---:|---:|"]
    lines += [f"| `{h['function']}` | {h['calls']:,} | {h['own_seconds']:.2f} | {h['share']:.0%} |"
              for h in r["hottest_own_time"]]
    lines += ["", sweep_table(r["grid_sweep"])] if r["grid_sweep"] else []
    return "\n".join(lines)


def sweep_table(sweep: list[dict[str, Any]]) -> str:
    lines = ["| `inference.bootstrap.score_bins` | atoms resampled | build_atoms + measure (one run) | "
             + " | ".join(f"{m}: largest endpoint gap (share of width)" for m in SWEEP_METRICS) + " |",
             "|---:|---:|---:|" + "---:|" * len(SWEEP_METRICS)]
    lines += [f"| {x['resample_bins']:,} | {x['atoms']:,} | {x['wall_s']:.2f} s | "
              + " | ".join(f"{x['endpoint_gap'][m]['max_abs']:.1e} ({x['endpoint_gap'][m]['max_share_of_width']:.1%})"
                           for m in SWEEP_METRICS) + " |" for x in sweep]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--bins", type=int, nargs="*", default=[10_000, 1_000, 100],
                        help="resampling grids to time and compare after the profile (none: skip)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(rows=args.rows, replicates=args.replicates, bins=tuple(args.bins))
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
