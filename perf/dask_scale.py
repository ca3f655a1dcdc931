"""Dask at scale: ``harness.evaluate(engine="dask")`` on a 2-worker ``LocalCluster`` vs the local engine.

Same benchmark files as ``perf/streaming.py`` (``write_benchmark_chunked``: 15 requirements by
sex × race, 1,000 bootstrap replicates), same model (``data.linear_model``), ``tracking=False``,
no evidence bundle. Each evaluation runs in its own child process (``perf/child.py``); the
engines alternate (local, dask, local, dask, ...).

- dask: ``engine="dask"`` with no scheduler, so the harness starts its own
  ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``, maps one task per
  chunk of ``chunk_rows`` rows (each worker reads its row groups, predicts, builds atoms),
  gathers, merges on the client and measures there. Cluster start and shutdown are included.
- local: ``engine="local"`` reads the whole file into memory (the baseline that fits 20,000,000
  rows on a 24 GiB machine), predicts, builds atoms once and measures.

Reported per size: the wall time of ``harness.evaluate`` in each run (imports excluded), the
ratio of the medians dask / local, peak memory (the evaluating process's ``ru_maxrss``, and
for Dask the peak of the summed RSS of the process tree, sampled every 0.2 s), and whether the
measurements tables (and the verdicts) are identical bit for bit: ``DataFrame.equals`` and
``assert_frame_equal(check_exact=True)`` between every run and the first local run.

    .venv/bin/python perf/dask_scale.py                                  # 3 runs each at 2M rows, 1 at 20M
    .venv/bin/python perf/dask_scale.py --sizes 500000 --repeats 2       # a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pickle
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import git_state, harness_snapshot, measure  # noqa: E402
from streaming import benchmark_folder  # noqa: E402


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if not a.equals(b):
        return False
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    except AssertionError:
        return False
    return True


def _one(profile: Path, engine: str, *, chunk_rows: int, harness_path: str | None, keep: Path) -> dict[str, Any]:
    r = measure(profile, engine=engine, chunk_rows=chunk_rows, harness_path=harness_path, keep=keep,
                tree_rss=engine == "dask")
    r["date"] = dt.datetime.now().isoformat(timespec="seconds")
    r["peak_rss_gb"] = r["ru_maxrss_kib"] * 1024 / 1e9
    if engine == "dask":
        r["tree_peak_rss_gb"] = r["tree_peak_rss_kib"] * 1024 / 1e9
        at = {m["message"].split(":")[0]: m["at_s"] for m in r["progress"]}
        if "Dask" in at and "benchmark synthetic-perf" in at:
            r["cluster_up_s"] = at["Dask"] - at["benchmark synthetic-perf"]
    load = r["load_average_at_start"]["1min"]
    print(f"  {r['rows']:,} rows {engine:>5}: evaluate {r['evaluate_wall_s']:.1f} s, peak RSS {r['peak_rss_gb']:.2f} GB"
          + (f" (process tree {r['tree_peak_rss_gb']:.2f} GB)" if engine == "dask" else "")
          + f", load {load:.2f} at start", file=sys.stderr)
    return r


def size_run(rows: int, *, repeats: int, baseline: str, chunk_rows: int, harness_path: str | None,
             scratch: Path) -> dict[str, Any]:
    profile, data = benchmark_folder(rows)
    runs: dict[str, list[dict[str, Any]]] = {baseline: [], "dask": []}
    tables: dict[str, list[dict[str, pd.DataFrame]]] = {baseline: [], "dask": []}
    for i in range(repeats):
        for engine in (baseline, "dask"):
            keep = scratch / f"{rows}-{engine}-{i}.pkl"
            runs[engine].append(_one(profile, engine, chunk_rows=chunk_rows, harness_path=harness_path, keep=keep))
            with open(keep, "rb") as fh:
                tables[engine].append(pickle.load(fh))
            keep.unlink()
    ref = tables[baseline][0]
    same = {e: [_same(ref["measurements"], t["measurements"]) for t in tables[e]] for e in tables}
    same_verdicts = {e: [_same(ref["verdicts"], t["verdicts"]) for t in tables[e]] for e in tables}
    med = {e: statistics.median(r["evaluate_wall_s"] for r in runs[e]) for e in runs}
    return {
        "rows": rows, "repeats": repeats, "atoms": runs[baseline][0]["atoms"],
        "measurements": runs[baseline][0]["measurements"], "data": data,
        "runs": runs,
        "wall_s": {e: [r["evaluate_wall_s"] for r in runs[e]] for e in runs},
        "median_wall_s": med,
        "overhead_ratio": med["dask"] / med[baseline],
        "measurements_identical": all(all(v) for v in same.values()),
        "verdicts_identical": all(all(v) for v in same_verdicts.values()),
        "identical_per_run": same,
        "measurements_sha256": sorted({r["measurements_sha256"] for e in runs for r in runs[e]}),
        "peak_rss_gb": {e: max(r["peak_rss_gb"] for r in runs[e]) for e in runs},
        "dask_tree_peak_rss_gb": max(r["tree_peak_rss_gb"] for r in runs["dask"]),
        "dask_cluster_up_s": [r.get("cluster_up_s") for r in runs["dask"]],
    }


def run(*, sizes: list[int], repeats: list[int], baseline: str, chunk_rows: int, harness: str) -> dict[str, Any]:
    state = git_state()
    out = []
    with harness_snapshot(harness) as path, tempfile.TemporaryDirectory(prefix="perf-dask-") as tmp:
        for rows, k in zip(sizes, repeats):
            out.append(size_run(rows, repeats=k, baseline=baseline, chunk_rows=chunk_rows, harness_path=path,
                                scratch=Path(tmp)))
    return {
        "baseline": baseline, "chunk_rows": chunk_rows, "workers": 2, "threads_per_worker": 1,
        "model": "perf/data.py linear_model (callable, 4 features)",
        "harness": {**state, "measured": "committed HEAD (git archive)" if harness == "HEAD" else "working tree"},
        "sizes": out,
    }


def summary(r: dict[str, Any]) -> str:
    b = r["baseline"]
    lines = [f"Dask LocalCluster ({r['workers']} workers x {r['threads_per_worker']} thread) vs {b} engine, "
             f"chunks of {r['chunk_rows']:,}; harness {r['harness']['commit'][:10]} ({r['harness']['measured']})"]
    for s in r["sizes"]:
        w = s["wall_s"]
        lines += [
            f"{s['rows']:,} rows ({s['atoms']:,} atoms, {s['measurements']} measurements), {s['repeats']} run(s) each:",
            f"  {b}: {', '.join(f'{x:.1f}' for x in w[b])} s (median {s['median_wall_s'][b]:.1f}); "
            f"peak RSS {s['peak_rss_gb'][b]:.2f} GB",
            f"  dask: {', '.join(f'{x:.1f}' for x in w['dask'])} s (median {s['median_wall_s']['dask']:.1f}); "
            f"client peak RSS {s['peak_rss_gb']['dask']:.2f} GB, process tree {s['dask_tree_peak_rss_gb']:.2f} GB; "
            f"cluster up in {', '.join(f'{x:.1f}' for x in s['dask_cluster_up_s'] if x is not None)} s",
            f"  overhead dask/{b}: {s['overhead_ratio']:.2f}x; measurements identical bit for bit: "
            f"{'yes' if s['measurements_identical'] else 'NO'}; verdicts: {'yes' if s['verdicts_identical'] else 'NO'}",
        ]
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_ints, default=[2_000_000, 20_000_000], help="comma-separated row counts")
    parser.add_argument("--repeats", type=_ints, default=[3, 1], help="runs of each engine per size (comma-separated)")
    parser.add_argument("--baseline", choices=("local", "stream"), default="local")
    parser.add_argument("--chunk-rows", type=int, default=250_000, help="the harness's default")
    parser.add_argument("--harness", default="HEAD", choices=("HEAD", "worktree"),
                        help="measure the committed harness/ (default) or the working tree")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    repeats = args.repeats + [args.repeats[-1]] * (len(args.sizes) - len(args.repeats))
    result = run(sizes=args.sizes, repeats=repeats, baseline=args.baseline, chunk_rows=args.chunk_rows,
                 harness=args.harness)
    print(summary(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
