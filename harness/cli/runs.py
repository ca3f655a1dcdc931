"""Commands that evaluate: ``oversight run`` and ``oversight demo``."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from pathlib import Path

import click

from ..errors import InputError
from ..evidence.store import DEFAULT_TIMEOUT
from ..sandbox import Limits, parse_size
from ._common import BENCHMARK_DIRS, EXIT, PROFILE_DIRS, _guard, _show_model_log, emit
from ._progress import reporter_for
from .sync import pending_message

_DEFAULTS = Limits()


def _size(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    try:
        return parse_size(value)
    except InputError as exc:  # shown as a usage error of this option
        raise click.BadParameter(str(exc)) from None


def _sandbox_options(fn: object) -> object:
    """The options that say how a model file runs (see harness.sandbox)."""
    options = [
        click.option("--sandbox/--no-sandbox", default=True, show_default=True,
                     help="Run the model file in a separate, isolated process (bubblewrap on Linux). "
                          "--no-sandbox loads it in this process, with this process's rights; the evidence "
                          "records the choice."),
        click.option("--trust-model", is_flag=True,
                     help="Accept a pickle/joblib model, or an MLflow model where bubblewrap cannot run "
                          "(then a plain child process); recorded in the evidence."),
        click.option("--trust-type", "trust_types", multiple=True, metavar="NAME",
                     help="A type a .skops file may load beyond those skops trusts (repeatable)."),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=_DEFAULTS.timeout,
                     show_default=True, metavar="SECONDS",
                     help="Wall-clock limit for loading the model and for each batch of rows."),
        click.option("--memory-limit", default="8GiB", show_default=True, metavar="SIZE", callback=_size,
                     help="Address-space limit of the model process (RLIMIT_AS), e.g. 8GiB or 512M."),
        click.option("--cpu-time", type=click.IntRange(min=1), default=_DEFAULTS.cpu_time, show_default=True,
                     metavar="SECONDS", help="CPU-time limit of the model process (RLIMIT_CPU)."),
    ]
    for option in reversed(options):
        fn = option(fn)  # type: ignore[operator]
    return fn


@click.command()
@click.option("--profile", "profile_ref", required=True, metavar="FILE|ID[@VERSION]",
              help="Sector profile: a YAML file, or a profile id (newest version, or ID@VERSION) found in the "
                   "--profiles folders, OVERSIGHT_PROFILES or the installed defaults.")
@PROFILE_DIRS
@BENCHMARK_DIRS
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
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr (bars on a terminal, timestamped lines "
              "otherwise).")
@click.option("--engine", type=click.Choice(["local", "stream", "dask"]), default="local", show_default=True,
              help="local: benchmark in memory; stream: in chunks; dask: chunks on a Dask cluster.")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=250_000, show_default=True,
              help="Rows per chunk for the stream and dask engines.")
@click.option("--scheduler", help="Dask scheduler address (default: a local cluster of two workers).")
@click.option("--sign-key", type=click.Path(dir_okay=False, path_type=Path),
              help="Ed25519 private key (from `oversight keys generate`) to sign the evidence bundle with.")
@_sandbox_options
@_guard
def run(profile_ref: str, profile_dirs: tuple[Path, ...], benchmark_dirs: tuple[Path, ...], model: str | None,
        predictions: Path | None, as_of: dt.datetime | None, split: str | None, out: Path, tracking_uri: str | None,
        no_tracking: bool, tracking_timeout: float, as_json: bool, quiet: bool, engine: str, chunk_rows: int,
        scheduler: str | None, sign_key: Path | None, sandbox: bool, trust_model: bool, trust_types: tuple[str, ...],
        timeout: float, memory_limit: int, cpu_time: int) -> int:
    """Evaluate a model or declared predictions against a sector profile."""
    from ..catalog import profile_path, search
    from ..evaluation import evaluate
    from ..output import evaluation_json, verdict_table

    if tracking_uri and no_tracking:
        raise click.UsageError("--tracking-uri and --no-tracking exclude each other")
    # Anything a library prints while the run works (MLflow's run links, say) goes to stderr:
    # stdout carries the result alone, so ``--json | jq`` always reads one JSON object.
    with search(benchmarks=benchmark_dirs, profiles=profile_dirs), contextlib.redirect_stdout(sys.stderr):
        result = evaluate(
            profile_path(profile_ref), model=model, predictions=predictions,
            as_of=as_of.date() if as_of else None, out=out, tracking=not no_tracking, tracking_uri=tracking_uri,
            split=split, engine=engine, chunk_rows=chunk_rows, scheduler=scheduler, sign_key=sign_key,
            progress=reporter_for(quiet=quiet, as_json=as_json), tracking_timeout=tracking_timeout,
            sandbox=sandbox, limits=Limits(timeout=timeout, memory=memory_limit, cpu_time=cpu_time),
            trust_model=trust_model, trusted_types=trust_types)
    ran = result.summary["model"].get("sandbox") or {}
    if ran.get("note"):
        click.echo(f"warning: {ran['note']}; the model ran as a plain child process", err=True)
    if click.get_current_context().meta.get("debug"):
        _show_model_log(result.model_log)
    code = EXIT[result.verdict]
    emit(json.dumps(evaluation_json(result)) if as_json else verdict_table(result), code=code)
    if result.pending is not None:
        click.echo(pending_message(result, out, tracking_uri), err=True)
    return code


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True)
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or MLflow's default).")
@click.option("--no-tracking", is_flag=True, help="Do not log to MLflow.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@_guard
def demo(out: Path, tracking_uri: str | None, no_tracking: bool, quiet: bool) -> int:
    """Train a reference model per default profile and evaluate it, end to end."""
    from ..demo import open_runs_hint, run_demo
    from ..output import verdict_table

    results = run_demo(out=out, tracking=not no_tracking, tracking_uri=tracking_uri,
                       progress=reporter_for(quiet=quiet, as_json=False))
    for result in results:
        click.echo(verdict_table(result))
        click.echo("")
        if result.pending is not None:
            click.echo(pending_message(result, out, tracking_uri), err=True)
    if not no_tracking:
        from ..evidence.tracking import resolved_uri

        click.echo(open_runs_hint(results, resolved_uri(tracking_uri), out=out))
    return 0
