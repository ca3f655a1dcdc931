"""Run every performance measurement, write ``perf/results/latest.json`` and print the figures.

Each measurement runs as its own process (the same command the README shows) and writes
its figures as JSON; this script adds the machine, writes ``results/latest.json`` and
``results/latest.md``, prints the Markdown, and replaces the results section of
``perf/README.md`` with it.

    .venv/bin/python perf/run_all.py            # about 40 minutes on 2 cores
    .venv/bin/python perf/run_all.py --quick    # 100,000 rows, fewer runs: a smoke test, README untouched
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
PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "fairlearn", "mlflow", "pyarrow", "oversight-harness")


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
    return {**json.loads(out.read_text()), "command": " ".join(command[:-2]).replace(str(ROOT) + "/", ""),
            "commit": commit, "harness_tree": tree, "harness_modified": dirty,
            "load_average_1min": {"before": before, "after": os.getloadavg()[0]}}


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def markdown(r: dict[str, Any]) -> str:
    e, t, p, m = r["engine"], r["end_to_end"], r["profile"], r["machine"]
    k1, k2 = list(e["fairlearn_median_s"])
    pk = m["packages"]
    lines = [
        f"Measured {r['date']} on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; Python {m['python']}, "
        f"numpy {pk['numpy']}, pandas {pk['pandas']}, scipy {pk['scipy']}, scikit-learn {pk['scikit-learn']}, "
        f"fairlearn {pk['fairlearn']}, MLflow {pk['mlflow']}, pyarrow {pk['pyarrow']}. " + _code(e, t, p),
        "",
        "| benchmark | harness | compared with | ratio | target | met |",
        "|---|---:|---|---:|---|---|",
        f"| engine: {e['rows']:,} rows, {e['groups']} groups, {e['metrics']} metrics per group, "
        f"{e['replicates']:,} bootstrap replicates ({e['atoms']:,} atoms) "
        f"| {e['harness_median_s']:.2f} s (median of {len(e['harness_seconds'])}; "
        f"{e['harness_cpu_median_s']:.2f} s CPU) "
        f"| fairlearn `MetricFrame`: n_boot={k1} {e['fairlearn_median_s'][k1]:.0f} s, n_boot={k2} "
        f"{e['fairlearn_median_s'][k2]:.0f} s (medians of {len(e['fairlearn_seconds'][k1])}); "
        f"**extrapolated** to {e['replicates']:,}: {e['fairlearn_extrapolated_s']:,.0f} s "
        f"| {e['speedup']:,.0f}x faster | harness ≤ 1 s; ≥ 1,000x "
        f"| {_yes(e['met']['harness_seconds'])}; {_yes(e['met']['speedup'])} |",
        f"| end to end: {t['rows']:,} rows, LogisticRegression, {t['replicates']:,} replicates "
        f"| {t['harness_median_s']:.1f} s (median of {len(t['harness_seconds'])}; "
        f"{t['harness_cpu_median_s']:.1f} s CPU) "
        f"| `mlflow.models.evaluate`: {t['mlflow_median_s']:.1f} s (median of {len(t['mlflow_seconds'])}; "
        f"{t['mlflow_cpu_median_s']:.1f} s CPU) "
        f"| {t['ratio']:.2f}x MLflow's time | ≤ 0.5x | {_yes(t['met'])} |",
        "",
        "Commands (each its own process; 1-minute load average before → after, other work on the machine "
        "included): " + "; ".join(f"`{x['command']}` ({x['load_average_1min']['before']:.1f} → "
                                  f"{x['load_average_1min']['after']:.1f})" for x in (e, t, p)) + ".",
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
        f"{p['atoms']:,} atoms; {p['wall_s']:.1f} s without the profiler, {p['profiled_s']:.1f} s with it):",
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
        lines += ["", "The same measurement on coarser score grids (one run each; errors against scikit-learn "
                  "on the exact scores, largest over the groups):", "", _sweep(p["grid_sweep"])]
    return "\n".join(lines)


def _sweep(sweep: list[dict[str, Any]]) -> str:
    lines = ["| `inference.score_bins` | atoms | build_atoms + measure | max abs error AUROC | Brier |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {x['score_bins']:,} | {x['atoms']:,} | {x['wall_s']:.1f} s | {x['max_abs_error']['auroc']:.1e} "
              f"| {x['max_abs_error']['brier']:.1e} |" for x in sweep]
    return "\n".join(lines)


def _code(*runs: dict[str, Any]) -> str:
    """Which harness code each measurement ran (git tree of harness/, and the commit)."""
    trees = {(x["harness_tree"], x["harness_modified"]) for x in runs}
    commits = ", ".join(sorted({x["commit"] for x in runs}))
    if len(trees) == 1:
        tree, dirty = trees.pop()
        note = " plus uncommitted changes" if dirty else ""
        return f"All three measurements ran the same harness/ (git tree {tree}{note}; commit {commits})."
    return ("The harness changed between measurements: " + "; ".join(
        f"{x['command'].split('/')[-1]} on tree {x['harness_tree']}{' (modified)' if x['harness_modified'] else ''}"
        for x in runs) + f" (commits {commits}).")


def update_readme(text: str) -> None:
    readme = README.read_text()
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"{README}: no results section ({BEGIN} ... {END}) to replace")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows and fewer runs; writes results/quick.*")
    args = parser.parse_args()
    quick = ["--rows", "100000"]
    engine_args = [*quick, "--repeats", "2", "--fairlearn-repeats", "1"] if args.quick else []
    e2e_args = [*quick, "--repeats", "1"] if args.quick else []
    with tempfile.TemporaryDirectory(prefix="perf-") as tmp:
        scratch = Path(tmp)
        result = {
            "date": dt.date.today().isoformat(),
            "machine": machine(),
            "engine": _run("engine", engine_args, scratch),
            "end_to_end": _run("end_to_end", e2e_args, scratch),
            "profile": _run("profile_engine", quick if args.quick else [], scratch),
        }
    text = markdown(result)
    RESULTS.mkdir(exist_ok=True)
    name = "quick" if args.quick else "latest"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(text + "\n")
    if not args.quick:
        update_readme(text)
    print(text)


if __name__ == "__main__":
    main()
