"""``oversight sync``: log the bundles a tracking outage or a killed run left pending."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from ..evidence.store import DEFAULT_TIMEOUT
from ._common import _guard

_SAID = {"logged": "logged", "in_progress": "skipped", "never_completed": "dropped", "failed": "FAILED"}


def pending_message(result: Any, out: Path, tracking_uri: str | None) -> str:
    """What a run whose MLflow logging failed tells the user on stderr."""
    command = ["oversight", "sync", "--out", str(out)] + (["--tracking-uri", tracking_uri] if tracking_uri else [])
    return (f"warning: {result.tracking_error}\n"
            f"warning: the evidence bundle is pending (marker {result.pending}); log it to MLflow later with: "
            f"{shlex.join(command)}")


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True,
              help="Folder of the evidence bundles (the --out of the runs).")
@click.option("--tracking-uri", help="MLflow tracking URI (default: the one each run was given).")
@click.option("--tracking-timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds to wait for the tracking server per connection and per request.")
@_guard
def sync(out: Path, tracking_uri: str | None, tracking_timeout: float) -> int:
    """Log pending evidence bundles to MLflow, once each; clean up after runs that died."""
    from ..evidence.sync import sync as sync_bundles

    results = sync_bundles(out, tracking_uri=tracking_uri, timeout=tracking_timeout)
    for r in results:
        click.echo(f"{_SAID[r.status]}: {r.bundle}: {r.message}")
    failed = sum(r.status == "failed" for r in results)
    click.echo(f"{len(results)} pending bundle(s) in {out}, {failed} not logged" if results
               else f"no pending bundles in {out}")
    return 3 if failed else 0
