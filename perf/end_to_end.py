"""End to end: ``harness.evaluate`` against ``mlflow.models.evaluate`` on the same model and rows.

A scikit-learn ``LogisticRegression`` is fitted on a separate synthetic sample (seed 1),
then evaluated on a 1,000,000-row benchmark written by ``perf/data.py`` (Parquet, card with
its SHA-256, profile with 15 requirements by sex × race, 1,000 bootstrap replicates).

- harness: ``harness.evaluate(profile, model=estimator, out=..., tracking_uri=sqlite)``:
  reads and hashes the benchmark, predicts, measures every metric per group with intervals,
  judges, writes the evidence bundle with its reports and logs the MLflow run.
- MLflow: reads the same Parquet file into a DataFrame and, in a run, calls
  ``mlflow.models.evaluate(model_uri, data, targets="y", model_type="classifier",
  evaluators=["default"], evaluator_config={"default": {"log_model_explainability": False}})``
  (with a list of evaluators, MLflow 3 takes the config per evaluator name) on the
  model logged beforehand with ``mlflow.sklearn.log_model`` (logging is not timed).
  It gives overall metrics and plots, no groups and no intervals.

Both tools run once on a 10,000-row benchmark first (imports, MLflow database schema),
then alternate; the figure is the median wall time of several runs each.

    .venv/bin/python perf/end_to_end.py        # prints a summary; --json PATH writes it
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import FEATURES, generate, write_benchmark  # noqa: E402

import harness  # noqa: E402
import harness.evaluation  # noqa: E402

TARGET_RATIO = 0.5


def fit_model(seed: int = 1, rows: int = 50_000):
    from sklearn.linear_model import LogisticRegression

    sample = generate(rows, seed=seed)
    return LogisticRegression().fit(sample.frame[list(FEATURES)], sample.y)


def harness_once(profile: Path, model: Any, out: Path, tracking_uri: str) -> tuple[float, dict[str, float], Any]:
    """Wall time, seconds at each progress message, and the evaluation."""
    start, cpu = time.perf_counter(), time.process_time()
    stages: dict[str, float] = {}

    def progress(message: str) -> None:
        stages[message.split(":")[0].split(" ")[0]] = time.perf_counter() - start

    with _timing(harness.evaluation, "atoms_for", stages), _timing(harness.evaluation, "judge_table", stages):
        result = harness.evaluate(profile, model=model, out=out, tracking_uri=tracking_uri, progress=progress)
    stages["cpu"] = time.process_time() - cpu
    return time.perf_counter() - start, stages, result


@contextlib.contextmanager
def _timing(module: Any, name: str, into: dict[str, float]) -> Iterator[None]:
    """Record the seconds spent in ``module.name`` (when the harness still has it), unchanged otherwise."""
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


def mlflow_once(data: Path, model_uri: str, tracking_uri: str) -> tuple[float, float, Any]:
    """Wall time, CPU time of this process, and MLflow's evaluation result."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("mlflow-evaluate")
    start, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_parquet(data)
    with mlflow.start_run():
        result = mlflow.models.evaluate(
            model_uri, frame[[*FEATURES, "y"]], targets="y", model_type="classifier", evaluators=["default"],
            evaluator_config={"default": {"log_model_explainability": False}},
        )
    return time.perf_counter() - start, time.process_time() - cpu, result


def log_model(model: Any, tracking_uri: str) -> str:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("mlflow-evaluate")
    with mlflow.start_run(run_name="model"):
        info = mlflow.sklearn.log_model(model, name="model")
    return info.model_uri


def _stage_split(t: dict[str, float], total: float) -> dict[str, float]:
    """Seconds per stage, from the times of the progress messages and of the timed functions."""
    measured = t.get("atoms_for", 0.0) + t.get("judge_table", 0.0)
    return {
        "load benchmark (read, hash, split)": t["benchmark"],
        "predict": t["predictions"] - t["benchmark"],
        "build atoms": t.get("atoms_for", float("nan")),
        "measure and judge": t.get("judge_table", float("nan")),
        "bundle and reports": t["evidence"] - t["predictions"] - measured,
        "MLflow run": t["MLflow"] - t["evidence"],
        "rest": total - t["MLflow"],
    }


def run(*, rows: int = 1_000_000, repeats: int = 3, replicates: int = 1000, seed: int = 0) -> dict[str, Any]:
    import mlflow  # noqa: F401 - configures its loggers on import; quieten them afterwards

    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    model = fit_model()
    with tempfile.TemporaryDirectory(prefix="perf-e2e-") as tmp:
        root = Path(tmp)
        uri_h, uri_m = f"sqlite:///{root}/harness.db", f"sqlite:///{root}/mlflow.db"
        small_profile = write_benchmark(root / "small", generate(10_000, seed=seed), replicates=replicates)[1]
        big_profile = write_benchmark(root / "big", generate(rows, seed=seed), replicates=replicates)[1]
        model_uri = log_model(model, uri_m)
        harness_once(small_profile, model, root / "out", uri_h)  # warm-up
        mlflow_once(root / "small" / "data.parquet", model_uri, uri_m)
        h_s, m_s, h_cpu, m_cpu, stages = [], [], [], [], []
        for _ in range(repeats):
            seconds, st, result = harness_once(big_profile, model, root / "out", uri_h)
            h_s.append(seconds)
            h_cpu.append(st["cpu"])
            stages.append(_stage_split(st, seconds))
            print(f"  harness.evaluate: {seconds:.1f} s, {st['cpu']:.1f} s CPU ({result.verdict})", file=sys.stderr)
            seconds, cpu, evaluation = mlflow_once(root / "big" / "data.parquet", model_uri, uri_m)
            m_s.append(seconds)
            m_cpu.append(cpu)
            print(f"  mlflow.models.evaluate: {seconds:.1f} s, {cpu:.1f} s CPU ({len(evaluation.metrics)} metrics)",
                  file=sys.stderr)
        auc_mlflow = float(evaluation.metrics.get("roc_auc", float("nan")))
        produced = {
            "harness_measurements": int(len(result.measurements)),
            "harness_verdicts": int(len(result.verdicts)),
            "harness_verdict": result.verdict,
            "harness_bundle_files": sorted(p.name for p in Path(result.bundle).iterdir()),
            "mlflow_metrics": sorted(evaluation.metrics),
            "mlflow_artifacts": sorted(evaluation.artifacts),
            "mlflow_roc_auc_overall": auc_mlflow,
        }
    h, m = statistics.median(h_s), statistics.median(m_s)
    stage_median = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
    return {
        "rows": rows, "replicates": replicates, "harness_seconds": h_s, "mlflow_seconds": m_s,
        "harness_median_s": h, "mlflow_median_s": m, "ratio": h / m, "harness_stages_median_s": stage_median,
        "harness_cpu_seconds": h_cpu, "mlflow_cpu_seconds": m_cpu,
        "harness_cpu_median_s": statistics.median(h_cpu), "mlflow_cpu_median_s": statistics.median(m_cpu),
        "produced": produced, "target_ratio": TARGET_RATIO, "met": h / m <= TARGET_RATIO,
    }


def summary(r: dict[str, Any]) -> str:
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in r["harness_stages_median_s"].items())
    p = r["produced"]
    return "\n".join([
        f"{r['rows']:,} rows, LogisticRegression, {r['replicates']:,} bootstrap replicates",
        f"harness.evaluate: median {r['harness_median_s']:.1f} s of {len(r['harness_seconds'])} "
        f"({p['harness_measurements']} group measurements with intervals, {p['harness_verdicts']} verdicts, "
        f"bundle, MLflow run)",
        f"  stages: {stages}",
        f"mlflow.models.evaluate: median {r['mlflow_median_s']:.1f} s of {len(r['mlflow_seconds'])} "
        f"({len(p['mlflow_metrics'])} overall metrics, {len(p['mlflow_artifacts'])} artifacts, no groups, no intervals)",
        f"ratio harness / MLflow: {r['ratio']:.2f} (target <= {TARGET_RATIO}: {'met' if r['met'] else 'NOT met'})",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(rows=args.rows, repeats=args.repeats, replicates=args.replicates)
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
