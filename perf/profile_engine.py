"""Where the engine's time goes: cProfile of ``build_atoms`` + ``measure`` on the engine benchmark.

Prints the number of atoms, the wall time with and without the profiler, and the
cumulative time of the engine's main stages as a share of the profiled total. Stages are
found by function name, so a stage the engine no longer has shows as absent.

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
    ("stats.py", "build_atoms", "build_atoms: rows → atoms (pandas groupby)"),
    ("measurements.py", "measure", "measure: every requirement × group with its interval"),
    ("stats.py", "family_cells", "family_cells: group label of every atom"),
    ("resampling.py", "replicate_counts", "replicate_counts: multinomial draws of atom counts"),
    ("measurements.py", "_resample", "bootstrap loop: draws + metric values per batch"),
    ("measurements.py", "metric_values", "metric_values: atom counts → cells → metric"),
    ("measurements.py", "_cells", "  _cells: counts @ sparse atom→cell matrices"),
    ("stats.py", "conf_matrix", "  conf_matrix: building the atom→(group, label, decision) matrix"),
    ("stats.py", "hist_matrix", "  hist_matrix: building the atom→(group, label, score) matrix"),
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


def run(*, rows: int = 1_000_000, replicates: int = 1000, seed: int = 0, top: int = 12) -> dict[str, Any]:
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
    return {"rows": rows, "replicates": replicates, "atoms": atoms, "wall_s": wall, "profiled_s": profiled,
            "profiled_total_s": total, "stages": stages, "hottest_own_time": hot}


def summary(r: dict[str, Any]) -> str:
    lines = [f"{r['rows']:,} rows, {r['replicates']:,} replicates, {r['atoms']:,} atoms; "
             f"wall {r['wall_s']:.1f} s, under cProfile {r['profiled_s']:.1f} s",
             "", "| stage (cumulative, nested stages overlap) | calls | seconds | share |", "|---|---:|---:|---:|"]
    lines += [f"| {s['stage'].strip()} | {s['calls']:,} | {s['seconds']:.2f} | {s['share']:.0%} |" for s in r["stages"]]
    lines += ["", "| hottest functions (own time) | calls | seconds | share |", "|---|---:|---:|---:|"]
    lines += [f"| `{h['function']}` | {h['calls']:,} | {h['own_seconds']:.2f} | {h['share']:.0%} |"
              for h in r["hottest_own_time"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(rows=args.rows, replicates=args.replicates)
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
