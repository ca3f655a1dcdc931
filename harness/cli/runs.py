"""Commands that evaluate: ``oversight run`` and ``oversight demo``."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from ..evidence.store import DEFAULT_TIMEOUT
from ._common import EXIT, _guard, _progress
from .sync import pending_message


@click.command()
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
@click.option("--tracking-timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds to wait for the tracking server per connection and per request (each request is "
              "tried twice); past that the bundle is left pending for 'oversight sync'.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--engine", type=click.Choice(["local", "stream", "dask"]), default="local", show_default=True,
              help="local: benchmark in memory; stream: in chunks; dask: chunks on a Dask cluster.")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=250_000, show_default=True,
              help="Rows per chunk for the stream and dask engines.")
@click.option("--scheduler", help="Dask scheduler address (default: a local cluster of two workers).")
@click.option("--sign-key", type=click.Path(dir_okay=False, path_type=Path),
              help="Ed25519 private key (from `oversight keys generate`) to sign the evidence bundle with.")
@_guard
def run(profile_path: Path, model: str | None, predictions: Path | None, as_of: dt.datetime | None,
        split: str | None, out: Path, tracking_uri: str | None, no_tracking: bool, tracking_timeout: float,
        as_json: bool, engine: str, chunk_rows: int, scheduler: str | None, sign_key: Path | None) -> int:
    """Evaluate a model or declared predictions against a sector profile."""
    from ..evaluation import evaluate
    from ..output import evaluation_json, verdict_table

    if tracking_uri and no_tracking:
        raise click.UsageError("--tracking-uri and --no-tracking exclude each other")
    result = evaluate(profile_path, model=model, predictions=predictions, as_of=as_of.date() if as_of else None,
                      out=out, tracking=not no_tracking, tracking_uri=tracking_uri, split=split,
                      engine=engine, chunk_rows=chunk_rows, scheduler=scheduler, sign_key=sign_key,
                      progress=_progress(not as_json and sys.stderr.isatty()), tracking_timeout=tracking_timeout)
    click.echo(json.dumps(evaluation_json(result)) if as_json else verdict_table(result))
    if result.pending is not None:
        click.echo(pending_message(result, out, tracking_uri), err=True)
    return EXIT[result.verdict]


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True)
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or MLflow's default).")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow.")
@_guard
def demo(out: Path, tracking_uri: str | None, no_tracking: bool) -> int:
    """Train a reference model per default profile and evaluate it, end to end."""
    from ..demo import run_demo
    from ..output import mlflow_hint, verdict_table

    results = run_demo(out=out, tracking=not no_tracking, tracking_uri=tracking_uri,
                       progress=_progress(True))
    for result in results:
        click.echo(verdict_table(result))
        click.echo("")
        if result.pending is not None:
            click.echo(pending_message(result, out, tracking_uri), err=True)
    if not no_tracking:
        click.echo(mlflow_hint(results, tracking_uri))
    return 0
