"""What an author checks before writing a profile: the card, its hashes, and group sizes per split."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..benchmark import Benchmark, label_values

SPLITS = ("development", "test")


def group_rows(bench: Benchmark) -> Iterator[tuple[str, str, str, int, int | None, int | None]]:
    """(split, column, value, rows, positives, negatives) for every sensitive and slice column.

    Column ``(all)`` is the whole split; positives and negatives are None for regression.
    """
    card, frame = bench.card, bench.frame
    binary = card.task == "binary_classification"
    y = label_values(card, frame) if binary else None
    for split in SPLITS:
        keep = bench.split == split
        yield (split, "(all)", "", *_counts(keep, y))
        for column in (*card.sensitive, *card.slices):
            values = frame[column].astype(str).where(frame[column].notna(), "(missing)").to_numpy()
            for value in sorted(pd.unique(values)):
                yield (split, column, str(value), *_counts(keep & (values == value), y))


def _counts(mask: np.ndarray, y: np.ndarray | None) -> tuple[int, int | None, int | None]:
    rows = int(mask.sum())
    if y is None:
        return rows, None, None
    positives = int(y[mask].sum())
    return rows, positives, rows - positives


def report_text(bench: Benchmark) -> str:
    """The card on its own (hashes verified) and the table of group sizes per split."""
    card = bench.card
    lines = [f"benchmark {card.id} v{card.version}: {card.title}", f"task: {card.task}; label: "
             f"{card.label.column}" + (f" (positive: {card.label.positive!r})" if card.label.positive is not None else ""),
             f"split: unit {card.split.unit}, test share {card.split.test_share:g}, salt {card.split.salt!r}",
             "files (SHA-256 verified):"]
    lines += [f"  {f.path}: {f.rows} rows, sha256 {digest}" for f, digest in zip(card.files, bench.file_sha256,
                                                                                  strict=True)]
    rows = list(group_rows(bench))
    header = ("split", "column", "value", "rows", "positives", "negatives")
    cells = [header] + [tuple("-" if c is None else str(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines.append("")
    for row in cells:
        lines.append("  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     .rstrip())
    return "\n".join(lines)
