"""Commands for benchmarks: ``oversight benchmark ...``."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import BENCHMARK_DIRS, _guard
from .authoring import init, validate


@click.group()
def benchmark() -> None:
    """Author, check and list benchmarks."""


@benchmark.command("list")
@BENCHMARK_DIRS
@_guard
def list_benchmarks(benchmark_dirs: tuple[Path, ...]) -> int:
    """Every benchmark found by id: id, folder and which folder of the search path holds it."""
    from ..catalog import benchmark_entries, search

    with search(benchmarks=benchmark_dirs):
        for e in benchmark_entries():
            click.echo(f"{e.id}\t{e.path}\t{e.where}")
    return 0


benchmark.add_command(init)
benchmark.add_command(validate)
