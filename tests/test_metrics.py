"""The metric table against independent references: scikit-learn, fairlearn and numpy.

Every check goes through ``measure`` (profile -> atoms -> cells -> metric), and every
expected value comes from a library or from rows written here, never from the harness.
Undefined metrics (a zero denominator, one class only) are NaN in the harness; the
references say the same with ``zero_division=np.nan`` or an explicit one-class check.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from scipy.optimize import brentq, minimize
from scipy.special import expit

from harness.benchmark import load_benchmark
from harness.measurements import measure
from harness.metrics import METRICS
from harness.profile import Profile, parse_profile
from harness.stats import build_atoms

ATOL = 1e-12
SEEDS = (0, 1, 2)
# "d" is the tiny group: with 3 rows it sometimes lacks a class, so NaN paths are exercised.
SIZES = {"a": 260, "b": 180, "c": 57, "d": 3}
CLASSIFICATION = sorted(m for m in METRICS if METRICS[m].task == "binary_classification")


# --- data and profiles -------------------------------------------------------------------

def make_rows(seed: int, *, ties: bool, sizes: dict[str, int] = SIZES) -> pd.DataFrame:
    """Rows with a group, a label, a decision, a score in [0, 1] and a survey-like weight."""
    rng = np.random.default_rng(seed)
    g = np.repeat(list(sizes), list(sizes.values()))
    rng.shuffle(g)
    n = g.size
    shift = pd.Series(g).map({"a": 0.0, "b": 0.6, "c": -0.7}).fillna(0.0).to_numpy()
    s = 1 / (1 + np.exp(-(rng.normal(0, 1.2, n) + shift)))
    edge = rng.choice(n, 6, replace=False)
    s[edge] = [0.0, 0.0, 1.0, 1.0, 0.3, 0.7]  # edges of ECE bins
    if ties:
        s = np.round(s, 2)
    y = (rng.random(n) < s).astype(np.int8)
    y[edge[:4]] = [1, 0, 0, 1]  # miscalibrated at 0 and 1, so losing the closed last bin shows in ECE
    d = (s + rng.normal(0, 0.15, n) > 0.5).astype(np.int8)
    w = rng.lognormal(0.0, 0.6, n)
    return pd.DataFrame({"g": g, "y": y, "d": d, "s": s, "w": w})


def make_profile(requirements: list[dict], *, seed: int = 7, replicates: int = 200) -> Profile:
    data = {
        "id": "test-profile", "version": 1, "title": "test", "sector": "test", "authority": "test",
        "legal_basis": ["test"], "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
        "benchmark": {"id": "none", "sha256": "0" * 64}, "task": "binary_classification",
        "inference": {"bootstrap": {"replicates": replicates, "seed": seed}},
        "requirements": requirements,
    }
    return parse_profile(yaml.safe_dump(data, sort_keys=False))


def every_metric(groups: list[str]) -> list[dict]:
    """One requirement per metric of the table, unweighted ('u-') and weighted ('w-')."""
    reqs = []
    for name in CLASSIFICATION:
        reqs.append({"id": f"u-{name}", "title": name, "metric": name, "groups": groups})
        reqs.append({"id": f"w-{name}", "title": name, "metric": name, "groups": groups, "weighted": True})
    return reqs


def run(profile: Profile, rows: pd.DataFrame, groups: tuple[str, ...] = ("g",)) -> pd.DataFrame:
    table = build_atoms(rows[list(groups)], rows["y"].to_numpy(), rows["d"].to_numpy(),
                        score=rows["s"].to_numpy(), weight=rows["w"].to_numpy())
    measurements, _ = measure(profile, table)
    return measurements


# --- references ----------------------------------------------------------------------------
# Each reference maps (rows with columns g, y, d, s, w; weighted) to a Series indexed by group.

Reference = Callable[[pd.DataFrame, bool], pd.Series]


def _per_group(fn: Callable[..., float]) -> Reference:
    def ref(rows: pd.DataFrame, weighted: bool) -> pd.Series:
        out = {}
        for name, part in rows.groupby("g"):
            sw = part["w"].to_numpy() if weighted else None
            out[name] = fn(part["y"].to_numpy(), part["d"].to_numpy(), part["s"].to_numpy(), sw)
        return pd.Series(out, dtype=float)
    return ref


def _fairlearn(metric: Callable, defined: Callable[[pd.Series], bool]) -> Reference:
    """fairlearn's by_group; fairlearn says 0 where a rate is undefined, the harness NaN."""
    def ref(rows: pd.DataFrame, weighted: bool) -> pd.Series:
        params = {"sample_weight": rows["w"].to_numpy()} if weighted else None
        frame = MetricFrame(metrics=metric, y_true=rows["y"], y_pred=rows["d"],
                            sensitive_features=rows["g"], sample_params=params)
        ok = rows.groupby("g")["y"].agg(defined)
        return frame.by_group.astype(float).where(ok)
    return ref


def _one_class(y: np.ndarray) -> bool:
    return np.unique(y).size < 2


def _cm(y, d, sw) -> np.ndarray:
    return confusion_matrix(y, d, labels=[0, 1], sample_weight=sw).ravel()  # tn, fp, fn, tp


def _prevalence(y, d, s, sw) -> float:
    tn, fp, fn, tp = _cm(y, d, sw)
    return (fn + tp) / (tn + fp + fn + tp)


def _npv(y, d, s, sw) -> float:
    return precision_score(y, d, pos_label=0, sample_weight=sw, zero_division=np.nan)


def _balanced(y, d, s, sw) -> float:
    # sklearn averages the recall of the classes present; with one class the harness says NaN.
    return np.nan if _one_class(y) else balanced_accuracy_score(y, d, sample_weight=sw)


def _auroc(y, d, s, sw) -> float:
    return np.nan if _one_class(y) else roc_auc_score(y, s, sample_weight=sw)


def _ece(y, d, s, sw) -> float:
    """Textbook ECE: sum over 10 equal-width bins of (bin share) x |mean label - mean score|.

    Edges are k/10; a score written 0.30 falls in [0.3, 0.4); 1.0 falls in the last bin.
    """
    w = np.ones(len(y)) if sw is None else sw
    edges = np.arange(11) / 10
    b = np.minimum(np.searchsorted(edges, s, side="right") - 1, 9)
    ece = 0.0
    for k in range(10):
        m = b == k
        if m.any():
            gap = np.average(y[m], weights=w[m]) - np.average(s[m], weights=w[m])
            ece += w[m].sum() / w.sum() * abs(gap)
    return ece


def _oe(y, d, s, sw) -> float:
    w = np.ones(len(y)) if sw is None else sw
    expected = np.sum(w * s)
    return np.sum(w * y) / expected if expected > 0 else np.nan


def _average_precision(y, d, s, sw) -> float:
    return np.nan if not (y == 1).any() else average_precision_score(y, s, sample_weight=sw)


def _scoring_rate(rows: pd.DataFrame, weighted: bool) -> pd.Series:
    """LL144: share of each group scoring strictly above the median of the full sample (numpy's median)."""
    above = (rows["s"] > np.median(rows["s"])).astype(float)
    w = rows["w"] if weighted else pd.Series(1.0, index=rows.index)
    return (above * w).groupby(rows["g"]).sum() / w.groupby(rows["g"]).sum()


def _logit(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 1e-12, 1 - 1e-12)
    return np.log(s / (1 - s))


def _calibration_slope(y, d, s, sw) -> float:
    """Slope of logit P(y=1) = a + b logit(s): maximum likelihood by scipy's trust-region Newton."""
    if _one_class(y):
        return np.nan
    w, x = (np.ones(len(y)) if sw is None else sw), _logit(s)

    def nll(theta):
        eta = theta[0] + theta[1] * x
        return np.sum(w * (np.logaddexp(0, eta) - y * eta))

    def grad(theta):
        r = w * (expit(theta[0] + theta[1] * x) - y)
        return np.array([r.sum(), (r * x).sum()])

    def hess(theta):
        p = expit(theta[0] + theta[1] * x)
        v = w * p * (1 - p)
        return np.array([[v.sum(), (v * x).sum()], [(v * x).sum(), (v * x * x).sum()]])

    fit = minimize(nll, np.array([0.0, 1.0]), jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-12})
    return fit.x[1]


def _calibration_intercept(y, d, s, sw) -> float:
    """Intercept a with logit(s) as an offset: the root of sum w (y - expit(a + logit s)) by Brent's method."""
    if _one_class(y):
        return np.nan
    w, x = (np.ones(len(y)) if sw is None else sw), _logit(s)
    return brentq(lambda a: np.sum(w * (y - expit(a + x))), -50, 50, xtol=1e-14)


# Fitted metrics: compared to 1e-7 (two optimisers), and only for groups large enough to fit.
FITTED = {"calibration_slope": 1e-7, "calibration_intercept": 1e-9}

REFERENCES: dict[str, Reference] = {
    "selection_rate": _fairlearn(selection_rate, lambda y: True),
    "sensitivity": _per_group(lambda y, d, s, sw: recall_score(y, d, sample_weight=sw, zero_division=np.nan)),
    "specificity": _per_group(
        lambda y, d, s, sw: recall_score(y, d, pos_label=0, sample_weight=sw, zero_division=np.nan)),
    "fpr": _fairlearn(false_positive_rate, lambda y: bool((y == 0).any())),
    "fnr": _fairlearn(false_negative_rate, lambda y: bool((y == 1).any())),
    "ppv": _per_group(lambda y, d, s, sw: precision_score(y, d, sample_weight=sw, zero_division=np.nan)),
    "npv": _per_group(_npv),
    "accuracy": _per_group(lambda y, d, s, sw: accuracy_score(y, d, sample_weight=sw)),
    "prevalence": _per_group(_prevalence),
    "balanced_accuracy": _per_group(_balanced),
    "f1": _per_group(lambda y, d, s, sw: f1_score(y, d, sample_weight=sw, zero_division=np.nan)),
    "auroc": _per_group(_auroc),
    "brier": _per_group(lambda y, d, s, sw: brier_score_loss(y, s, sample_weight=sw, pos_label=1)),
    "ece": _per_group(_ece),
    "oe_ratio": _per_group(_oe),
    "average_precision": _per_group(_average_precision),
    "scoring_rate": _scoring_rate,
    "calibration_slope": _per_group(_calibration_slope),
    "calibration_intercept": _per_group(_calibration_intercept),
}


def harness_values(measurements: pd.DataFrame, requirement: str) -> pd.Series:
    rows = measurements[measurements["requirement"] == requirement]
    return pd.Series(rows["value"].to_numpy(), index=rows["group"].to_numpy(), dtype=float)


def assert_same(got: pd.Series, want: pd.Series) -> None:
    assert list(got.index) == sorted(want.index), (list(got.index), list(want.index))
    np.testing.assert_allclose(got.to_numpy(), want.loc[got.index].to_numpy(), rtol=0, atol=ATOL)


# --- the whole metric table ---------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def measured(seed: int, ties: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = make_rows(seed, ties=ties)
    return rows, run(make_profile(every_metric(["g"])), rows)


def test_every_reference_is_a_metric() -> None:
    assert sorted(REFERENCES) == CLASSIFICATION


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ties", [True, False], ids=["tied-scores", "continuous-scores"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("metric", CLASSIFICATION)
def test_metric_equals_reference(metric: str, seed: int, ties: bool, weighted: bool) -> None:
    rows, measurements = measured(seed, ties)
    reference = REFERENCES[metric]  # a new metric without a reference fails here
    got = harness_values(measurements, f"{'w' if weighted else 'u'}-{metric}")
    want = reference(rows, weighted)
    if metric in FITTED:
        big = [g for g, n in rows.groupby("g").size().items() if n >= 50]
        np.testing.assert_allclose(got[big].to_numpy(), want[big].to_numpy(), rtol=0, atol=FITTED[metric])
        return
    assert_same(got, want)


def test_data_exercise_ties_bin_edges_and_undefined_values() -> None:
    """The data above really contain what the table test relies on."""
    tied = make_rows(0, ties=True)
    assert tied["s"].nunique() < len(tied) // 2
    assert make_rows(0, ties=False)["s"].nunique() > len(tied) - 10
    assert {0.0, 0.3, 0.7, 1.0} <= set(tied["s"])
    tiny_one_class = [_one_class(make_rows(s, ties=True).query("g == 'd'")["y"].to_numpy()) for s in SEEDS]
    assert any(tiny_one_class), "no seed gives the tiny group a single class"
    assert not all(tiny_one_class)


# --- metrics relative to the other groups --------------------------------------------------

def test_impact_ratio_and_difference_equal_fairlearn() -> None:
    rows = make_rows(11, ties=True, sizes={"a": 400, "b": 250, "c": 60, "d": 25})
    assert rows.groupby("g")["y"].min().eq(0).all() and rows.groupby("g")["y"].max().eq(1).all()
    profile = make_profile([
        {"id": "ir", "title": "ir", "metric": "impact_ratio", "of": "selection_rate", "groups": ["g"]},
        {"id": "diff", "title": "diff", "metric": "difference", "of": "sensitivity", "groups": ["g"]},
    ])
    measurements = run(profile, rows)
    rates = MetricFrame(metrics=selection_rate, y_true=rows["y"], y_pred=rows["d"], sensitive_features=rows["g"])
    impact = harness_values(measurements, "ir")
    assert_same(impact, rates.by_group / rates.by_group.max())
    assert impact.min() == pytest.approx(rates.ratio(method="between_groups"), abs=ATOL)
    tpr = MetricFrame(metrics=true_positive_rate, y_true=rows["y"], y_pred=rows["d"], sensitive_features=rows["g"])
    diff = harness_values(measurements, "diff")
    assert diff.max() == pytest.approx(tpr.difference(method="between_groups"), abs=ATOL)
    assert_same(diff, tpr.by_group.max() - tpr.by_group)


# --- invariance and reproducibility --------------------------------------------------------

def full_profile(seed: int) -> Profile:
    reqs = every_metric(["g"]) + [
        {"id": "ir", "title": "ir", "metric": "impact_ratio", "groups": ["g"]},
        {"id": "diff", "title": "diff", "metric": "difference", "of": "fnr", "groups": ["g"]},
    ]
    return make_profile(reqs, seed=seed)


@pytest.mark.parametrize("ties", [True, False], ids=["tied-scores", "continuous-scores"])
def test_row_order_changes_nothing(ties: bool) -> None:
    rows = make_rows(3, ties=ties)
    shuffled = rows.sample(frac=1.0, random_state=np.random.default_rng(99)).reset_index(drop=True)
    assert not rows["s"].equals(shuffled["s"])
    a, b = run(full_profile(5), rows), run(full_profile(5), shuffled)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert (a["interval"] == "bootstrap_percentile").any() and a["ci_low"].notna().any()


def test_same_seed_same_intervals_other_seed_other_intervals() -> None:
    rows = make_rows(4, ties=True)
    first, again, other = (run(full_profile(s), rows) for s in (5, 5, 6))
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    pd.testing.assert_series_equal(first["value"], other["value"], check_exact=True)
    # The 3-row group has few possible replicates: its percentiles sit on the extremes whatever the seed.
    boot = ((first["interval"] == "bootstrap_percentile") & (first["group"] != "d")
            & (first["ci_low"] < first["ci_high"]))
    assert boot.sum() > 60
    changed = (first["ci_low"] != other["ci_low"]) | (first["ci_high"] != other["ci_high"])
    assert changed[boot].all()
    analytic = first["interval"] == "clopper_pearson"
    pd.testing.assert_frame_equal(first[analytic], other[analytic], check_exact=True)


def test_group_without_positives_gives_nan_not_an_exception() -> None:
    rows = make_rows(8, ties=True, sizes={"a": 200, "z": 40})
    rows.loc[rows["g"] == "z", "y"] = 0
    measurements = run(make_profile(every_metric(["g"])), rows)
    value = measurements.set_index(["requirement", "group"])["value"]
    for name in ("sensitivity", "fnr", "auroc", "balanced_accuracy"):
        for prefix in ("u", "w"):
            assert np.isnan(value[f"{prefix}-{name}", "z"]), name
            assert np.isfinite(value[f"{prefix}-{name}", "a"]), name
    z = rows[rows["g"] == "z"]
    assert value["u-specificity", "z"] == pytest.approx(recall_score(z["y"], z["d"], pos_label=0), abs=ATOL)
    assert value["u-prevalence", "z"] == 0.0
    ci = measurements.set_index(["requirement", "group"]).loc[("u-sensitivity", "z"), ["ci_low", "ci_high"]]
    assert ci.isna().all()


# --- the real benchmarks -------------------------------------------------------------------

def test_resume_audit_callback_rates_by_race_are_the_published_ones() -> None:
    """Bertrand & Mullainathan (2004), Table 1: callback rate 9.65% white, 6.45% black names."""
    bench = load_benchmark("resume-audit-2004")
    frame = bench.frame
    decision = frame["received_callback"].to_numpy()
    table = build_atoms(frame[["race"]], bench.y, decision)
    profile = make_profile([{"id": "sr", "title": "sr", "metric": "selection_rate", "groups": ["race"]}])
    measurements, unknown = measure(profile, table)
    got = harness_values(measurements, "sr")
    assert round(got["white"], 4) == 0.0965
    assert round(got["black"], 4) == 0.0645
    assert unknown == {"race": 0}
    fair = MetricFrame(metrics=selection_rate, y_true=bench.y, y_pred=decision, sensitive_features=frame["race"])
    assert_same(got, fair.by_group)


def benchmark_rows(bench_id: str, group: str, age: str) -> pd.DataFrame:
    """Rows of a real benchmark with the deterministic rule 'age > 70' and score age / 100."""
    bench = load_benchmark(bench_id)
    frame = bench.frame
    ages = frame[age].to_numpy(dtype=float)
    w = bench.weights if bench.weights is not None else np.ones(len(frame))
    return pd.DataFrame({"g": frame[group].astype(str).to_numpy(), "y": bench.y, "d": (ages > 70).astype(np.int8),
                         "s": np.clip(ages / 100, 0, 1), "w": w})


@pytest.mark.parametrize(("bench_id", "group", "age"), [
    ("flchain-mayo", "sex", "age"),
    ("nass-cds-1997-2002", "seatbelt", "ageOFocc"),
])
def test_real_benchmark_metrics_equal_references(bench_id: str, group: str, age: str) -> None:
    rows = benchmark_rows(bench_id, group, age)
    assert rows["g"].nunique() == 2 and rows["y"].sum() > 100 and rows["d"].sum() > 100
    measurements = run(make_profile(every_metric(["g"]), replicates=100), rows)
    for metric, reference in REFERENCES.items():
        for weighted in (False, True):
            got = harness_values(measurements, f"{'w' if weighted else 'u'}-{metric}")
            want = reference(rows, weighted)
            if metric in FITTED:
                np.testing.assert_allclose(got.to_numpy(), want.loc[got.index].to_numpy(), rtol=0,
                                           atol=FITTED[metric], err_msg=metric)
            else:
                assert_same(got, want)


def test_calibration_fit_on_separated_labels_is_undefined() -> None:
    """Scores that separate the labels perfectly have no maximum-likelihood slope: NaN, not a number."""
    rows = pd.DataFrame({"g": ["a"] * 6 + ["b"] * 6, "y": [0, 0, 0, 1, 1, 1] * 2, "d": [0] * 12,
                         "s": [0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.1, 0.8, 0.3, 0.7, 0.2, 0.9], "w": [1.0] * 12})
    m = run(make_profile([{"id": "cs", "title": "t", "metric": "calibration_slope", "groups": ["g"]}],
                         replicates=100), rows)
    values = harness_values(m, "cs")
    assert np.isnan(values["a"])
    assert values["b"] == pytest.approx(_calibration_slope(rows.y[6:].to_numpy(), None, rows.s[6:].to_numpy(), None),
                                        abs=1e-7)
