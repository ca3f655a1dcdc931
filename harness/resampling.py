"""Intervals and tests: analytic intervals for proportions, the multinomial cell bootstrap.

The bootstrap draws atom counts from Multinomial(N, count / N), which is in
distribution exactly a row bootstrap (every row of an atom is interchangeable for
every statistic we compute). Replicates are drawn in batches, each from a generator
seeded from the profile's seed and the batch's number, so a rerun with the same seed is
identical bit for bit (on any number of threads) and memory stays bounded by
``batch * atoms`` per thread.

Drawing the multinomial. numpy's ``multinomial`` draws one conditional binomial per atom,
about 70 to 100 ns each on the machine of perf/README.md. ``Multinomial`` below is exact
and several times faster: it draws independent Poisson counts with means ``count * L / N``
for a total mean L = N - 4 sqrt(N), then adds the N - S rows still missing (S the Poisson
total) as N - S rows drawn uniformly from the benchmark. Given S = s, Poisson counts are
Multinomial(s, p) (p = count / N), and adding an independent Multinomial(N - s, p) gives
Multinomial(N, p), whatever s; a replicate whose Poisson total exceeds N (probability
about 3e-5) is drawn again, which conditions on S <= N and so keeps the result exact. The
Poisson counts come from inverting each distinct mean's cumulative distribution (atoms
share few distinct counts), one uniform number per atom; large means use numpy's Poisson
sampler.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

__all__ = [
    "bca_interval",
    "bootstrap_t_interval",
    "clopper_pearson",
    "cluster_z_p",
    "fisher_exact_p",
    "jackknife_counts",
    "katz_log_ratio",
    "Multinomial",
    "percentile_interval",
    "replicate_counts",
    "Replicates",
    "two_proportion_z_p",
    "wilson",
]

_BATCH_CELLS = 1_000_000  # replicate × atom integers held at once per thread (faster than 4,000,000 in perf/)


# The normal, beta and Poisson functions come from scipy.special: they are what scipy.stats'
# norm, beta and poisson compute with (the same values bit for bit, tests/test_startup.py),
# without importing scipy.stats, which costs a run more than any other import (perf/README.md).


def _z(confidence: float) -> float:
    from scipy import special

    return float(special.ndtri(0.5 + confidence / 2))


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
    from scipy import special

    x, n = np.asarray(x, float), np.asarray(n, float)
    a = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        lo = np.where(x > 0, special.betaincinv(x, n - x + 1, a), 0.0)
        hi = np.where(x < n, special.betaincinv(x + 1, n - x, 1 - a), 1.0)
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
    from scipy import special

    if min(n1, n2) <= 0:
        return float("nan")
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return float(2 * special.ndtr(-abs(z)))


def cluster_z_p(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> float:
    """Two-sided p-value of a cluster-robust (Wald) test of two proportions.

    Arguments are per-cluster totals, one entry per cluster of the benchmark (zero where
    a cluster has no rows of the group). Each rate is a ratio estimator; the variance of
    their difference is the linearised (sandwich) estimator over clusters with the
    small-sample factor C / (C - 1), C the clusters with rows of either group. Groups that
    share clusters (résumés of both groups sent to one job ad) get their covariance,
    which a row-level test ignores. With one row per cluster it is the unpooled Wald test
    times C / (C - 1). It equals the cluster-robust (CR1 without the (N-1)/(N-k) factor)
    standard error of the slope of a regression of the outcome on a group indicator.
    """
    from scipy import special

    x1, n1, x2, n2 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x2, n2))
    big_n1, big_n2 = n1.sum(), n2.sum()
    used = (n1 + n2) > 0
    c = int(used.sum())
    if min(big_n1, big_n2) <= 0 or c < 2:
        return float("nan")
    p1, p2 = x1.sum() / big_n1, x2.sum() / big_n2
    d = (x1 - p1 * n1) / big_n1 - (x2 - p2 * n2) / big_n2
    var = c / (c - 1) * float(np.sum(d[used] ** 2))
    if var <= 0:  # every cluster at its group's rate (e.g. 1 vs 0): residuals at the pooled rate instead
        pooled = (x1.sum() + x2.sum()) / (big_n1 + big_n2)
        d = (x1 - pooled * n1) / big_n1 - (x2 - pooled * n2) / big_n2
        var = c / (c - 1) * float(np.sum(d[used] ** 2))
    if var <= 0:
        return 1.0
    return float(2 * special.ndtr(-(abs(p1 - p2) / np.sqrt(var))))


def fisher_exact_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2x2 table."""
    from scipy import stats as st

    if min(n1, n2) <= 0:
        return float("nan")
    table = [[int(x1), int(n1 - x1)], [int(x2), int(n2 - x2)]]
    return float(st.fisher_exact(table, alternative="two-sided").pvalue)


class Replicates:
    """Bootstrap atom counts in batches of shape (batch, atoms), each batch from its own seeded stream.

    Rows (the default): one multinomial over atoms, total fixed at N. Clusters: draw the
    clusters with replacement (a multinomial over clusters with equal probabilities) and
    give each atom its cluster's draw times its count. Strata: one multinomial per stratum,
    so every stratum keeps its size. Batch ``i`` draws from a generator seeded with child
    ``i`` of ``SeedSequence(seed)``, and batch sizes depend only on the replicates and the
    atoms, so batches drawn in any order, or on several threads at once, are the same.
    """

    def __init__(self, count: np.ndarray, *, replicates: int, seed: int, cluster: np.ndarray | None = None,
                 strata: np.ndarray | None = None) -> None:
        self.count = np.asarray(count, dtype=np.int64)
        self.cluster = cluster
        if cluster is not None:
            width = int(cluster.max(initial=0)) + 1
            self.parts = [(None, Multinomial(np.ones(width, dtype=np.int64)))]
        elif strata is not None:
            width = self.count.size
            self.parts = [(idx, Multinomial(self.count[idx]))
                          for idx in (np.flatnonzero(strata == s) for s in np.unique(strata))]
        else:
            width = self.count.size
            self.parts = [(None, Multinomial(self.count))]
        batch = max(1, min(replicates, _BATCH_CELLS // max(1, width)))
        self.sizes = [min(batch, replicates - done) for done in range(0, replicates, batch)]
        self.seeds = np.random.SeedSequence(seed).spawn(len(self.sizes))

    def __len__(self) -> int:
        return len(self.sizes)

    def batch(self, i: int) -> np.ndarray:
        rng, size = np.random.default_rng(self.seeds[i]), self.sizes[i]
        if self.cluster is not None:
            return self.parts[0][1](rng, size)[:, self.cluster] * self.count
        if len(self.parts) == 1 and self.parts[0][0] is None:
            return self.parts[0][1](rng, size)
        out = np.zeros((size, self.count.size), dtype=np.int64)
        for idx, draw in self.parts:
            out[:, idx] = draw(rng, size)
        return out


def replicate_counts(count: np.ndarray, *, replicates: int, seed: int, cluster: np.ndarray | None = None,
                     strata: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """The batches of ``Replicates``, in order."""
    reps = Replicates(count, replicates=replicates, seed=seed, cluster=cluster, strata=strata)
    for i in range(len(reps)):
        yield reps.batch(i)


POISSON_MARGIN = 4.0  # the Poisson total's mean sits this many standard deviations below N
_MIN_ROWS = 100  # below this many rows, numpy's multinomial
_TABLE_MEAN = 256.0  # Poisson means up to this are drawn by inversion of a table


class Multinomial:
    """Exact draws of Multinomial(N, count / N) over atoms, N = count.sum() (see the module notes)."""

    def __init__(self, count: np.ndarray) -> None:
        self.count = np.asarray(count, dtype=np.int64)
        self.n = int(self.count.sum())
        self.fast = self.n >= _MIN_ROWS
        if self.fast:
            self.scale = (self.n - POISSON_MARGIN * np.sqrt(self.n)) / self.n
            self.ends = np.cumsum(self.count)  # rows 0..N-1 in atom order: atom j holds ends[j-1]..ends[j]-1
            self.buckets = 1 << int(np.ceil(np.log2(4 * self.count.size)))
            first_rows = -(-np.arange(self.buckets, dtype=np.int64) * self.n // self.buckets)
            self.guide = np.searchsorted(self.ends, first_rows, side="right")  # atom of each bucket's first row
            self.inverse = _PoissonInverse(self.count * self.scale)

    def __call__(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.n == 0:
            return np.zeros((size, self.count.size), dtype=np.int64)
        if not self.fast:
            return rng.multinomial(self.n, self.count / self.n, size=size)
        out = self.inverse(rng, size)
        missing = self.n - out.sum(axis=1)
        while (over := missing < 0).any():  # Poisson total above N: draw those replicates again
            out[over] = self.inverse(rng, int(over.sum()))
            missing = self.n - out.sum(axis=1)
        atom = self._atoms_of(rng.integers(0, self.n, size=int(missing.sum())))
        flat = np.repeat(np.arange(size, dtype=np.int64) * self.count.size, missing) + atom
        np.add.at(out.reshape(-1), flat, 1)
        return out

    def _atoms_of(self, rows: np.ndarray) -> np.ndarray:
        """The atom holding each row: the atom of its bucket's first row, then walk up (few steps)."""
        atom = self.guide[rows * self.buckets // self.n]
        rest = np.flatnonzero(self.ends[atom] <= rows)
        while rest.size:
            atom[rest] += 1
            rest = rest[self.ends[atom[rest]] <= rows[rest]]
        return atom


class _PoissonInverse:
    """Independent Poisson(mean) per atom by inversion: one uniform u per draw, X = #{k: F(k) <= u}.

    Atoms with equal means share one table F; all tables sit end to end in ``cdf``. A guide
    table per mean (Chen & Asau 1974), 2^m entries, gives for each u a start no later than
    X: entry j is #{k: F(k) <= j / 2^m}, and u * 2^m is exact in binary floating point, so
    floor(u * 2^m) / 2^m <= u. A few vectorised steps then walk up to X. Means above
    ``_TABLE_MEAN`` (few atoms: large counts) use numpy's Poisson sampler.
    """

    def __init__(self, mean: np.ndarray) -> None:
        self.mean = mean
        self.big = np.flatnonzero(mean > _TABLE_MEAN)
        values, inverse = np.unique(np.where(mean > _TABLE_MEAN, 0.0, mean), return_inverse=True)
        cdfs, guides, cdf_at, guide_at, guide_size = [], [], [], [], []
        n_cdf = n_guide = 0
        for v in values:
            cdf = _poisson_cdf(v)
            m = 1 << int(np.ceil(np.log2(4 * cdf.size)))
            guide = np.searchsorted(cdf, np.arange(m) / m, side="right") + n_cdf
            cdf_at.append(n_cdf), guide_at.append(n_guide), guide_size.append(m)
            cdfs.append(cdf), guides.append(guide)
            n_cdf, n_guide = n_cdf + cdf.size, n_guide + m
        self.cdf = np.concatenate(cdfs)
        self.guide = np.concatenate(guides).astype(np.int64)
        self.cdf_at = np.asarray(cdf_at, dtype=np.int64)[inverse]
        self.guide_at = np.asarray(guide_at, dtype=np.int64)[inverse]
        self.guide_size = np.asarray(guide_size, dtype=np.float64)[inverse]

    def __call__(self, rng: np.random.Generator, size: int) -> np.ndarray:
        u = rng.random((size, self.mean.size))
        x = self.guide[(u * self.guide_size).astype(np.int64) + self.guide_at]
        x += self.cdf[x] <= u  # one step over every draw; the few still short walk on alone
        flat_x, flat_u = x.reshape(-1), u.reshape(-1)
        rest = np.flatnonzero(self.cdf[flat_x] <= flat_u)
        while rest.size:
            flat_x[rest] += 1
            rest = rest[self.cdf[flat_x[rest]] <= flat_u[rest]]
        x -= self.cdf_at
        if self.big.size:
            x[:, self.big] = rng.poisson(self.mean[self.big], size=(size, self.big.size))
        return x


def _poisson_cdf(mean: float) -> np.ndarray:
    """P(X <= k) for k = 0, 1, ..., far into the tail, the last entry set to 1 (inversion table)."""
    from scipy import special

    k = np.arange(int(mean + 12 * np.sqrt(mean) + 30))
    cdf = special.pdtr(k, mean)
    cdf[-1] = 1.0
    return cdf


JACKKNIFE_UNITS = 2_000  # beyond this many units, the jackknife leaves out random groups of them


def jackknife_counts(count: np.ndarray, *, cluster: np.ndarray | None = None,
                     seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-out atom counts in batches, with how many rows (or clusters) each stands for.

    Leaving out any one row of an atom gives the same table, so one leave-one-out table per
    atom, weighted by the atom's count, is the full row jackknife; with clusters, one table
    per cluster left out, each of weight 1. With more than ``JACKKNIFE_UNITS`` atoms (or
    clusters) the jackknife is grouped: the rows (or clusters) are split at random, with
    ``seed``, into ``JACKKNIFE_UNITS`` groups of equal size (to one) and each table leaves
    one group out, weight 1. BCa uses the jackknife only for its acceleration, a ratio of
    moments that a delete-a-group jackknife estimates as well (Efron & Tibshirani 1993,
    ch. 11 and 14), at a cost that no longer grows with the benchmark.
    """
    count = np.asarray(count, dtype=np.int64)
    if cluster is None:
        units = np.flatnonzero(count > 0)
        weights = count[units].astype(np.float64)
    else:
        units = np.arange(int(cluster.max(initial=0)) + 1)
        weights = np.ones(units.size)
    if units.size > JACKKNIFE_UNITS:
        yield from _grouped_jackknife(count, cluster, seed)
        return
    batch = max(1, _BATCH_CELLS // max(1, count.size))
    for start in range(0, units.size, batch):
        part = units[start:start + batch]
        counts = np.broadcast_to(count, (part.size, count.size)).copy()
        if cluster is None:
            counts[np.arange(part.size), part] -= 1
        else:
            counts[cluster[None, :] == part[:, None]] = 0
        yield counts, weights[start:start + batch]


def _grouped_jackknife(count: np.ndarray, cluster: np.ndarray | None,
                       seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x6A61636B]))  # its own stream: "jack"
    k = JACKKNIFE_UNITS
    if cluster is None:
        atom_of_row = np.repeat(np.arange(count.size), count)
        shuffled = rng.permutation(atom_of_row.size)  # group j: the rows at positions j, j + k, j + 2k, ...
    else:
        n_clusters = int(cluster.max(initial=0)) + 1
        cluster_group = np.empty(n_clusters, dtype=np.int64)
        cluster_group[rng.permutation(n_clusters)] = np.arange(n_clusters) % k
        atom_group = cluster_group[cluster]
    batch = max(1, _BATCH_CELLS // max(1, count.size))
    for start in range(0, k, batch):
        stop = min(k, start + batch)
        counts = np.broadcast_to(count, (stop - start, count.size)).copy()
        for j in range(start, stop):
            if cluster is None:
                removed = atom_of_row[shuffled[j::k]]
                counts[j - start] -= np.bincount(removed, minlength=count.size)
            else:
                counts[j - start, atom_group == j] = 0
        yield counts, np.ones(stop - start)


def bca_interval(draws: np.ndarray, estimate: np.ndarray, jack: np.ndarray, jack_weight: np.ndarray,
                 confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected and accelerated (BCa) bootstrap interval, per column (Efron 1987).

    ``draws`` (B, G) bootstrap values; ``estimate`` (G,) the point estimate; ``jack`` (J, G)
    jackknife values with weights ``jack_weight`` (J,) for the acceleration.
    """
    from scipy import special

    draws, jack = np.asarray(draws, float), np.asarray(jack, float)
    lo, hi = np.full(draws.shape[1:], np.nan), np.full(draws.shape[1:], np.nan)
    z = special.ndtri(np.array([(1 - confidence) / 2, 1 - (1 - confidence) / 2]))
    for g in np.ndindex(draws.shape[1:]):
        col = draws[(slice(None), *g)]
        col = col[np.isfinite(col)]
        theta = estimate[g]
        if col.size == 0 or not np.isfinite(theta):
            continue
        below = (np.sum(col < theta) + 0.5 * np.sum(col == theta)) / col.size
        z0 = special.ndtri(np.clip(below, 1 / (2 * col.size), 1 - 1 / (2 * col.size)))
        accel = _acceleration(jack[(slice(None), *g)], jack_weight)
        adj = special.ndtr(z0 + (z0 + z) / (1 - accel * (z0 + z)))
        lo[g], hi[g] = np.quantile(col, np.nan_to_num(adj, nan=0.5))
    return lo, hi


def bootstrap_t_interval(draws: np.ndarray, draw_se: np.ndarray, estimate: np.ndarray, se: np.ndarray,
                         confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Studentized (bootstrap-t) interval per column (Efron & Tibshirani 1993, ch. 12).

    t* = (value* - estimate) / se* over the replicates; the interval is
    [estimate - t*_(1-a) se, estimate - t*_(a) se]. Replicates whose value or standard
    error is undefined or whose standard error is zero are left out.
    """
    draws, draw_se = np.asarray(draws, float), np.asarray(draw_se, float)
    a = (1 - confidence) / 2
    lo, hi = np.full(draws.shape[1:], np.nan), np.full(draws.shape[1:], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (draws - estimate) / draw_se
    for g in np.ndindex(draws.shape[1:]):
        col = t[(slice(None), *g)]
        col = col[np.isfinite(col)]
        if col.size == 0 or not (np.isfinite(estimate[g]) and np.isfinite(se[g])):
            continue
        t_lo, t_hi = np.quantile(col, [a, 1 - a])
        lo[g], hi[g] = estimate[g] - t_hi * se[g], estimate[g] - t_lo * se[g]
    return lo, hi


def _acceleration(values: np.ndarray, weight: np.ndarray) -> float:
    ok = np.isfinite(values)
    if not ok.any():
        return 0.0
    v, w = values[ok], weight[ok]
    dev = np.sum(w * v) / np.sum(w) - v
    spread = np.sum(w * dev**2)
    return 0.0 if spread == 0 else float(np.sum(w * dev**3) / (6 * spread**1.5))


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
