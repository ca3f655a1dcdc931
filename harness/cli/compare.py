"""Commands that compare evaluations: ``oversight compare`` and ``oversight diff``."""

from __future__ import annotations

import click

from ._common import _guard

_FORMATS = click.Choice(["table", "csv", "json", "markdown"])


@click.command()
@click.option("--profile", "profile_id", required=True, help="Profile id (the MLflow experiment's name).")
@click.option("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or MLflow's default).")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@click.option("--max-runs", type=click.IntRange(min=1), default=100, show_default=True,
              help="Read at most this many runs, the newest.")
@_guard
def compare(profile_id: str, tracking_uri: str | None, fmt: str, max_runs: int) -> int:
    """Every run of a profile, newest first: model, version, date, signer, verdict, requirements."""
    from ..evidence.compare import compare_runs, render_comparison

    click.echo(render_comparison(compare_runs(profile_id, tracking_uri=tracking_uri, max_runs=max_runs), fmt),
               nl=False)
    return 0


@click.command()
@click.argument("a", metavar="RUN_OR_BUNDLE_A")
@click.argument("b", metavar="RUN_OR_BUNDLE_B")
@click.option("--tracking-uri", help="MLflow tracking URI for run ids (default: MLFLOW_TRACKING_URI or MLflow's "
              "default).")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True)
@_guard
def diff(a: str, b: str, tracking_uri: str | None, fmt: str) -> int:
    """B against A on the same benchmark rows: paired intervals, McNemar's test, better or worse."""
    from ..evidence.diff import diff_evidence, render_diff

    click.echo(render_diff(diff_evidence(a, b, tracking_uri=tracking_uri), fmt), nl=False)
    return 0
