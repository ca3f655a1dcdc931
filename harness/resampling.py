"""Intervals and tests: analytic intervals for proportions, the multinomial cell bootstrap.

The bootstrap draws atom counts from Multinomial(N, count / N), which is in
distribution exactly a row bootstrap (every row of an atom is interchangeable for
every statistic we compute). Replicates are drawn in batches from one seeded
generator, so a rerun with the same seed is identical bit for bit and memory stays
bounded by ``batch * atoms``.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy import stats as st

__all__ = [
    "clopper_pearson",
    "fisher_exact_p",
    "katz_log_ratio",
    "percentile_interval",
    "replicate_counts",
    "two_proportion_z_p",
    "wilson",
]

_BATCH_CELLS = 4_000_000  # replicate × atom integers held at once


def _z(confidence: float) -> float:
    return float(st.norm.ppf(0.5 + confidence / 2))


def wilson(x: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval; NaN where n == 0."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def clopper_pearson(x: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval from beta quantiles; NaN where n == 0."""
    x, n = np.asarray(x, float), np.asarray(n, float)
    a = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        lo = np.where(x > 0, st.beta.ppf(a, x, n - x + 1), 0.0)
        hi = np.where(x < n, st.beta.ppf(1 - a, x + 1, n - x), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def katz_log_ratio(
    x1: float, n1: float, x2: float, n2: float, confidence: float
) -> tuple[float, float]:
    """Katz log interval for the ratio (x1/n1) / (x2/n2); NaN when a count is zero."""
    if min(x1, x2) <= 0 or min(n1, n2) <= 0:
        return float("nan"), float("nan")
    ratio = (x1 / n1) / (x2 / n2)
    se = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    z = _z(confidence)
    return float(ratio * np.exp(-z * se)), float(ratio * np.exp(z * se))


def two_proportion_z_p(x1: float, n1: float, x2: float, n2: float) -> float:
    """Two-sided p-value of the pooled two-proportion z test."""
    if min(n1, n2) <= 0:
        return float("nan")
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return float(2 * st.norm.sf(abs(z)))


def fisher_exact_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table."""
    if min(n1, n2) <= 0:
        return float("nan")
    table = [[int(x1), int(n1 - x1)], [int(x2), int(n2 - x2)]]
    return float(st.fisher_exact(table, alternative="two-sided").pvalue)


def replicate_counts(count: np.ndarray, *, replicates: int, seed: int) -> Iterator[np.ndarray]:
    """Yield batches of bootstrap atom counts, shape (batch, atoms), row total fixed at N."""
    count = np.asarray(count, dtype=np.int64)
    n = int(count.sum())
    rng = np.random.default_rng(seed)
    p = count / n
    batch = max(1, min(replicates, _BATCH_CELLS // max(1, count.size)))
    done = 0
    while done < replicates:
        size = min(batch, replicates - done)
        yield rng.multinomial(n, p, size=size)
        done += size


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0, ignoring replicates where the metric is undefined."""
    a = (1 - confidence) / 2
    draws = np.asarray(draws, float)
    finite = np.isfinite(draws)
    if finite.all():
        lo, hi = np.quantile(draws, [a, 1 - a], axis=0)
        return lo, hi
    lo = np.full(draws.shape[1:], np.nan)
    hi = np.full(draws.shape[1:], np.nan)
    for idx in np.ndindex(draws.shape[1:]):
        col = draws[(slice(None), *idx)]
        col = col[np.isfinite(col)]
        if col.size:
            lo[idx], hi[idx] = np.quantile(col, [a, 1 - a])
    return lo, hi
