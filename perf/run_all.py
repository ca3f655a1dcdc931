"""Run every performance measurement, write ``perf/results/latest.json`` and print the figures.

Each measurement runs as its own process (the same command the README shows) and writes
its figures as JSON; this script adds the machine, writes ``results/latest.json`` and
``results/latest.md``, prints the Markdown, and replaces the results section of
``perf/README.md`` with it. Measurements not run this time (``--skip-scale``, ``--only``)
keep their last figures from ``results/latest.json``, each with its own date and commit.

    .venv/bin/python perf/run_all.py                  # about 50 minutes on 2 cores
    .venv/bin/python perf/run_all.py --skip-scale     # without streaming and dask_scale (20,000,000 rows)
    .venv/bin/python perf/run_all.py --only streaming,dask_scale
    .venv/bin/python perf/run_all.py --quick          # 100,000 rows, fewer runs: a smoke test, README untouched
    .venv/bin/python perf/run_all.py --render         # run nothing; rewrite the Markdown from results/latest.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
README = HERE / "README.md"
BEGIN, END = "<!-- results:begin (written by perf/run_all.py) -->", "<!-- results:end -->"
SCORE = ("auroc", "brier", "ece", "oe_ratio")
PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "fairlearn", "mlflow", "pyarrow", "dask", "distributed",
            "oversight-harness")
# Measurement name in results/latest.json -> script; the last two are long (20,000,000 rows).
SCRIPTS = {"engine": "engine", "end_to_end": "end_to_end", "profile": "profile_engine",
           "streaming": "streaming", "dask_scale": "dask_scale"}
SCALE = ("streaming", "dask_scale")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu, "cores": len(os.sched_getaffinity(0)), "ram_gib": round(mem_kb / 2**20, 1),
        "os": platform.platform(), "python": platform.python_version(), "packages": versions,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "harness_modified": bool(_git("status", "--porcelain", "--", "harness")),
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _run(script: str, args: list[str], scratch: Path) -> dict[str, Any]:
    out = scratch / f"{script}.json"
    command = [sys.executable, str(HERE / f"{script}.py"), *args, "--json", str(out)]
    print(f"$ {' '.join(command)}", file=sys.stderr, flush=True)
    before, commit = os.getloadavg()[0], _git("rev-parse", "--short", "HEAD")
    tree = _git("rev-parse", "--short", "HEAD:harness")
    dirty = bool(_git("status", "--porcelain", "--", "harness"))
    subprocess.run(command, cwd=ROOT, check=True)
    result = json.loads(out.read_text())
    if str(result.get("harness", {}).get("measured", "")).startswith("committed"):
        tree, dirty = result["harness"]["harness_tree"][:7], False  # the script ran a snapshot of HEAD's harness/
    return {**result, "command": " ".join(command[:-2]).replace(str(ROOT) + "/", ""),
            "date": dt.date.today().isoformat(), "commit": commit, "commit_full": _git("rev-parse", "HEAD"),
            "harness_tree": tree, "harness_modified": dirty,
            "load_average_1min": {"before": before, "after": os.getloadavg()[0]}}


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    pk = m["packages"]
    done = [x for x in SCRIPTS if x in r]
    dates = sorted({r[x].get("date", r["date"]) for x in done})
    lines = [
        f"Measured {' and '.join(dates)} on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; "
        f"Python {m['python']}, numpy {pk['numpy']}, pandas {pk['pandas']}, scipy {pk['scipy']}, "
        f"scikit-learn {pk['scikit-learn']}, fairlearn {pk['fairlearn']}, MLflow {pk['mlflow']}, "
        f"pyarrow {pk['pyarrow']}, Dask {pk.get('dask')}. " + _code(r, done),
        "",
        "| benchmark | harness | compared with | ratio | target | met |",
        "|---|---:|---|---:|---|---|",
        *(_ROWS[x](r[x]) for x in done if x in _ROWS),
        "",
        "Commands (each its own process; 1-minute load average before → after, other work on the machine "
        "included): " + "; ".join(f"`{r[x]['command']}` ({r[x]['load_average_1min']['before']:.1f} → "
                                  f"{r[x]['load_average_1min']['after']:.1f})" for x in done) + ".",
    ]
    if "engine" in r and "end_to_end" in r and "profile" in r:
        lines += _engine_details(r["engine"], r["end_to_end"], r["profile"])
    if "streaming" in r:
        lines += ["", *_streaming_details(r["streaming"])]
    if "dask_scale" in r:
        lines += ["", *_dask_details(r["dask_scale"])]
    if "streaming" in r and "dask_scale" in r:
        lines += _three_engines(r["streaming"], r["dask_scale"])
    return "\n".join(lines)


def _three_engines(s: dict[str, Any], d: dict[str, Any]) -> list[str]:
    """Whether the stream engine's table (streaming.py) hashes like the local and Dask ones at the same size."""
    same = [z for z in d["sizes"] if z["rows"] == s["rows"]]
    if not same:
        return []
    ours = {x["measurements_sha256"] for x in s["runs"]}
    theirs = set(same[0]["measurements_sha256"])
    verdict = "the same" if ours == theirs and len(ours) == 1 else "**not** the same"
    return ["", f"At {s['rows']:,} rows the stream engine's measurements table (`streaming.py`) has {verdict} SHA-256 "
                f"of its values as the local and Dask engines' (`dask_scale.py`): {', '.join(sorted(ours))[:16]}…"]


def _engine_row(e: dict[str, Any]) -> str:
    k1, k2 = list(e["fairlearn_median_s"])
    return (
        f"| engine: {e['rows']:,} rows, {e['groups']} groups, {e['metrics']} metrics per group, "
        f"{e['replicates']:,} bootstrap replicates ({e['atoms']:,} atoms; "
        f"{e.get('resampled_atoms', e['atoms']):,} on the resampling grid) "
        f"| {e['harness_median_s']:.2f} s (median of {len(e['harness_seconds'])}; "
        f"{e['harness_cpu_median_s']:.2f} s CPU) "
        f"| fairlearn `MetricFrame`: n_boot={k1} {e['fairlearn_median_s'][k1]:.0f} s, n_boot={k2} "
        f"{e['fairlearn_median_s'][k2]:.0f} s (medians of {len(e['fairlearn_seconds'][k1])}); "
        f"**extrapolated** to {e['replicates']:,}: {e['fairlearn_extrapolated_s']:,.0f} s "
        f"| {e['speedup']:,.0f}x faster | harness ≤ 1 s; ≥ 1,000x "
        f"| {_yes(e['met']['harness_seconds'])}; {_yes(e['met']['speedup'])} |")


def _e2e_row(t: dict[str, Any]) -> str:
    return (
        f"| end to end: {t['rows']:,} rows, LogisticRegression, {t['replicates']:,} replicates "
        f"| {t['harness_median_s']:.1f} s (median of {len(t['harness_seconds'])}; "
        f"{t['harness_cpu_median_s']:.1f} s CPU) "
        f"| `mlflow.models.evaluate`: {t['mlflow_median_s']:.1f} s (median of {len(t['mlflow_seconds'])}; "
        f"{t['mlflow_cpu_median_s']:.1f} s CPU) "
        f"| {t['ratio']:.2f}x MLflow's time | ≤ 0.5x | {_yes(t['met'])} |")


def _engine_details(e: dict[str, Any], t: dict[str, Any], p: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"Point estimates, harness vs fairlearn, largest absolute difference over groups: "
        f"{e['max_abs_diff_count_metrics']:.1e} for the 11 count metrics, "
        f"{e['max_abs_diff_score_metrics']:.1e} for AUROC, Brier, ECE and O/E "
        f"(per metric: {', '.join(f'{k} {v:.1e}' for k, v in e['max_abs_diff'].items() if k in SCORE)}).",
        "",
        f"fairlearn's fitted line: {e['fairlearn_fixed_s']:.1f} s + {e['fairlearn_per_replicate_s']:.1f} s "
        f"per replicate. End-to-end stages of `harness.evaluate` (medians): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in t["harness_stages_median_s"].items()) + ".",
        f"MLflow produced {len(t['produced']['mlflow_metrics'])} overall metrics and "
        f"{len(t['produced']['mlflow_artifacts'])} plots; the harness {t['produced']['harness_measurements']} "
        f"group measurements with intervals, as many verdicts, a {len(t['produced']['harness_bundle_files'])}-file "
        f"evidence bundle and an MLflow run.",
        "",
        f"Where the engine's time goes (cProfile, {p['rows']:,} rows, {p['replicates']:,} replicates, "
        f"{p['atoms']:,} atoms, {p.get('resampled_atoms', p['atoms']):,} resampled; {p['wall_s']:.2f} s without the "
        f"profiler on {p.get('threads', 1)} threads, {p.get('one_thread_s', p['wall_s']):.2f} s on one, "
        f"{p['profiled_s']:.2f} s profiled on one):",
        "",
        "| stage (cumulative; nested stages overlap) | calls | seconds | share |",
        "|---|---:|---:|---:|",
        *(f"| {s['stage'].strip()} | {s['calls']:,} | {s['seconds']:.2f} | {s['share']:.0%} |" for s in p["stages"]),
        "",
        "| hottest functions (own time) | calls | seconds | share |",
        "|---|---:|---:|---:|",
        *(f"| `{h['function']}` | {h['calls']:,} | {h['own_seconds']:.2f} | {h['share']:.0%} |"
          for h in p["hottest_own_time"]),
    ]
    if p.get("grid_sweep"):
        sys.path.insert(0, str(HERE))
        from profile_engine import sweep_table

        lines += ["", "Resampling grids (`inference.bootstrap.score_bins`; one run each). The gap: largest over "
                  "the 10 groups of the distance between an interval endpoint on that grid (moved by the point "
                  "estimates' difference) and on the default 10,000-bin point grid, from the same replicates "
                  "summed into the coarser atoms; in brackets, as a share of the interval's width:", "",
                  sweep_table(p["grid_sweep"])]
    return lines


def _streaming_row(s: dict[str, Any]) -> str:
    med, last = s["median"], s["runs"][-1]
    runs = f"median of {s['repeats']}" if s["repeats"] > 1 else "1 run"
    return (
        f"| streaming: {s['rows']:,} rows from Parquet, stream engine, chunks of {s['chunk_rows']:,}, "
        f"{last['atoms']:,} atoms, 1,000 replicates, `tracking=False` "
        f"| peak RSS {s['peak_rss_max_gb']:.2f} GB; statistics {med['statistics_rows_per_s']:,.0f} rows/s "
        f"({med['statistics_s']:.1f} s, measuring included; {runs}) "
        f"| without measuring: {med['statistics_without_measure_rows_per_s']:,.0f} rows/s; end to end "
        f"{med['end_to_end_rows_per_s']:,.0f} rows/s ({s['evaluate_wall_median_s']:.1f} s) | — "
        f"| RSS ≤ {s['targets']['peak_rss_gb']} GB; ≥ {s['targets']['statistics_rows_per_s']:,} rows/s "
        f"| {_yes(s['met']['peak_rss'])}; {_yes(s['met']['statistics_rows_per_s'])} |")


def _dask_rows(d: dict[str, Any]) -> str:
    b = d["baseline"]
    out = []
    for z in sorted(d["sizes"], key=lambda z: -z["rows"]):
        n = z["repeats"]
        how = f"median of {n}" if n > 1 else "1 run"
        out.append(
            f"| Dask: {z['rows']:,} rows, `LocalCluster` of {d['workers']} workers (started by the harness), "
            f"chunks of {d['chunk_rows']:,} | {z['median_wall_s']['dask']:.1f} s ({how}) "
            f"| {b} engine: {z['median_wall_s'][b]:.1f} s ({how}) | {z['overhead_ratio']:.2f}x {b}'s time "
            f"| measurements identical bit for bit | {_yes(z['measurements_identical'])} |")
    return "\n".join(out)


def _streaming_details(s: dict[str, Any]) -> list[str]:
    last = s["runs"][-1]
    rss_gb = lambda kib: kib * 1024 / 1e9  # noqa: E731
    lines = [
        f"Streaming, {s['rows']:,} rows ({s['data']['parquet_bytes'] / 1e9:.2f} GB Parquet, written by "
        f"`write_benchmark_chunked` in pieces of {s['data']['piece_rows']:,}), {_measured(s['harness'])}; "
        f"1-minute load average {last['load_average_at_start']['1min']:.2f} at the start. "
        f"Peak RSS: `ru_maxrss` {rss_gb(last['ru_maxrss_kib']):.2f} GB, `VmHWM` {rss_gb(last['vm_hwm_kib']):.2f} GB, "
        f"of which {rss_gb(last['vm_rss_after_imports_kib']):.2f} GB after imports. Stages of the last run "
        "(timers around harness functions in the child; statistics = read + split + bands + other per-chunk work "
        "+ atoms + merge + measure):",
        "",
        "| stage | seconds | rows/s |",
        "|---|---:|---:|",
        *(f"| {k.strip()} | {v:.2f} | {_rate(k, v, last['rows'])} |" for k, v in last["stages"].items()),
    ]
    peaks = [x for x in last.get("rss_by_interval", []) if x["max_rss_kib"]]
    if peaks:
        lines += ["", "Largest RSS sampled (every 0.1 s) in each stretch of that run, named by the progress message "
                  "that ends it: " + "; ".join(
            f"{x['to'].split(' (')[0].split(';')[0]} {rss_gb(x['max_rss_kib']):.2f} GB" for x in peaks) + "."]
    if "cprofile" in s:
        c = s["cprofile"]
        lines += ["", f"cProfile of one more run ({c['evaluate_wall_s']:.1f} s with the profiler), own time:", "",
                  "| function | calls | seconds |", "|---|---:|---:|",
                  *(f"| `{h['function']}` | {h['calls']:,} | {h['own_s']:.2f} |" for h in c["by_own_time"][:12])]
    return lines


def _span(values: list[float]) -> str:
    lo, hi = f"{min(values):.1f}", f"{max(values):.1f}"
    return lo if lo == hi else f"{lo}–{hi}"


def _rate(stage: str, seconds: float, rows: int) -> str:
    """Rows per second of a stage whose work grows with the rows (not measuring: that grows with atoms)."""
    if stage.startswith(("rest", "measure")) or seconds < 0.005:
        return "—"
    return f"{rows / seconds:,.0f}"


def _measured(h: dict[str, Any]) -> str:
    """Which harness code a scale measurement ran: commit, and whether the working tree differed."""
    note = "; the working tree had uncommitted changes in harness/, not measured" if h["harness_modified"] else ""
    return f"harness/ of commit {h['commit'][:10]} ({h['measured']}{note})"


def _dask_details(d: dict[str, Any]) -> list[str]:
    b = d["baseline"]
    lines = [f"Dask vs {b}, {_measured(d['harness'])}; every run in its "
             "own process, engines alternating; `harness.evaluate` wall time, imports excluded, cluster start "
             "and shutdown included:", "",
             f"| rows | {b} runs (s) | dask runs (s) | dask / {b} (medians) | peak RSS {b} | peak RSS dask: client; "
             "process tree | cluster up | 1-minute load at start | identical |",
             "|---:|---|---|---:|---:|---|---|---|---|"]
    for z in d["sizes"]:
        loads = [r["load_average_at_start"]["1min"] for e in (b, "dask") for r in z["runs"][e]]
        up = [x for x in z["dask_cluster_up_s"] if x is not None]
        lines.append(
            f"| {z['rows']:,} | {', '.join(f'{x:.1f}' for x in z['wall_s'][b])} "
            f"| {', '.join(f'{x:.1f}' for x in z['wall_s']['dask'])} | {z['overhead_ratio']:.2f}x "
            f"| {z['peak_rss_gb'][b]:.2f} GB | {z['peak_rss_gb']['dask']:.2f}; {z['dask_tree_peak_rss_gb']:.2f} GB "
            f"| {', '.join(f'{x:.1f}' for x in up)} s | {_span(loads)} "
            f"| measurements {_yes(z['measurements_identical'])}, verdicts {_yes(z['verdicts_identical'])} |")
    return lines


_ROWS = {"engine": _engine_row, "end_to_end": _e2e_row, "streaming": _streaming_row, "dask_scale": _dask_rows}


def _code(r: dict[str, Any], names: list[str]) -> str:
    """Which harness code each measurement ran (git tree of harness/, and the commit)."""
    runs = [r[x] for x in names]
    trees = {(x["harness_tree"], x["harness_modified"]) for x in runs}
    commits = ", ".join(sorted({x["commit"] for x in runs}))
    if len(trees) == 1:
        tree, dirty = trees.pop()
        note = " plus uncommitted changes" if dirty else ""
        every = {1: "The measurement", 2: "Both measurements", 3: "All three measurements", 4: "All four measurements",
                 5: "All five measurements"}[len(runs)]
        return f"{every} ran the same harness/ (git tree {tree}{note}; commit {commits})."
    return ("The harness changed between measurements: " + "; ".join(
        f"{x['command'].split(' ')[1].split('/')[-1]} on tree {x['harness_tree']}"
        f"{' plus uncommitted changes' if x['harness_modified'] else ''} (commit {x['commit']}, "
        f"{x.get('date', r['date'])})" for x in runs) + ".")


def update_readme(text: str) -> None:
    readme = README.read_text()
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"{README}: no results section ({BEGIN} ... {END}) to replace")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def _names(text: str) -> list[str]:
    names = [x for x in text.split(",") if x]
    unknown = [x for x in names if x not in SCRIPTS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown measurement(s) {unknown}; valid: {', '.join(SCRIPTS)}")
    return names


def _previous(path: Path) -> dict[str, Any]:
    """The figures of the last full run, each measurement dated (older files had one date for all)."""
    if not path.is_file():
        return {}
    old = json.loads(path.read_text())
    return {k: {**old[k], "date": old[k].get("date", old["date"])} for k in SCRIPTS if k in old}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows and fewer runs; writes results/quick.*")
    parser.add_argument("--skip-scale", action="store_true",
                        help=f"do not run {' and '.join(SCALE)} (20,000,000 rows each; keep their last figures)")
    parser.add_argument("--only", type=_names, help=f"run only these (comma-separated: {', '.join(SCRIPTS)}); "
                        "keep the others' last figures")
    parser.add_argument("--render", action="store_true",
                        help="run nothing: rewrite results/latest.md and this README's results from results/latest.json")
    args = parser.parse_args()
    if args.render:
        text = markdown(json.loads((RESULTS / "latest.json").read_text()))
        (RESULTS / "latest.md").write_text(text + "\n")
        update_readme(text)
        print(text)
        return
    quick = ["--rows", "100000"]
    extra = {
        "engine": [*quick, "--repeats", "2", "--fairlearn-repeats", "1"],
        "end_to_end": [*quick, "--repeats", "1"],
        "profile": quick,
        "streaming": [*quick],
        "dask_scale": ["--sizes", "100000", "--repeats", "1"],
    } if args.quick else {"streaming": ["--repeats", "3"]}
    chosen = args.only or [x for x in SCRIPTS if not (args.skip_scale and x in SCALE)]
    name = "quick" if args.quick else "latest"
    result: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="perf-") as tmp:
        for key in SCRIPTS:
            if key in chosen:
                result[key] = _run(SCRIPTS[key], extra.get(key, []), Path(tmp))
    if not args.quick:
        result = {**_previous(RESULTS / f"{name}.json"), **result}
        result = {k: result[k] for k in ("date", "machine", *SCRIPTS) if k in result}
    text = markdown(result)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(text + "\n")
    if not args.quick:
        update_readme(text)
    print(text)


if __name__ == "__main__":
    main()
