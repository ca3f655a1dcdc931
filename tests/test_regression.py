"""Regression benchmarks: metrics against scikit-learn, intervals, and a run end to end."""

from __future__ import annotations

import os

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

import harness
from harness.errors import PredictionsError, ProfileError
from harness.measurements import measure
from harness.metrics import METRICS
from harness.profile import parse_profile
from harness.stats import build_regression_atoms, merge_atoms

from test_metrics import CLASSIFICATION

REGRESSION = sorted(m for m in METRICS if METRICS[m].task == "regression")
ATOL = 1e-12
TOL = 2.5
SIZES = {"a": 300, "b": 170, "c": 40, "d": 1}  # "d": one row, so R² is undefined there
HEAD = {
    "id": "reg", "version": 1, "title": "t", "sector": "t", "authority": "t", "legal_basis": ["t"],
    "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
}


def make_rows(seed: int, sizes: dict[str, int] = SIZES) -> pd.DataFrame:
    """Outcomes far from 0 (R² would lose digits without centring), group-dependent bias and noise."""
    rng = np.random.default_rng(seed)
    g = np.repeat(list(sizes), list(sizes.values()))
    rng.shuffle(g)
    x = rng.normal(0, 1, g.size)
    y = 1e7 + 12 * x + rng.normal(0, 4, g.size)
    bias = pd.Series(g).map({"a": 0.0, "b": 1.5, "c": -2.0}).fillna(0.0).to_numpy()
    pred = 1e7 + 11 * x + bias + rng.normal(0, 1 + (g == "c") * 2.0, g.size)
    pred[:5] = y[:5] + TOL  # exactly on the tolerance: counted as within
    return pd.DataFrame({"g": g, "x": x, "y": y, "p": pred, "w": rng.lognormal(0, 0.5, g.size)})


def profile(requirements: list[dict], *, task: str = "regression", replicates: int = 300, **inference):
    data = {**HEAD, "benchmark": {"id": "none", "sha256": "0" * 64}, "task": task,
            "inference": {"bootstrap": {"replicates": replicates, "seed": 5}, **inference},
            "requirements": requirements}
    return parse_profile(yaml.safe_dump(data, sort_keys=False))


def every_metric() -> list[dict]:
    reqs = []
    for name in REGRESSION:
        extra = {"tolerance": TOL} if name == "within_tolerance" else {}
        for weighted in (False, True):
            reqs.append({"id": f"{'w' if weighted else 'u'}-{name}", "title": name, "metric": name,
                         "groups": ["g"], "weighted": weighted, **extra})
    return reqs


def run(rows: pd.DataFrame, prof=None) -> pd.DataFrame:
    table = build_regression_atoms(rows[["g"]], rows["y"].to_numpy(), rows["p"].to_numpy(), weight=rows["w"].to_numpy())
    return measure(prof or profile(every_metric()), table)[0]


def _weighted(fn):
    def ref(y, p, w):
        return fn(y, p, sample_weight=w)
    return ref


REFERENCES = {
    "mae": _weighted(mean_absolute_error),
    "rmse": lambda y, p, w: np.sqrt(mean_squared_error(y, p, sample_weight=w)),
    "mean_error": lambda y, p, w: np.average(p - y, weights=w),
    "r2": lambda y, p, w: r2_score(y, p, sample_weight=w) if len(y) > 1 else np.nan,
    "within_tolerance": lambda y, p, w: np.average(np.abs(p - y) <= TOL, weights=w),
}


def test_every_metric_has_a_reference_and_a_task():
    assert sorted(REFERENCES) == REGRESSION
    assert sorted(REGRESSION + CLASSIFICATION) == sorted(METRICS)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("metric", REGRESSION)
def test_regression_metric_equals_reference(metric, seed, weighted):
    rows = make_rows(seed)
    got = run(rows)
    got = got[got["requirement"] == f"{'w' if weighted else 'u'}-{metric}"].set_index("group")["value"]
    for name, part in rows.groupby("g"):
        w = part["w"].to_numpy() if weighted else None
        want = REFERENCES[metric](part["y"].to_numpy(), part["p"].to_numpy(), w)
        if np.isnan(want):
            assert np.isnan(got[name]), (name, got[name])
        else:
            assert got[name] == pytest.approx(want, abs=ATOL, rel=1e-12), (name, got[name], want)


def test_tolerance_edge_counts_as_within_and_outcomes_far_from_zero_keep_r2():
    rows = make_rows(0)
    assert (np.abs(rows["p"] - rows["y"]) == TOL).sum() >= 1
    assert rows["y"].mean() > 1e5 * rows["y"].std()  # without centring, y'² would cancel catastrophically


def test_row_order_and_chunking_change_nothing():
    rows = make_rows(2)
    whole = run(rows)
    shuffled = run(rows.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(whole, shuffled)
    parts = [build_regression_atoms(c[["g"]], c["y"].to_numpy(), c["p"].to_numpy(), weight=c["w"].to_numpy())
             for c in (rows.iloc[i:i + 130] for i in range(0, len(rows), 130))]
    pd.testing.assert_frame_equal(whole, measure(profile(every_metric()), merge_atoms(parts))[0])


def test_intervals_cover_the_estimate_and_within_tolerance_is_a_proportion():
    rows = make_rows(1, sizes={"a": 400, "b": 400})
    out = run(rows).set_index("requirement")
    assert (out["ci_low"] <= out["value"]).all() and (out["value"] <= out["ci_high"]).all()
    assert set(out.loc["u-within_tolerance", "interval"]) == {"clopper_pearson"}
    assert set(out.loc["u-mae", "interval"]) == {"bootstrap_percentile"}
    assert out["positives"].isna().all()  # no positive class in a regression benchmark
    # The bootstrap spread of the MAE matches its standard error from the rows (within Monte-Carlo error).
    a = rows[rows["g"] == "a"]
    se = np.abs(a["p"] - a["y"]).std(ddof=1) / np.sqrt(len(a))
    width = out.loc["u-mae"].set_index("group").loc["a", ["ci_low", "ci_high"]].diff().iloc[-1]
    assert width == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_rmse_defaults_to_the_studentized_bootstrap_computed_as_from_rows():
    """bootstrap_t against a row bootstrap written here with numpy: t* = (rmse* - rmse) / se*."""
    rng = np.random.default_rng(11)
    n, b = 60, 4000
    y = rng.normal(50, 10, n)
    p = y + rng.normal(0.5, 1.0, n)
    rows = pd.DataFrame({"g": "a", "y": y, "p": p, "w": 1.0})
    prof = profile([{"id": "rmse", "title": "t", "metric": "rmse", "groups": ["g"]},
                    {"id": "w-rmse", "title": "t", "metric": "rmse", "groups": ["g"], "weighted": True}],
                   replicates=b)
    out = run(rows, prof).set_index("requirement")
    assert out.loc["rmse", "interval"] == "bootstrap_t"
    assert out.loc["w-rmse", "interval"] == "bootstrap_percentile"  # no standard error for weighted rows

    e = p - y

    def rmse_se(err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = np.sqrt(np.mean(err**2, axis=-1))
        return r, np.std(err**2, axis=-1) / np.sqrt(err.shape[-1]) / (2 * r)

    est, se = rmse_se(e)
    star, se_star = rmse_se(e[rng.integers(0, n, size=(b, n))])
    t_lo, t_hi = np.quantile((star - est) / se_star, [0.025, 0.975])
    want = (est - t_hi * se, est - t_lo * se)
    got = out.loc["rmse", ["ci_low", "ci_high"]].to_numpy(float)
    assert out.loc["rmse", "value"] == pytest.approx(est, rel=1e-12)
    # two independent sets of 4,000 replicates: the endpoints agree to Monte Carlo error (5% of the width)
    np.testing.assert_allclose(got, want, atol=0.05 * (want[1] - want[0]))
    assert got[1] - est > est - got[0]  # the studentized interval reaches further up (the RMSE is skewed)


def test_bootstrap_t_needs_a_metric_with_a_standard_error():
    prof = profile([{"id": "mae", "title": "t", "metric": "mae", "groups": ["g"], "interval": "bootstrap_t"}])
    with pytest.raises(ProfileError) as err:
        run(make_rows(0), prof)
    assert str(err.value) == ("requirement mae: interval 'bootstrap_t' needs an unweighted metric with a "
                              "standard error (rmse), found 'mae'")


def test_difference_of_mae_between_groups():
    rows = make_rows(0, sizes={"a": 300, "b": 300, "c": 300})
    prof = profile([{"id": "gap", "title": "t", "metric": "difference", "of": "mae", "groups": ["g"]}])
    got = run(rows, prof).set_index("group")["value"]
    mae = rows.groupby("g").apply(lambda p: mean_absolute_error(p["y"], p["p"]))
    assert got.to_dict() == pytest.approx((mae - mae.min()).to_dict(), abs=ATOL)


def _problems(requirements, task):
    with pytest.raises(ProfileError) as err:
        profile(requirements, task=task)
    return [re.sub(r"^<profile>:\d+: ", "", p) for p in err.value.problems]  # lines depend on the YAML dump


def test_metrics_must_match_the_task():
    assert _problems([{"id": "R", "title": "t", "metric": "mae"}], "binary_classification") == [
        "requirements[0].metric: metric 'mae' is for task 'regression', but the profile's task is "
        "'binary_classification'"]
    assert _problems([{"id": "R", "title": "t", "metric": "impact_ratio", "groups": ["g"]}], "regression") == [
        "requirements[0].of: metric 'selection_rate' is for task 'binary_classification', but the profile's "
        "task is 'regression' (give 'of' with a regression metric)"]
    assert _problems([{"id": "R", "title": "t", "metric": "rmse", "min_support": {"positives": 10}}],
                     "regression") == [
        "requirements[0].min_support: a regression outcome has no positives or negatives; give "
        "min_support.rows only"]


def test_tolerance_goes_with_within_tolerance():
    assert _problems([{"id": "R", "title": "t", "metric": "within_tolerance"}], "regression") == [
        "requirements[0]: metric 'within_tolerance' needs 'tolerance' (the largest accepted |prediction - "
        "outcome|)"]
    assert _problems([{"id": "R", "title": "t", "metric": "mae", "tolerance": 1}], "regression") == [
        "requirements[0]: 'tolerance' only applies to metric 'within_tolerance', found 'mae'"]


# --- a regression benchmark end to end ------------------------------------------------------

def _benchmark(folder: Path, rows: pd.DataFrame) -> str:
    folder.mkdir()
    rows[["x", "g", "y"]].to_csv(folder / "data.csv", index=False)
    sha = hashlib.sha256((folder / "data.csv").read_bytes()).hexdigest()
    card = {
        "id": "synthetic-regression", "version": 1, "title": "Synthetic regression benchmark",
        "task": "regression", "description": "Outcome y, one feature x, a group g.",
        "files": [{"path": "data.csv", "sha256": sha, "format": "csv", "rows": len(rows)}],
        "id_column": None, "label": {"column": "y"}, "features": ["x"], "sensitive": ["g"], "slices": [],
        "weight": None, "cluster": None, "dropped": [],
        "split": {"unit": "row", "test_share": 0.5, "salt": "synthetic-regression/v1"},
        "source": {"name": "tests", "url": "none", "retrieved_from": "generated by the test"},
        "citation": "none", "licence": "CC0-1.0",
    }
    (folder / "benchmark.yaml").write_text(yaml.safe_dump(card, sort_keys=False), encoding="utf-8")
    return sha


def _run_profile(tmp_path: Path, bench: Path, sha: str, **threshold) -> Path:
    data = {**HEAD, "benchmark": {"id": "synthetic-regression", "path": os.path.relpath(bench, tmp_path), "sha256": sha,
                          "split": "all"}, "task": "regression",
            "inference": {"bootstrap": {"replicates": 400, "seed": 2}},
            "requirements": [
                {"id": "MAE", "title": "Mean absolute error by group", "metric": "mae", "groups": ["g"],
                 "rule": "bound", "threshold": {"max": threshold.get("mae", 10.0)}},
                {"id": "TOL", "title": "Within 5 of the outcome", "metric": "within_tolerance", "tolerance": 5.0,
                 "rule": "bound", "threshold": {"min": 0.5}},
                {"id": "BIAS", "title": "Bias", "metric": "mean_error", "groups": ["g"]},
            ]}
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_regression_benchmark_end_to_end_with_a_model_and_with_declared_predictions(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERSIGHT_BENCHMARKS", str(tmp_path))  # where verify and diff find it by id
    rows = make_rows(4, sizes={"a": 500, "b": 400, "c": 300})
    sha = _benchmark(tmp_path / "synthetic-regression", rows)
    path = _run_profile(tmp_path, tmp_path / "synthetic-regression", sha)
    model = LinearRegression().fit(rows[["x"]], rows["y"])
    result = harness.evaluate(path, model=model, out=tmp_path / "out", tracking=False)
    assert result.verdict == "compliant"
    mae = result.measurements.query("requirement == 'MAE'").set_index("group")["value"]
    pred = model.predict(rows[["x"]])
    for name, part in rows.assign(q=pred).groupby("g"):
        assert mae[name] == pytest.approx(mean_absolute_error(part["y"], part["q"]), abs=ATOL)
    assert harness.verify_bundle(result.bundle, tracking=False)["ok"]
    declared = tmp_path / "pred.csv"
    pd.DataFrame({"id": np.arange(len(rows)), "prediction": pred}).to_csv(declared, index=False)
    again = harness.evaluate(path, predictions=declared, out=tmp_path / "out2", tracking=False)
    pd.testing.assert_frame_equal(again.measurements, result.measurements)
    strict = _run_profile(tmp_path, tmp_path / "synthetic-regression", sha, mae=1.0)
    assert harness.evaluate(strict, model=model, out=tmp_path / "out3", tracking=False).verdict == "non_compliant"


def test_regression_predictions_errors(tmp_path):
    rows = make_rows(4, sizes={"a": 50, "b": 50})
    sha = _benchmark(tmp_path / "synthetic-regression", rows)
    path = _run_profile(tmp_path, tmp_path / "synthetic-regression", sha)
    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"id": np.arange(len(rows)), "decision": 1}).to_csv(wrong, index=False)
    with pytest.raises(PredictionsError) as err:
        harness.evaluate(path, predictions=wrong, out=tmp_path / "o", tracking=False)
    assert str(err.value) == (f"predictions file {wrong} lacks required column(s) ['prediction']; found columns "
                              "['id', 'decision']; expected id and prediction")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": np.arange(len(rows)), "prediction": ["1.5"] * 3 + ["ten"] + ["2"] * (len(rows) - 4)}
                 ).to_csv(bad, index=False)
    with pytest.raises(PredictionsError) as err:
        harness.evaluate(path, predictions=bad, out=tmp_path / "o", tracking=False)
    assert str(err.value) == (f"predictions file {bad}: prediction is not a finite number on 1 of 100 rows, "
                              "first at lines 5 (id 3): found ['ten']; expected finite numbers")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_profile_and_benchmark_tasks_must_agree(tmp_path):
    rows = make_rows(4, sizes={"a": 50, "b": 50})
    sha = _benchmark(tmp_path / "synthetic-regression", rows)
    path = _run_profile(tmp_path, tmp_path / "synthetic-regression", sha)
    text = path.read_text().replace("task: regression", "task: binary_classification")
    text = text.replace("metric: mae", "metric: accuracy").replace("metric: mean_error", "metric: accuracy")
    text = text.replace("metric: within_tolerance\n  tolerance: 5.0", "metric: accuracy")
    text = text.replace("max: 10.0", "max: 0.5")  # a threshold accuracy can reach
    path.write_text(text)
    with pytest.raises(ProfileError) as err:
        harness.evaluate(path, predictions=tmp_path / "none.csv", out=tmp_path / "o", tracking=False)
    assert err.value.problems == [f"{path}:15: task: the profile's task is 'binary_classification' but benchmark "
                                  "'synthetic-regression' is for 'regression'"]


def test_regression_card_refuses_a_positive_class_and_text_outcomes(tmp_path):
    from harness.benchmark import load_benchmark
    from harness.errors import BenchmarkError

    rows = make_rows(4, sizes={"a": 20, "b": 20})
    rows["y"] = rows["y"].astype(object)
    rows.loc[3, "y"] = "unknown"
    _benchmark(tmp_path / "synthetic-regression", rows)
    with pytest.raises(BenchmarkError, match=r"task 'regression' needs a finite number in 'y' on every row; "
                                             r"1 of 40 rows are not, e\.g\. 'unknown'"):
        load_benchmark(tmp_path / "synthetic-regression")
    card = tmp_path / "synthetic-regression" / "benchmark.yaml"
    card.write_text(card.read_text().replace("label:\n  column: y", "label:\n  column: y\n  positive: 1"))
    with pytest.raises(BenchmarkError, match="task 'regression' has a numeric outcome, not a positive class; "
                                             "found positive: 1"):
        load_benchmark(tmp_path / "synthetic-regression")


@pytest.mark.parametrize("engine", ["stream", "dask"])
def test_regression_engines_equal_local_bit_for_bit(tmp_path, engine):
    rows = make_rows(6, sizes={"a": 700, "b": 500, "c": 300})
    sha = _benchmark(tmp_path / "synthetic-regression", rows)
    path = _run_profile(tmp_path, tmp_path / "synthetic-regression", sha)
    model = LinearRegression().fit(rows[["x"]], rows["y"])
    local = harness.evaluate(path, model=model, out=tmp_path / "local", tracking=False)
    other = harness.evaluate(path, model=model, out=tmp_path / engine, tracking=False, engine=engine,
                             chunk_rows=317)
    pd.testing.assert_frame_equal(other.measurements, local.measurements, check_exact=True)


def test_regression_model_errors_say_what_the_model_returned():
    from harness.errors import ModelError
    from harness.predictors import predict

    inputs = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    ids = np.array([10, 11, 12])

    def broken(frame):
        raise RuntimeError("weights not loaded")

    with pytest.raises(ModelError, match=r"model callable .* failed on 3 rows: RuntimeError: weights not loaded"):
        predict(broken, inputs, ids, task="regression")
    with pytest.raises(PredictionsError, match=r"returned a table with columns \['a', 'b'\]; expected one column "
                                               r"of predicted values"):
        predict(lambda f: pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 3]}), inputs, ids, task="regression")
    with pytest.raises(PredictionsError, match=r"prediction is not a finite number on 1 of 3 rows, first at "
                                               r"positions \[1\] \(ids \[11\]\): found \[inf\]"):
        predict(lambda f: np.array([1.0, np.inf, 2.0]), inputs, ids, task="regression")
    out = predict(lambda f: pd.DataFrame({"yhat": [1.5, 2.5, 3.5]}), inputs, ids, task="regression")
    assert out.value.tolist() == [1.5, 2.5, 3.5] and out.decision is None
    assert out.frame().columns.tolist() == ["id", "prediction"]
