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
root, ``PYTHONPATH=. .venv/bin/python perf/rendering.py`` measures the working tree; put
an extracted older tree first to measure that one.
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

_TIMED = ("_write", "render_html", "render_markdown")
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


def _child(profile: Path, preds: Path, out: Path) -> dict[str, float]:
    """One run in a fresh interpreter with this process's ``sys.path`` (so the same harness)."""
    code = ("import json, sys; sys.path[:0] = json.loads(sys.argv[1]); import rendering; "
            "print(json.dumps(rendering.once(*map(rendering.Path, sys.argv[2:]))))")
    paths = [str(Path(__file__).resolve().parent), *sys.path[1:]]
    done = subprocess.run([sys.executable, "-c", code, json.dumps(paths), str(profile), str(preds), str(out)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(*, rows: int, repeats: int) -> dict[str, Any]:
    import harness

    profile, preds = _inputs(rows)
    with tempfile.TemporaryDirectory(prefix="oversight-render-") as tmp:
        _child(profile, preds, Path(tmp) / "warm-up")
        runs = [_child(profile, preds, Path(tmp) / f"run-{i}") for i in range(repeats)]
    medians = {key: statistics.median(r.get(key, float("nan")) for r in runs) for key in (*_TIMED, "evaluate")}
    return {
        "rows": rows,
        "repeats": repeats,
        "harness": str(Path(harness.__file__).resolve().parent),
        "load_1min": os.getloadavg()[0],
        "runs": runs,
        "medians": medians,
        "target_seconds": TARGET_SECONDS,
        "met": medians["_write"] <= TARGET_SECONDS,
    }


def summary(r: dict[str, Any]) -> str:
    m = r["medians"]
    return (f"{r['rows']:,} rows, median of {r['repeats']} (harness {r['harness']}): "
            f"bundle and reports {m['_write']:.3f} s (render_html {m['render_html']:.3f} s, "
            f"render_markdown {m['render_markdown']:.3f} s); evaluate {m['evaluate']:.2f} s; "
            f"target <= {TARGET_SECONDS} s: {'met' if r['met'] else 'not met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(rows=args.rows, repeats=args.repeats)
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
