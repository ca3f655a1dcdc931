"""Readable names of group codes, from the benchmark card's ``labels``.

A group of an intersection is named by its columns' values joined with " × " (as its family
joins the column names); each value with a label reads "label (code)", so a reader sees the
name and can still find the code the evidence keeps.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["Labels", "group_text"]

Labels = Mapping[str, Mapping[str, str]]
_SEP = " × "  # as harness.stats joins family columns and group values


def group_text(family: str, group: str, labels: Labels | None) -> str:
    """``group`` of ``family`` with every labelled code named; unchanged without labels."""
    if not labels or family == "overall":
        return group
    columns, values = family.split(_SEP), group.split(_SEP)
    if len(columns) != len(values):  # a value that itself contains the separator: leave it whole
        return group
    named = []
    for column, value in zip(columns, values):
        label = labels.get(column, {}).get(value)
        named.append(f"{label} ({value})" if label and label != value else value)
    return _SEP.join(named)
