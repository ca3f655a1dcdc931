"""The ``oversight`` command: the only place that prints or exits.

Exit codes: 0 compliant, 1 non-compliant, 2 invalid input, 3 run failure (model,
data, tracking, evidence), 4 inconclusive, 130 interrupted.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import click

from .errors import HarnessError, ProfileError

EXIT = {"compliant": 0, "non_compliant": 1, "inconclusive": 4}


def _guard(fn: Callable[..., int]) -> Callable[..., None]:
    """Map harness errors to exit codes; tracebacks only with --debug."""

    @click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
    @functools.wraps(fn)
    def wrapper(*args: Any, debug: bool = False, **kwargs: Any) -> None:
        try:
            code = fn(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except HarnessError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # a bug or an unexpected failure: still no traceback by default
            if debug:
                traceback.print_exc()
            click.echo(f"error: run failed: {type(exc).__name__}: {exc} (rerun with --debug for details)", err=True)
            sys.exit(3)
        sys.exit(code)

    return wrapper


def _progress(enabled: bool) -> Callable[[str], None] | None:
    if not enabled:
        return None
    start = dt.datetime.now()

    def say(msg: str) -> None:
        secs = (dt.datetime.now() - start).total_seconds()
        click.echo(f"  [{secs:6.1f}s] {msg}", err=True)

    return say


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="oversight-harness")
def main() -> None:
    """Performance-based oversight: evaluate AI systems against sector profiles."""


@main.command()
@click.option("--profile", "profile_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Sector profile YAML.")
@click.option("--model", help="Model: .skops file, MLflow model URI (runs:/, models:/) or model directory.")
@click.option("--predictions", type=click.Path(dir_okay=False, path_type=Path),
              help="Declared predictions: CSV or Parquet with id, decision and optional score.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Evaluation date (default today).")
@click.option("--split", type=click.Choice(["test", "development", "all"]), help="Benchmark rows to judge "
              "(default: the profile's).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder for the evidence bundle.")
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or MLflow's default).")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--engine", type=click.Choice(["local", "stream", "dask"]), default="local", show_default=True,
              help="local: benchmark in memory; stream: in chunks; dask: chunks on a Dask cluster.")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=250_000, show_default=True,
              help="Rows per chunk for the stream and dask engines.")
@click.option("--scheduler", help="Dask scheduler address (default: a local cluster of two workers).")
@_guard
def run(profile_path: Path, model: str | None, predictions: Path | None, as_of: dt.datetime | None,
        split: str | None, out: Path, tracking_uri: str | None, no_tracking: bool, as_json: bool,
        engine: str, chunk_rows: int, scheduler: str | None) -> int:
    """Evaluate a model or declared predictions against a sector profile."""
    from .evaluation import evaluate
    from .output import evaluation_json, verdict_table

    if tracking_uri and no_tracking:
        raise click.UsageError("--tracking-uri and --no-tracking exclude each other")
    result = evaluate(profile_path, model=model, predictions=predictions, as_of=as_of.date() if as_of else None,
                      out=out, tracking=not no_tracking, tracking_uri=tracking_uri, split=split,
                      engine=engine, chunk_rows=chunk_rows, scheduler=scheduler,
                      progress=_progress(not as_json and sys.stderr.isatty()))
    click.echo(json.dumps(evaluation_json(result)) if as_json else verdict_table(result))
    return EXIT[result.verdict]


@main.group()
def profile() -> None:
    """Work with sector profiles."""


@profile.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_guard
def validate(paths: tuple[Path, ...]) -> int:
    """Check profiles: 'ok' per file, or every problem with file, field path and line."""
    from .plan import make_plan
    from .profile import load_profile

    failed = False
    for path in paths:
        try:
            make_plan(load_profile(path))
            click.echo(f"{path}: ok")
        except HarnessError as exc:
            failed = True
            lines = exc.problems if isinstance(exc, ProfileError) else [str(exc)]
            for line in lines:
                click.echo(line if line.startswith(str(path)) else f"{path}: {line}", err=True)
    return 2 if failed else 0


@main.command()
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tracking-uri", help="Also compare with this MLflow store (default: MLflow's default).")
@click.option("--no-tracking", is_flag=True, help="Do not compare with MLflow.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_guard
def verify(bundle: Path, tracking_uri: str | None, no_tracking: bool, as_json: bool) -> int:
    """Re-verify an evidence bundle: hashes, recomputed measurements, the MLflow run."""
    from .evidence.verify import verify_bundle

    report = verify_bundle(bundle, tracking=not no_tracking, tracking_uri=tracking_uri)
    if as_json:
        click.echo(json.dumps(report))
    else:
        for line in report["checks"]:
            click.echo(line)
        click.echo("verified" if report["ok"] else f"NOT VERIFIED: {len(report['problems'])} problem(s)")
        for line in report["problems"]:
            click.echo(f"  - {line}")
    return 0 if report["ok"] else 1


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True)
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or MLflow's default).")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow.")
@_guard
def demo(out: Path, tracking_uri: str | None, no_tracking: bool) -> int:
    """Train a reference model per default profile and evaluate it, end to end."""
    from .demo import run_demo
    from .output import mlflow_hint, verdict_table

    results = run_demo(out=out, tracking=not no_tracking, tracking_uri=tracking_uri,
                       progress=_progress(True))
    for result in results:
        click.echo(verdict_table(result))
        click.echo("")
    if not no_tracking:
        click.echo(mlflow_hint(results, tracking_uri))
    return 0
