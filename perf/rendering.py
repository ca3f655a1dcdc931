"""Writing the evidence bundle and rendering the reports for the 1,000,000-row benchmark.

``harness.evaluate(profile, predictions=..., out=..., tracking=False)`` on the synthetic
benchmark of ``perf/data.py`` (15 requirements by sex × race, 1,000 bootstrap replicates),
with declared predictions so that no model runs. Each run is a fresh process, as a run of
``oversight run`` is: whatever the first report of a process pays (a plotting library's
import, caches filled) is counted. Inside it, after ``import harness``, the stages are timed
by wrapping harness functions for the run (as ``end_to_end.py`` does):
``harness.evaluation._write`` (the whole bundle: predictions, tables, summary, both
reports, manifest), and within it ``render_html`` and ``render_markdown`` as the evaluation
module calls them. One warm-up process (disk caches), then ``--repeats``; figures are medians.

The harness measured is whichever ``harness`` is first on ``sys.path``: from the repository
root, ``PYTHONPATH=. .venv/bin/python perf/rendering.py`` measures the working tree.
``--against DIR`` alternates its runs with runs of the harness in ``DIR`` (for example
``git archive <commit> | tar -x -C DIR``), so a before/after comparison holds while the
machine's speed drifts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(1, str(Path(__file__).resolve().parent))

import data  # noqa: E402  (perf/data.py)

_TIMED = ("_write", "render_reports", "render_html", "render_markdown")
TARGET_SECONDS = 0.5


@contextlib.contextmanager
def _timing(module: Any, name: str, into: dict[str, float]) -> Iterator[None]:
    """Record the seconds spent in ``module.name`` (when the harness has it), unchanged otherwise."""
    original = getattr(module, name, None)
    if original is None:
        yield
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[name] = into.get(name, 0.0) + time.perf_counter() - begin

    setattr(module, name, timed)
    try:
        yield
    finally:
        setattr(module, name, original)


def _inputs(rows: int) -> tuple[Path, Path]:
    """Benchmark, profile and predictions, written once under $TMPDIR and reused."""
    folder = Path(tempfile.gettempdir()) / "oversight-perf" / f"render-{rows}"
    profile, preds = folder / "profile.yaml", folder / "predictions.parquet"
    if not (profile.is_file() and preds.is_file()):
        synth = data.generate(rows, seed=0)
        data.write_benchmark(folder, synth)
        data.write_predictions(folder, synth)
    return profile, preds


def once(profile: Path, preds: Path, out: Path) -> dict[str, float]:
    import harness
    import harness.evaluation as evaluation

    stages: dict[str, float] = {}
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        for name in _TIMED:
            stack.enter_context(_timing(evaluation, name, stages))
        harness.evaluate(profile, predictions=preds, out=out, tracking=False)
    stages["evaluate"] = time.perf_counter() - start
    return stages


def _child(profile: Path, preds: Path, out: Path, tree: Path | None) -> dict[str, float]:
    """One run in a fresh interpreter: this process's ``sys.path``, or ``tree``'s harness first."""
    code = ("import json, sys; sys.path[:0] = json.loads(sys.argv[1]); import rendering; "
            "print(json.dumps(rendering.once(*map(rendering.Path, sys.argv[2:]))))")
    paths = [str(Path(__file__).resolve().parent), *([str(tree)] if tree else []), *sys.path[1:]]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} if tree else None
    done = subprocess.run([sys.executable, "-c", code, json.dumps(paths), str(profile), str(preds), str(out)],
                          check=True, capture_output=True, text=True, env=env)
    stages = json.loads(done.stdout.strip().splitlines()[-1])
    # one call renders both reports, or (older trees) one call each
    stages["reports"] = stages.get("render_reports", stages.get("render_html", 0.0) + stages.get("render_markdown", 0.0))
    return stages


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r.get(key, float("nan")) for r in runs) for key in ("_write", "reports", "evaluate")}


def run(*, rows: int, repeats: int, against: Path | None = None) -> dict[str, Any]:
    """``repeats`` runs of this harness; with ``against``, runs of that tree's harness in turn (A B A B ...)."""
    import harness

    profile, preds = _inputs(rows)
    runs: list[dict[str, float]] = []
    other: list[dict[str, float]] = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="oversight-render-") as tmp:
        _child(profile, preds, Path(tmp) / "warm-up", None)
        for i in range(repeats):
            runs.append(_child(profile, preds, Path(tmp) / f"run-{i}", None))
            if against is not None:
                other.append(_child(profile, preds, Path(tmp) / f"other-{i}", against))
    load.append(os.getloadavg()[0])
    medians = _medians(runs)
    result: dict[str, Any] = {
        "rows": rows,
        "repeats": repeats,
        "harness": str(Path(harness.__file__).resolve().parent),
        "load_1min": load,
        "runs": runs,
        "medians": medians,
        "target_seconds": TARGET_SECONDS,
        "met": medians["_write"] <= TARGET_SECONDS,
    }
    if against is not None:
        ratios = [a["_write"] / b["_write"] for a, b in zip(runs, other)]
        result["against"] = {"tree": str(against), "runs": other, "medians": _medians(other),
                             "ratio_median": statistics.median(ratios), "ratios": ratios}
    return result


def summary(r: dict[str, Any]) -> str:
    m = r["medians"]
    text = (f"{r['rows']:,} rows, median of {r['repeats']} (harness {r['harness']}): "
            f"bundle and reports {m['_write']:.3f} s (both reports {m['reports']:.3f} s); "
            f"evaluate {m['evaluate']:.2f} s; target <= {TARGET_SECONDS} s: {'met' if r['met'] else 'not met'}; "
            f"1-minute load {r['load_1min'][0]:.1f} -> {r['load_1min'][1]:.1f}")
    if "against" in r:
        o = r["against"]
        text += (f"\nagainst {o['tree']}: bundle and reports {o['medians']['_write']:.3f} s (both reports "
                 f"{o['medians']['reports']:.3f} s); ratio this/that, median of pairs: {o['ratio_median']:.3f}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--against", type=Path, help="a folder holding another harness/ (e.g. from git archive): "
                        "its runs alternate with this one's and the ratio is given pair by pair")
    args = parser.parse_args()
    result = run(rows=args.rows, repeats=args.repeats, against=args.against)
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
