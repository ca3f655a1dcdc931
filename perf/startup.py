"""Start-up and the command line's own cost, side by side with the work itself.

Three figures, each a whole process started from the repository root with this checkout's
``harness`` first on ``PYTHONPATH`` (``python -m harness.cli``, so the figures do not depend
on which copy an installed ``oversight`` script would import):

- ``oversight --help`` (target: at most 0.5 s), with ``python -c "import harness"`` beside it;
- ``oversight profile validate`` on each default profile (target: at most 1.0 s): reads the
  profile, the card and the benchmark's data, checks every column and group;
- ``oversight run`` on the 1,000,000-row benchmark of ``perf/data.py`` (declared predictions,
  15 requirements by sex × race, 1,000 bootstrap replicates, ``--no-tracking --quiet``,
  evidence bundle written) against ``harness.evaluate`` on the same files in a process that
  has already imported the harness and evaluated once on a 10,000-row benchmark, as
  ``perf/end_to_end.py`` does (target: the command at most 1.5 s slower).

Every command runs ``--runs`` times after one warm-up, in turn (help, import, validate, run,
in-process, help, ...), so a machine whose speed drifts slows all of them alike; figures are
medians, and the run's cost over the in-process evaluation is the median of the paired
differences. ``--json PATH`` writes every run's figure.

    .venv/bin/python perf/startup.py                      # about 2 minutes on 2 cores
    .venv/bin/python perf/startup.py --rows 100000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from data import generate, write_benchmark, write_predictions  # noqa: E402

PROFILES = sorted((ROOT / "sector_profiles").rglob("*.yaml"))
TARGETS = {"help": 0.5, "validate": 1.0, "run_overhead": 1.5}

# In a child: import, warm up on the small benchmark, then time evaluate on the big one.
IN_PROCESS = """
import json, sys, tempfile, time
import harness
small, big = sys.argv[1:3], sys.argv[3:5]
with tempfile.TemporaryDirectory() as out:
    harness.evaluate(small[0], predictions=small[1], out=out, tracking=False)
    start, cpu = time.perf_counter(), time.process_time()
    harness.evaluate(big[0], predictions=big[1], out=out, tracking=False)
    print(json.dumps({"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}))
"""


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds and CPU seconds (user + system, threads included) of one process, and its stdout."""
    start, cpu = time.perf_counter(), _cpu()
    done = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, _cpu() - cpu
    if done.returncode not in (0, 1, 4):  # 1 and 4 are verdicts, not failures
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr}")
    return wall, cpu, done.stdout


def _data(root: Path, rows: int) -> dict[str, tuple[Path, Path]]:
    """The benchmark, card, profile and predictions, big and small (kept between calls)."""
    found = {}
    for name, n in (("small", 10_000), ("big", rows)):
        folder = root / f"startup-{n}"
        profile, preds = folder / "profile.yaml", folder / "predictions.parquet"
        if not (profile.is_file() and preds.is_file()):
            synth = generate(n, seed=0)
            write_benchmark(folder, synth)
            write_predictions(folder, synth)
        found[name] = (profile, preds)
    return found


def _commands(data: dict[str, tuple[Path, Path]], out: Path) -> dict[str, list[str]]:
    py = sys.executable
    (profile, preds), (small_p, small_d) = data["big"], data["small"]
    commands = {
        "help": [py, "-m", "harness.cli", "--help"],
        "import": [py, "-c", "import harness"],
        **{f"validate {p.stem}": [py, "-m", "harness.cli", "profile", "validate", str(p)] for p in PROFILES},
        "run": [py, "-m", "harness.cli", "run", "--profile", str(profile), "--predictions", str(preds),
                "--out", str(out), "--no-tracking", "--quiet"],
        "in_process": [py, "-c", IN_PROCESS, str(small_p), str(small_d), str(profile), str(preds)],
    }
    return commands


def measure(*, rows: int, runs: int, data_root: Path) -> dict[str, Any]:
    data = _data(data_root, rows)
    with tempfile.TemporaryDirectory(prefix="perf-startup-") as tmp:
        commands = _commands(data, Path(tmp))
        figures: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": []} for n in [*commands, "evaluate"]}
        load = os.getloadavg()[0]
        for round_ in range(runs + 1):  # round 0 is the warm-up
            for name, command in commands.items():
                wall, cpu, stdout = _timed(command)
                if round_ == 0:
                    continue
                figures[name]["wall"].append(wall)
                figures[name]["cpu"].append(cpu)
                if name == "in_process":
                    inside = json.loads(stdout.splitlines()[-1])
                    figures["evaluate"]["wall"].append(inside["wall"])
                    figures["evaluate"]["cpu"].append(inside["cpu"])
    medians = {name: {k: statistics.median(v) for k, v in fig.items()} for name, fig in figures.items()}
    overhead = {k: statistics.median(r - e for r, e in zip(figures["run"][k], figures["evaluate"][k]))
                for k in ("wall", "cpu")}
    validate = max(v["wall"] for k, v in medians.items() if k.startswith("validate "))
    return {
        "rows": rows, "runs": runs, "load": [load, os.getloadavg()[0]], "figures": figures, "medians": medians,
        "run_overhead": overhead,
        "met": {"help": medians["help"]["wall"] <= TARGETS["help"], "validate": validate <= TARGETS["validate"],
                "run_overhead": overhead["wall"] <= TARGETS["run_overhead"]},
    }


def summary(result: dict[str, Any]) -> str:
    m, runs = result["medians"], result["runs"]

    def row(what: str, fig: dict[str, float], target: float | None) -> str:
        met = "—" if target is None else "yes" if fig["wall"] <= target else "no"
        return f"| {what} | {fig['wall']:.2f} | {fig['cpu']:.2f} | {'—' if target is None else f'≤ {target} s'} | {met} |"

    lines = [f"| figure (medians of {runs} runs in turn; whole processes unless said) | wall s | CPU s | target "
             "(wall) | met |", "|---|---:|---:|---|---|",
             row("`oversight --help`", m["help"], TARGETS["help"]),
             row('`python -c "import harness"`', m["import"], None)]
    lines += [row(f"`oversight profile validate` {k.removeprefix('validate ')}", m[k], TARGETS["validate"])
              for k in m if k.startswith("validate ")]
    lines += [row(f"`oversight run`, {result['rows']:,} rows, declared predictions, `--no-tracking`", m["run"], None),
              row("`harness.evaluate` on the same files, in a warmed-up process", m["evaluate"], None),
              row("the command's own cost: run − evaluate (median of the pairs)", result["run_overhead"],
                  TARGETS["run_overhead"])]
    load = result["load"]
    return "\n".join(lines) + f"\n\n1-minute load average {load[0]:.1f} before, {load[1]:.1f} after."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "oversight-perf",
                        help="folder for the benchmark files (written once, reused)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = measure(rows=args.rows, runs=args.runs, data_root=args.data)
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
