"""Streaming at scale: 20,000,000 rows from Parquet through ``harness.evaluate(engine="stream")``.

The benchmark is written by ``perf/data.py``'s ``write_benchmark_chunked`` (pieces of
1,000,000 rows, row groups of 100,000; card with the file's SHA-256; profile of 15
requirements by sex × race, 1,000 bootstrap replicates). The model is ``data.linear_model``,
an elementwise callable of the four features. The evaluation runs in a child process
(``perf/child.py``) with ``tracking=False`` and no evidence bundle, and reports:

- peak RSS of the whole evaluation: ``ru_maxrss`` of the child from ``os.wait4`` (the
  interpreter, imports and the harness included; the child's ``VmHWM`` agrees);
- statistics throughput: rows / seconds of the statistics only, which are reading the
  Parquet chunks into pandas, the per-chunk work other than inference (dropping columns, row
  ids, the split, derived bands, building atoms), merging atom tables, and measuring and
  judging. Excluded: inference (``predict``: the model and the harness's checks of its
  output), writing the predictions file, hashing the file before the stream (``open_source``),
  reading back a sample of the predictions, imports. The figures without measuring (its time
  depends on atoms and replicates, not rows) and end to end are reported too.

    .venv/bin/python perf/streaming.py                      # 20,000,000 rows (written first if missing: ~15 s)
    .venv/bin/python perf/streaming.py --rows 500000        # a quick look
    .venv/bin/python perf/streaming.py --cprofile 25        # also where the time goes (slower: profiled)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from child import git_state, harness_snapshot, measure  # noqa: E402
from data import write_benchmark_chunked  # noqa: E402

TARGET_RSS_GB = 1.5  # decimal: 1.5e9 bytes
TARGET_ROWS_PER_S = 2_000_000
DATA_ROOT = Path(tempfile.gettempdir()) / "oversight-perf"


def benchmark_folder(rows: int, *, seed: int = 0, piece_rows: int = 1_000_000, root: Path = DATA_ROOT,
                     replicates: int = 1000) -> tuple[Path, dict[str, Any]]:
    """The profile of a chunk-written benchmark, written unless a finished one is already there."""
    folder = root / f"synthetic-{rows}-seed{seed}-piece{piece_rows}-rep{replicates}"
    profile = folder / "profile.yaml"
    info: dict[str, Any] = {"folder": str(folder), "piece_rows": piece_rows, "seed": seed}
    if profile.is_file():  # the profile is written last; the harness checks the file's SHA-256 on every run
        info["generated_s"] = None
        return profile, info
    start = time.perf_counter()
    write_benchmark_chunked(folder, rows, seed=seed, piece_rows=piece_rows, replicates=replicates)
    info["generated_s"] = time.perf_counter() - start
    return profile, info


def stages(r: dict[str, Any]) -> dict[str, float]:
    """The stream engine's stages, without overlaps, from the child's timers."""
    s = r["stages_s"]
    get = lambda name: s.get(name, 0.0)  # noqa: E731
    per_chunk_other = get("statistics_of") - get("predict") - get("build_atoms") - get("add_derived") \
        - get("assign_split")
    inside_stream = get("read_chunks") + get("statistics_of") + get("merge_atoms") + get("write_predictions")
    return {
        "hash benchmark file, card (open_source)": get("open_source"),
        "read chunks (Parquet → pandas)": get("read_chunks"),
        "split (assign_split)": get("assign_split"),
        "derived bands (add_derived)": get("add_derived"),
        "other per-chunk work (columns, row ids, labels)": per_chunk_other,
        "build atoms (build_atoms)": get("build_atoms"),
        "merge atom tables (merge_atoms)": get("merge_atoms"),
        "inference (predict: model + output checks)": get("predict"),
        "  of which the model itself": get("model"),
        "write predictions file": get("write_predictions"),
        "rest of the stream loop": get("stream_statistics") - inside_stream,
        "rest of _streamed (reads predictions back for a sample, ...)":
            get("_streamed") - get("open_source") - get("stream_statistics"),
        "measure and judge (judge_table)": get("judge_table"),
        "rest of evaluate": r["evaluate_wall_s"] - get("_streamed") - get("judge_table"),
    }


def figures(r: dict[str, Any]) -> dict[str, Any]:
    s, rows = r["stages_s"], r["rows"]
    g = lambda name: s.get(name, 0.0)  # noqa: E731
    rows_part = g("read_chunks") + g("statistics_of") - g("predict") + g("merge_atoms")
    statistics_s = rows_part + g("judge_table")
    return {
        "statistics_s": statistics_s,
        "statistics_rows_per_s": rows / statistics_s,
        "statistics_without_measure_s": rows_part,
        "statistics_without_measure_rows_per_s": rows / rows_part,
        "end_to_end_rows_per_s": rows / r["evaluate_wall_s"],
        "peak_rss_gb": r["ru_maxrss_kib"] * 1024 / 1e9,
    }


def run(*, rows: int, chunk_rows: int, repeats: int, harness: str, cprofile: int, split: str | None,
        piece_rows: int) -> dict[str, Any]:
    profile, data = benchmark_folder(rows, piece_rows=piece_rows)
    size = Path(data["folder"], "data.parquet").stat().st_size
    print(f"benchmark: {profile.parent} ({size / 1e9:.2f} GB Parquet"
          + (f", written in {data['generated_s']:.0f} s)" if data["generated_s"] else ", reused)"), file=sys.stderr)
    state = git_state()
    runs = []
    with harness_snapshot(harness) as path:
        for i in range(repeats):
            r = measure(profile, engine="stream", chunk_rows=chunk_rows, harness_path=path, split=split)
            r["date"] = dt.datetime.now().isoformat(timespec="seconds")
            r["stages"] = stages(r)
            r["figures"] = figures(r)
            runs.append(r)
            f = r["figures"]
            print(f"  run {i + 1}: evaluate {r['evaluate_wall_s']:.1f} s, peak RSS {f['peak_rss_gb']:.2f} GB, "
                  f"statistics {f['statistics_rows_per_s']:,.0f} rows/s "
                  f"(without measure {f['statistics_without_measure_rows_per_s']:,.0f})", file=sys.stderr)
        if cprofile:
            prof = measure(profile, engine="stream", chunk_rows=chunk_rows, harness_path=path, cprofile=cprofile,
                           split=split)
    med = lambda key: statistics.median(x["figures"][key] for x in runs)  # noqa: E731
    out = {
        "rows": rows, "chunk_rows": chunk_rows, "split": split or "profile's (all)", "repeats": repeats,
        "data": {**data, "parquet_bytes": size}, "model": "perf/data.py linear_model (callable, 4 features)",
        "harness": {**state, "measured": "committed HEAD (git archive)" if harness == "HEAD" else "working tree"},
        "runs": runs,
        "median": {k: med(k) for k in runs[0]["figures"]},
        "evaluate_wall_median_s": statistics.median(x["evaluate_wall_s"] for x in runs),
        "peak_rss_max_gb": max(x["figures"]["peak_rss_gb"] for x in runs),
        "targets": {"peak_rss_gb": TARGET_RSS_GB, "statistics_rows_per_s": TARGET_ROWS_PER_S},
    }
    out["met"] = {"peak_rss": out["peak_rss_max_gb"] <= TARGET_RSS_GB,
                  "statistics_rows_per_s": out["median"]["statistics_rows_per_s"] >= TARGET_ROWS_PER_S}
    if cprofile:
        out["cprofile"] = {"evaluate_wall_s": prof["evaluate_wall_s"], "load_average_at_start":
                           prof["load_average_at_start"], **prof["cprofile"]}
    return out


def summary(r: dict[str, Any]) -> str:
    m, last = r["median"], r["runs"][-1]
    lines = [
        f"{r['rows']:,} rows, stream engine, chunks of {r['chunk_rows']:,}, {last['atoms']:,} atoms, "
        f"{last['measurements']} measurements; harness {r['harness']['commit'][:10]} ({r['harness']['measured']})",
        f"evaluate: median {r['evaluate_wall_median_s']:.1f} s of {r['repeats']}; "
        f"peak RSS {r['peak_rss_max_gb']:.2f} GB (target <= {TARGET_RSS_GB} GB: "
        f"{'met' if r['met']['peak_rss'] else 'NOT met'})",
        f"statistics (read, split, atoms, merge, measure): {m['statistics_s']:.1f} s, "
        f"{m['statistics_rows_per_s']:,.0f} rows/s (target >= {TARGET_ROWS_PER_S:,}: "
        f"{'met' if r['met']['statistics_rows_per_s'] else 'NOT met'})",
        f"  without measure: {m['statistics_without_measure_s']:.1f} s, "
        f"{m['statistics_without_measure_rows_per_s']:,.0f} rows/s; "
        f"end to end {m['end_to_end_rows_per_s']:,.0f} rows/s",
        "largest sampled RSS between progress messages of the last run:",
        *(f"  {x['max_rss_kib'] * 1024 / 1e9:5.2f} GB  {x['from'][:40]} → {x['to'][:40]} ({x['seconds']:.1f} s)"
          for x in last.get("rss_by_interval", []) if x["max_rss_kib"]),
        "stages of the last run:",
        *(f"  {k:<62} {v:8.2f} s" for k, v in last["stages"].items()),
    ]
    if "cprofile" in r:
        c = r["cprofile"]
        lines += [f"cProfile ({c['evaluate_wall_s']:.1f} s profiled), own time:",
                  *(f"  {h['own_s']:7.2f} s {h['calls']:>9,}  {h['function']}" for h in c["by_own_time"])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--chunk-rows", type=int, default=250_000, help="the harness's default")
    parser.add_argument("--piece-rows", type=int, default=1_000_000, help="rows generated at a time")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--split", help="override the profile's split (all): test or development")
    parser.add_argument("--harness", default="HEAD", choices=("HEAD", "worktree"),
                        help="measure the committed harness/ (default) or the working tree")
    parser.add_argument("--cprofile", type=int, default=0, help="one more run under cProfile; keep the top N")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(rows=args.rows, chunk_rows=args.chunk_rows, repeats=args.repeats, harness=args.harness,
                 cprofile=args.cprofile, split=args.split, piece_rows=args.piece_rows)
    print(summary(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
