"""Commands for benchmarks: ``oversight benchmark ...``."""

from __future__ import annotations

import click

from .authoring import init, validate


@click.group()
def benchmark() -> None:
    """Author and check benchmarks."""


benchmark.add_command(init)
benchmark.add_command(validate)
