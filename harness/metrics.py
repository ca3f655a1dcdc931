"""The metric table: every metric is a pure vectorised function of group cells.

``Cells.conf`` has shape ``(..., G, 2, 2)`` indexed ``[label, decision]`` and
``Cells.hist`` has shape ``(..., G, 2, S)`` indexed ``[label, score bin]``; the
leading axes are bootstrap replicates (or nothing, for the point estimate). The same
function therefore gives the point estimate and every replicate.

Regression (the outcome is a quantity): ``Cells.moments`` has shape ``(..., G, 8)``,
per group the weighted sums of 1, e, |e|, e², y', y'², [|e| <= tolerance] and e⁴, where
e = prediction - outcome and y' = outcome - c_g, c_g the group's mean outcome over the
benchmark, a constant in every replicate (centring keeps R² accurate when outcomes are
large and close together).

Each metric declares once whether higher or lower is better, and whether it is a
proportion ``x / n`` of counts (which admits the Wilson and Clopper-Pearson intervals),
and the values it can take (``low``, ``high``: [0, 1] unless its entry says otherwise), against
which a profile's thresholds are checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

__all__ = ["CALIBRATION", "Cells", "METRICS", "MOMENTS", "Metric", "RELATIVE", "base_metric", "metric_names",
           "value_range"]

Direction = Literal["higher", "lower", "none"]
Kind = Literal["proportion", "count", "score"]
Task = Literal["binary_classification", "regression"]
ECE_BINS = 10
MOMENTS = ("rows", "error", "abs_error", "sq_error", "outcome", "sq_outcome", "within_tolerance", "fourth_error")
_MN, _ME, _MAE, _MSE, _MY, _MYY, _MTOL, _ME4 = range(len(MOMENTS))


@dataclass(frozen=True)
class Cells:
    conf: np.ndarray | None
    hist: np.ndarray | None = None
    grid: np.ndarray | None = None
    sample: np.ndarray | None = None  # (..., S) scores of the full sample, every group and unknowns
    moments: np.ndarray | None = None  # regression: (..., G, 8), see MOMENTS

    def cell(self, label: int, decision: int) -> np.ndarray:
        return self.conf[..., label, decision]


@dataclass(frozen=True)
class Metric:
    name: str
    title: str
    direction: Direction
    kind: Kind
    fn: Callable[[Cells], np.ndarray]
    parts: Callable[[Cells], tuple[np.ndarray, np.ndarray]] | None = None  # (x, n) of a proportion
    task: Task = "binary_classification"
    interval: str = "bootstrap_percentile"  # the default where analytic intervals do not apply
    se: Callable[[Cells], np.ndarray] | None = None  # standard error from unweighted cells (bootstrap_t)
    low: float | None = 0.0  # the values the metric can take, None where unbounded; thresholds must lie inside
    high: float | None = 1.0

    @property
    def needs_score(self) -> bool:
        return self.kind == "score"


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _proportion(
    name: str, title: str, direction: Direction, num: Callable[[Cells], np.ndarray],
    den: Callable[[Cells], np.ndarray], task: Task = "binary_classification",
) -> Metric:
    def parts(c: Cells) -> tuple[np.ndarray, np.ndarray]:
        return num(c), den(c)

    return Metric(name, title, direction, "proportion", lambda c: _div(num(c), den(c)), parts, task)


def _m(c: Cells, k: int) -> np.ndarray:
    return c.moments[..., k]


def _r2(c: Cells) -> np.ndarray:
    """1 - SSE / SST, SST about the group's own weighted mean (as scikit-learn's r2_score)."""
    n, yy = _m(c, _MN), _m(c, _MYY)
    with np.errstate(divide="ignore", invalid="ignore"):
        sst = yy - np.where(n > 0, _m(c, _MY) ** 2 / np.where(n > 0, n, 1), 0.0)
    constant = sst <= 1e-12 * yy  # every outcome equal (up to rounding): R² is undefined
    return np.where((n > 0) & (sst > 0) & ~constant, 1 - _div(_m(c, _MSE), sst), np.nan)


def _regression(name: str, title: str, direction: Direction, fn: Callable[[Cells], np.ndarray],
                **extra) -> Metric:
    return Metric(name, title, direction, "count", fn, None, "regression", **extra)


def _rmse(c: Cells) -> np.ndarray:
    return np.sqrt(_div(_m(c, _MSE), _m(c, _MN)))


def _rmse_se(c: Cells) -> np.ndarray:
    """Delta-method standard error of the RMSE: sd(e²) / sqrt(n) / (2 RMSE), rows unweighted."""
    n = _m(c, _MN)
    mse = _div(_m(c, _MSE), n)
    var_sq = np.maximum(_div(_m(c, _ME4), n) - mse**2, 0.0)  # variance of e² over the rows
    return _div(np.sqrt(_div(var_sq, n)), 2 * np.sqrt(mse))


def _tn(c: Cells) -> np.ndarray:
    return c.cell(0, 0)


def _fp(c: Cells) -> np.ndarray:
    return c.cell(0, 1)


def _fn(c: Cells) -> np.ndarray:
    return c.cell(1, 0)


def _tp(c: Cells) -> np.ndarray:
    return c.cell(1, 1)


def _all(c: Cells) -> np.ndarray:
    return c.conf.sum(axis=(-2, -1))


def _pos(c: Cells) -> np.ndarray:
    return _tp(c) + _fn(c)


def _neg(c: Cells) -> np.ndarray:
    return _tn(c) + _fp(c)


def _balanced_accuracy(c: Cells) -> np.ndarray:
    return (_div(_tp(c), _pos(c)) + _div(_tn(c), _neg(c))) / 2


def _f1(c: Cells) -> np.ndarray:
    return _div(2 * _tp(c), 2 * _tp(c) + _fp(c) + _fn(c))


def _auroc(c: Cells) -> np.ndarray:
    """Mann-Whitney AUC from label histograms on a shared ascending grid; ties count half."""
    neg, pos = c.hist[..., 0, :], c.hist[..., 1, :]
    below = np.cumsum(neg, axis=-1) - neg
    pairs = (pos * (below + 0.5 * neg)).sum(axis=-1)
    return _div(pairs, pos.sum(axis=-1) * neg.sum(axis=-1))


def _brier(c: Cells) -> np.ndarray:
    g = c.grid
    sq = c.hist[..., 0, :] * g**2 + c.hist[..., 1, :] * (1 - g) ** 2
    return _div(sq.sum(axis=-1), c.hist.sum(axis=(-2, -1)))


def _ece(c: Cells) -> np.ndarray:
    """Expected calibration error, ECE_BINS equal-width bins on [0, 1], last bin closed."""
    bins = np.clip(np.floor(c.grid * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)
    onehot = np.zeros((c.grid.size, ECE_BINS))
    onehot[np.arange(c.grid.size), bins] = 1.0
    total = c.hist.sum(axis=-2)
    observed = c.hist[..., 1, :] @ onehot
    expected = (total * c.grid) @ onehot
    return _div(np.abs(observed - expected).sum(axis=-1), total.sum(axis=-1))


def _oe_ratio(c: Cells) -> np.ndarray:
    observed = c.hist[..., 1, :].sum(axis=-1)
    expected = (c.hist.sum(axis=-2) * c.grid).sum(axis=-1)
    return _div(observed, expected)


def _average_precision(c: Cells) -> np.ndarray:
    """Step-wise average precision over thresholds at each distinct score (as scikit-learn)."""
    neg, pos = c.hist[..., 0, ::-1], c.hist[..., 1, ::-1]  # descending scores
    tp, fp = np.cumsum(pos, axis=-1), np.cumsum(neg, axis=-1)
    total = tp[..., -1:]
    precision = _div(tp, tp + fp)
    gain = _div(pos, np.broadcast_to(total, pos.shape))
    return np.where(total[..., 0] > 0, np.nansum(np.where(pos > 0, gain * precision, 0.0), axis=-1), np.nan)


def _median(sample: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Median of the full sample (mean of the two middle values for an even count)."""
    cum = np.cumsum(sample, axis=-1)
    n = cum[..., -1:]
    lo = np.argmax(cum > np.floor((n - 1) / 2), axis=-1)
    hi = np.argmax(cum > np.ceil((n - 1) / 2), axis=-1)
    return (grid[lo] + grid[hi]) / 2


def _scoring_rate(c: Cells) -> np.ndarray:
    """NYC LL144 scoring rate: share of the group scoring strictly above the full-sample median."""
    median = _median(c.sample, c.grid)[..., None, None, None]
    above = c.grid > median  # (..., 1, 1, S) against hist (..., G, 2, S)
    return _div((c.hist * above).sum(axis=(-2, -1)), c.hist.sum(axis=(-2, -1)))


_EPS = 1e-12


def _loglik(a: np.ndarray, b: np.ndarray, x: np.ndarray, n1: np.ndarray, n: np.ndarray) -> np.ndarray:
    eta = a[..., None] + b[..., None] * x
    return (n1 * eta - n * np.logaddexp(0, eta)).sum(-1)


def _newton_step(a, b, x, n1, n, slope: bool) -> tuple[np.ndarray, np.ndarray]:
    p = 1 / (1 + np.exp(-(a[..., None] + b[..., None] * x)))
    w, r = n * p * (1 - p), n1 - n * p
    if not slope:
        return r.sum(-1) / w.sum(-1), np.zeros_like(a)
    h00, h01, h11 = w.sum(-1), (w * x).sum(-1), (w * x * x).sum(-1)
    g0, g1 = r.sum(-1), (r * x).sum(-1)
    det = h00 * h11 - h01**2
    return (h11 * g0 - h01 * g1) / det, (h00 * g1 - h01 * g0) / det


def _logistic_fit(c: Cells, *, slope: bool) -> tuple[np.ndarray, np.ndarray]:
    """Logistic recalibration logit P(y=1) = a + b logit(p), by Newton's method with step halving.

    With ``slope=False`` the slope is fixed at 1 (logit(p) as an offset): calibration in the
    large. Where the fit does not converge (labels the scores separate perfectly have no
    maximum-likelihood fit) the value is NaN.
    """
    clipped = np.clip(c.grid, _EPS, 1 - _EPS)
    x = np.log(clipped / (1 - clipped))
    n1 = c.hist[..., 1, :]
    n = c.hist.sum(axis=-2)
    ok = (n1.sum(-1) > 0) & (n1.sum(-1) < n.sum(-1))
    a, b = np.zeros(n.shape[:-1]), np.full(n.shape[:-1], 0.0 if slope else 1.0)
    moved = np.full(n.shape[:-1], np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(100):
            da, db = _newton_step(a, b, x, n1, n, slope)
            da, db = np.where(ok, da, 0.0), np.where(ok, db, 0.0)
            base, t = _loglik(a, b, x, n1, n), np.ones_like(a)
            for _ in range(30):  # halve each step until the likelihood does not fall
                worse = ~(_loglik(a + t * da, b + t * db, x, n1, n) >= base - 1e-12 * np.abs(base))
                if not worse.any():
                    break
                t = np.where(worse, t / 2, t)
            a, b = a + t * da, b + t * db
            moved = np.maximum(np.abs(t * da), np.abs(t * db))
            ok &= (np.abs(a) < 1e4) & (np.abs(b) < 1e4)  # diverging: the labels are separated
            if np.all(~ok | (moved < 1e-12)):
                break
    ok &= moved < 1e-9
    return np.where(ok, a, np.nan), np.where(ok, b, np.nan)


def _table() -> dict[str, Metric]:
    p = _proportion
    rows = [
        p("selection_rate", "Selection rate", "none", lambda c: _tp(c) + _fp(c), _all),
        p("sensitivity", "Sensitivity (true positive rate)", "higher", _tp, _pos),
        p("specificity", "Specificity (true negative rate)", "higher", _tn, _neg),
        p("fpr", "False positive rate", "lower", _fp, _neg),
        p("fnr", "False negative rate (miss rate)", "lower", _fn, _pos),
        p("ppv", "Positive predictive value (precision)", "higher", _tp, lambda c: _tp(c) + _fp(c)),
        p("npv", "Negative predictive value", "higher", _tn, lambda c: _tn(c) + _fn(c)),
        p("accuracy", "Accuracy", "higher", lambda c: _tp(c) + _tn(c), _all),
        p("prevalence", "Prevalence (base rate of the label)", "none", _pos, _all),
        Metric("balanced_accuracy", "Balanced accuracy", "higher", "count", _balanced_accuracy),
        Metric("f1", "F1 score", "higher", "count", _f1),
        Metric("auroc", "Area under the ROC curve", "higher", "score", _auroc),
        Metric("brier", "Brier score", "lower", "score", _brier),
        Metric("ece", f"Expected calibration error ({ECE_BINS} equal-width bins)", "lower", "score", _ece),
        Metric("oe_ratio", "Observed / expected events", "none", "score", _oe_ratio, high=None),
        Metric("average_precision", "Average precision", "higher", "score", _average_precision),
        Metric("scoring_rate", "Scoring rate (share above the full-sample median score)", "none", "score",
               _scoring_rate),
        # Fitted slopes are biased in small samples; BCa corrects what the percentile interval
        # repeats (coverage 94.3% against 92.9% at 200 rows: docs/coverage.md).
        Metric("calibration_slope", "Calibration slope (1 is ideal)", "none", "score",
               lambda c: _logistic_fit(c, slope=True)[1], interval="bootstrap_bca", low=None, high=None),
        Metric("calibration_intercept", "Calibration in the large (intercept with logit offset; 0 is ideal)",
               "none", "score", lambda c: _logistic_fit(c, slope=False)[0], interval="bootstrap_bca", low=None,
               high=None),
        _regression("mae", "Mean absolute error", "lower", lambda c: _div(_m(c, _MAE), _m(c, _MN)), high=None),
        # A root of a mean of squares is skewed in small samples; the studentized bootstrap
        # covers where the percentile and BCa intervals fall short (docs/coverage.md).
        _regression("rmse", "Root mean squared error", "lower", _rmse, interval="bootstrap_t", se=_rmse_se,
                    high=None),
        _regression("mean_error", "Mean error, prediction - outcome (bias; 0 is ideal)", "none",
                    lambda c: _div(_m(c, _ME), _m(c, _MN)), low=None, high=None),
        _regression("r2", "Coefficient of determination (R²)", "higher", _r2, low=None),
        p("within_tolerance", "Share of predictions within the tolerance of the outcome", "higher",
          lambda c: _m(c, _MTOL), lambda c: _m(c, _MN), "regression"),
    ]
    return {m.name: m for m in rows}


METRICS: dict[str, Metric] = _table()

# Metrics that read a score as the probability of the label: meaningless on a rank score.
CALIBRATION = frozenset({"brier", "ece", "oe_ratio", "calibration_slope", "calibration_intercept"})

# The selection rate when decision 0 is the favourable one: the share of rows decided 0.
_SELECTED_AT_ZERO = _proportion("selection_rate", "Selection rate (decision 0 is favourable)", "none",
                                lambda c: _tn(c) + _fn(c), _all)


def base_metric(name: str, *, favourable_decision: int = 1) -> Metric:
    """The metric a requirement measures; a selection rate counts the profile's favourable decision."""
    return _SELECTED_AT_ZERO if name == "selection_rate" and favourable_decision == 0 else METRICS[name]


# Metrics of one group relative to the others of its family, built on a base metric.
RELATIVE: dict[str, str] = {
    "impact_ratio": "the group's base value over the best group's, or the best over the group's when lower "
                    "is better (<= 1; the best group is the highest, or the lowest when lower is better)",
    "difference": "distance of the group's base value from the best group's in the base metric's "
                  "direction (>= 0)",
}


def metric_names() -> list[str]:
    return sorted([*METRICS, *RELATIVE])


def value_range(metric: str, base: str) -> tuple[float | None, float | None]:
    """The values ``metric`` (built on ``base`` when it is relative) can take; None is unbounded.

    A difference is a distance between two values of the base metric, so it lies in
    [0, high - low]; an impact ratio of a non-negative base is >= 0 (no upper bound: a ratio
    to a fixed comparator can exceed 1); a ratio of a base that can be negative is unbounded.
    """
    low, high = METRICS[base].low, METRICS[base].high
    if metric == "difference":
        return 0.0, None if low is None or high is None else high - low
    if metric == "impact_ratio":
        return (0.0, None) if low is not None and low >= 0 else (None, None)
    return low, high
