"""One ``harness.evaluate`` in a fresh process, timed by stage: what the scale benchmarks measure.

``measure(...)`` starts this file as a child process, waits for it with ``os.wait4`` and
returns what the child reports plus its peak resident memory (``ru_maxrss`` of that one
child: its own high-water mark, or a descendant's if larger, never a sum) and, on request,
the peak of the summed RSS of the child and all its descendants (Dask's scheduler and
workers), sampled every 0.2 s with psutil. A fresh process per run keeps the figures clean:
no memory held over from generating the data or from an earlier run.

Inside the child, the stages are timed by wrapping module attributes of the harness for
the duration of the run (``harness.stream.predict``, ``harness.stream.atoms_of`` ...),
the way ``perf/end_to_end.py`` times ``judge_table``; a name the harness no longer has is
left alone and its stage is missing from the report. Nested stages overlap (``statistics_of``
contains ``predict``). Only work in the child's own process is timed: Dask workers' stages
are not.

``harness="HEAD"`` runs the committed ``harness/`` (``git archive HEAD harness``, put first on
``PYTHONPATH``), not the working tree, so a measurement is attributable to one commit while
someone edits the package.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import os
import pickle
import pstats
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

__all__ = ["git_state", "harness_snapshot", "measure", "table_digest"]


# --- parent side --------------------------------------------------------------------------

def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "harness_tree": git("rev-parse", "HEAD:harness"),
            "harness_modified": bool(git("status", "--porcelain", "--", "harness"))}


@contextlib.contextmanager
def harness_snapshot(which: str) -> Iterator[str | None]:
    """A folder holding ``harness/`` as committed at HEAD (for ``PYTHONPATH``), or None for the working tree."""
    if which == "worktree":
        yield None
        return
    if which != "HEAD":
        raise SystemExit(f"--harness {which!r}: expected HEAD or worktree")
    archive = subprocess.run(["git", "archive", "HEAD", "harness"], cwd=ROOT, capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory(prefix="perf-harness-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield tmp


class _TreeSampler:
    """Peak of the summed RSS of a process and its descendants, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self.proc, self.every, self.peak, self.peak_processes = psutil.Process(pid), every, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(self.every):
            total, n = 0, 0
            try:
                for p in [self.proc, *self.proc.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
                        n += 1
            except psutil.Error:
                return
            if total > self.peak:
                self.peak, self.peak_processes = total, n

    def __enter__(self) -> "_TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(profile: Path, *, engine: str, chunk_rows: int, harness_path: str | None = None,
            keep: Path | None = None, cprofile: int = 0, tree_rss: bool = False,
            split: str | None = None) -> dict[str, Any]:
    """Run one evaluation in a child process; its report, peak RSS and the load average before it."""
    with tempfile.TemporaryDirectory(prefix="perf-child-") as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, __file__, "--profile", str(profile), "--engine", engine,
                   "--chunk-rows", str(chunk_rows), "--report", str(report), "--cprofile", str(cprofile)]
        if keep is not None:
            command += ["--keep", str(keep)]
        if split is not None:
            command += ["--split", split]
        env = dict(os.environ)
        if harness_path:
            env["PYTHONPATH"] = os.pathsep.join([harness_path, *filter(None, [env.get("PYTHONPATH")])])
        load = os.getloadavg()
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=tmp, env=env)  # cwd: the harness's default ./reports lands here
        sampler = _TreeSampler(proc.pid) if tree_rss else contextlib.nullcontext()
        with sampler:
            _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"child failed with exit code {proc.returncode}: {' '.join(command)}")
        out = json.loads(report.read_text())
    out.update({
        "process_wall_s": elapsed,  # interpreter start and imports included
        "ru_maxrss_kib": usage.ru_maxrss,
        "process_cpu_s": usage.ru_utime + usage.ru_stime,  # the child and its waited-for descendants
        "load_average_at_start": {"1min": load[0], "5min": load[1], "15min": load[2]},
    })
    if tree_rss:
        out["tree_peak_rss_kib"] = sampler.peak // 1024
        out["tree_peak_processes"] = sampler.peak_processes
    return out


def table_digest(frame: Any) -> str:
    """SHA-256 of a DataFrame's columns, dtypes and every value (bit for bit, NaN included)."""
    import pandas as pd

    digest = hashlib.sha256(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return digest.hexdigest()


# --- child side ---------------------------------------------------------------------------

class _Timer:
    """Seconds and calls per wrapped function; patches are undone on exit."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._undo: list[Callable[[], None]] = []

    def _add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    def wrap(self, owner: Any, attr: str, name: str | None = None, *, generator: bool = False) -> None:
        original = getattr(owner, attr, None)
        if original is None:
            return
        name = name or attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            begin = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._add(name, time.perf_counter() - begin)

        def timed_gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            it = iter(original(*args, **kwargs))
            while True:
                begin = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    self._add(name, time.perf_counter() - begin)
                    return
                self._add(name, time.perf_counter() - begin)
                yield item

        setattr(owner, attr, timed_gen if generator else timed)
        self._undo.append(lambda: setattr(owner, attr, original))

    def __enter__(self) -> "_Timer":
        return self

    def __exit__(self, *exc: object) -> None:
        for undo in reversed(self._undo):
            undo()


def _wrap_stages(timer: _Timer, engine: str) -> dict[str, Any]:
    import harness.evaluation as ev

    captured: dict[str, Any] = {}
    original_judge = ev.judge_table

    def judge_table(profile: Any, table: Any) -> Any:  # records the atom table's size, then times the call
        captured["atoms"] = int(len(table.count))
        captured["rows"] = int(table.n_rows)
        captured["scores_exact"] = None if table.grid is None else bool(table.grid.exact)
        return original_judge(profile, table)

    ev.judge_table = judge_table
    timer._undo.append(lambda: setattr(ev, "judge_table", original_judge))
    timer.wrap(ev, "judge_table")
    if engine == "local":
        for attr in ("_local", "make_plan", "_predictions", "validate_scores", "atoms_for"):
            timer.wrap(ev, attr)
        return captured
    import harness.stream as hs

    timer.wrap(ev, "_streamed")
    for attr in ("open_source", "stream_statistics", "dask_statistics", "merge_atoms"):
        timer.wrap(hs, attr)
    timer.wrap(hs._PredictionSink, "add", "write_predictions")
    if engine == "stream":
        timer.wrap(hs, "_sequential", "read_chunks", generator=True)
        timer.wrap(hs.StreamJob, "statistics_of")
        for attr in ("predict", "add_derived", "assign_split"):
            timer.wrap(hs, attr)
        timer.wrap(hs, "atoms_of", "build_atoms")  # rows -> atoms (plan.atoms_of calls stats.build_atoms)
    return captured


def _status_kib(field: str) -> int | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


class _RssSampler:
    """This process's RSS every ``every`` seconds, in a thread: where in the run the peak falls."""

    def __init__(self, every: float = 0.1) -> None:
        self.every, self.samples = every, []  # (seconds since start, VmRSS KiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.perf_counter()
        while not self._stop.wait(self.every):
            self.samples.append((time.perf_counter() - start, _status_kib("VmRSS") or 0))

    def __enter__(self) -> "_RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def by_interval(self, messages: list[tuple[float, str]], end: float) -> list[dict[str, Any]]:
        """The largest sampled RSS between consecutive progress messages (start and end included)."""
        marks = [(0.0, "start"), *messages, (end, "end")]
        out = []
        for (t0, m0), (t1, m1) in zip(marks, marks[1:]):
            inside = [kib for t, kib in self.samples if t0 <= t < t1]
            out.append({"from": m0, "to": m1, "seconds": round(t1 - t0, 3), "max_rss_kib": max(inside, default=None)})
        return out


def _timed_model(model: Callable, into: dict[str, float]) -> Callable:
    def model_call(inputs: Any) -> Any:
        begin = time.perf_counter()
        try:
            return model(inputs)
        finally:
            into["model"] = into.get("model", 0.0) + time.perf_counter() - begin

    return model_call


def child(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    sys.path.insert(0, str(HERE))
    from data import linear_model

    import harness
    import harness.stream  # noqa: F401 - imported here so the import is not timed as a stage

    imports_s = time.perf_counter() - began
    rss_after_imports = _status_kib("VmRSS")
    own: dict[str, float] = {}
    # Dask pickles the model to its workers: give them the plain function (timed there, not here).
    model = linear_model if args.engine == "dask" else _timed_model(linear_model, own)
    messages: list[tuple[float, str]] = []
    profiler = cProfile.Profile() if args.cprofile else None
    with _Timer() as timer:
        captured = _wrap_stages(timer, args.engine)
        with _RssSampler() as rss:
            start, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            result = harness.evaluate(args.profile, model=model, engine=args.engine, chunk_rows=args.chunk_rows,
                                      tracking=False, split=args.split,
                                      progress=lambda m: messages.append((time.perf_counter() - start, m)))
            if profiler:
                profiler.disable()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if args.keep:
        with open(args.keep, "wb") as fh:
            pickle.dump({"measurements": result.measurements, "verdicts": result.verdicts}, fh)
    out = {
        "engine": args.engine, "chunk_rows": args.chunk_rows, "harness_file": harness.__file__,
        "evaluate_wall_s": wall, "evaluate_cpu_s": cpu, "imports_s": imports_s,
        "stages_s": {**timer.seconds, **own}, "stage_calls": timer.calls,
        "progress": [{"at_s": round(t, 3), "message": m} for t, m in messages],
        "rss_by_interval": rss.by_interval(messages, wall),  # sampled every 0.1 s: a short peak can fall between
        "vm_hwm_kib": _status_kib("VmHWM"), "vm_rss_after_imports_kib": rss_after_imports,
        "verdict": result.verdict, "measurements": int(len(result.measurements)),
        "measurements_sha256": table_digest(result.measurements), "verdicts_sha256": table_digest(result.verdicts),
        **captured,
    }
    if profiler:
        out["cprofile"] = _top(profiler, args.cprofile)
    return out


def _top(profiler: cProfile.Profile, n: int) -> dict[str, list[dict[str, Any]]]:
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = []
    for (file, line, func), (_cc, calls, tt, ct, _callers) in stats.stats.items():
        rows.append({"function": f"{Path(file).name}:{line}:{func}", "calls": calls, "own_s": tt, "cumulative_s": ct})
    own = sorted(rows, key=lambda r: -r["own_s"])[:n]
    cum = sorted(rows, key=lambda r: -r["cumulative_s"])[:n]
    return {"total_s": total, "by_own_time": own, "by_cumulative_time": cum}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--engine", choices=("local", "stream", "dask"), required=True)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--split")
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--keep", type=Path, help="pickle the measurements and verdicts tables here")
    parser.add_argument("--cprofile", type=int, default=0, help="profile the evaluation; keep the top N functions")
    args = parser.parse_args()
    args.report.write_text(json.dumps(child(args), indent=2))


if __name__ == "__main__":
    main()
