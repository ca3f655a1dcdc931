"""Adjusted p-values for the many group comparisons of one requirement.

A significance-conditioned flag tests every group against the reference group; with many
groups, some comparison is significant by chance alone. ``significance.adjust`` says how
the family of a requirement's comparisons (every group with a p-value: the eligible groups
other than the reference, those below ``min_support`` included, since they were tested) is
corrected:

- ``none``: each comparison at its own level, as the four-fifths practice is per comparison;
- ``bonferroni``: ``min(1, m p)``, the family-wise error rate at most alpha;
- ``holm``: Holm's step-down procedure, the same guarantee and never less powerful;
- ``benjamini_hochberg``: the Benjamini-Hochberg step-up procedure, the false discovery
  rate at most alpha (for independent or positively dependent comparisons).

An adjusted p-value is the smallest level at which the procedure rejects that comparison,
so "adjusted p < alpha" is the procedure's own decision at level alpha.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["ADJUST_LABELS", "Adjust", "adjust_p_values"]

Adjust = Literal["none", "holm", "bonferroni", "benjamini_hochberg"]
ADJUST_LABELS: dict[str, str] = {"holm": "Holm-adjusted", "bonferroni": "Bonferroni-adjusted",
                                 "benjamini_hochberg": "Benjamini-Hochberg-adjusted"}


def adjust_p_values(p: np.ndarray, method: Adjust) -> np.ndarray:
    """The adjusted p-values of ``p``; NaN entries are not comparisons and stay NaN."""
    p = np.asarray(p, dtype=np.float64)
    out = p.copy()
    tested = np.flatnonzero(np.isfinite(p))
    m = tested.size
    if method == "none" or m == 0:
        return out
    order = tested[np.argsort(p[tested], kind="stable")]
    ranked = p[order]
    rank = np.arange(1, m + 1)
    if method == "bonferroni":
        adjusted = ranked * m
    elif method == "holm":  # step-down: a comparison is rejected only after every smaller p-value is
        adjusted = np.maximum.accumulate(ranked * (m - rank + 1))
    elif method == "benjamini_hochberg":  # step-up: rejected when any larger p-value clears its own step
        adjusted = np.minimum.accumulate((ranked * m / rank)[::-1])[::-1]
    else:
        raise ValueError(f"unknown adjustment {method!r}; expected none, holm, bonferroni or benjamini_hochberg")
    out[order] = np.minimum(adjusted, 1.0)
    return out
