"""Commands for auditors: ``oversight verify``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._common import _guard


@click.command()
@click.argument("bundle", type=click.Path(file_okay=False, path_type=Path))
@click.option("--tracking-uri", help="Also compare with this MLflow store (default: MLflow's default).")
@click.option("--no-tracking", is_flag=True, help="Do not compare with MLflow.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@_guard
def verify(bundle: Path, tracking_uri: str | None, no_tracking: bool, as_json: bool) -> int:
    """Re-verify an evidence bundle: hashes, recomputed measurements, the MLflow run."""
    from ..evidence.verify import verify_bundle

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
