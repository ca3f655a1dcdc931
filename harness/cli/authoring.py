"""Commands for benchmark authors: ``oversight benchmark init`` and ``oversight benchmark validate``."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import _guard, emit


def _names(value: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


@click.command("init")
@click.argument("data_files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--id", "bench_id", required=True, help="Benchmark id: lower case letters, digits, '.', '_', '-'.")
@click.option("--label", required=True, help="The outcome column.")
@click.option("--positive", help="The label value that counts as 1 (inferred for 0/1 labels).")
@click.option("--id-column", help="Column that keys the rows (default: the line number).")
@click.option("--sensitive", help="Comma-separated sensitive columns (seen by a model only where a profile allows).")
@click.option("--cluster", help="Column of units that are split and resampled together.")
@click.option("--weight", help="Survey weight column.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the card (default: the first file's folder).")
@_guard
def init(data_files: tuple[Path, ...], bench_id: str, label: str, positive: str | None, id_column: str | None,
         sensitive: str | None, cluster: str | None, weight: str | None, out: Path | None) -> int:
    """Write a draft benchmark.yaml and datasheet README.md that validate as they stand.

    Data files outside --out are copied into it; nothing that exists is overwritten.
    """
    from ..authoring.benchmark_init import Roles, init_benchmark

    roles = Roles(label=label, positive=positive, id_column=id_column, sensitive=_names(sensitive),
                  cluster=cluster, weight=weight)
    card = init_benchmark(list(data_files), bench_id=bench_id, roles=roles, out=out or data_files[0].parent)
    emit(f"wrote {card} and {card.parent / 'README.md'}: replace every TODO, review the column roles, "
         f"then run 'oversight benchmark validate {card.parent}'", code=0)
    return 0


@click.command("validate")
@click.argument("folder", type=click.Path(path_type=Path))
@_guard
def validate(folder: Path) -> int:
    """Check a benchmark (card, hashes, values) and show rows, positives and negatives per group and split."""
    from ..authoring.benchmark_report import report_text
    from ..benchmark import load_benchmark

    emit(report_text(load_benchmark(folder)), code=0)
    return 0
