"""The resampling grid: replicates see scores on a coarser grid; score intervals move to the fine estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from harness.measurements import measure
from harness.metrics import METRICS, Cells
from harness.profile import parse_profile
from harness.resampling import percentile_interval, replicate_counts
from harness.stats import AtomTable, build_atoms, coarse_index, coarsen, family_cells

ROWS = 20_000


def _rows(seed: int = 5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=ROWS, p=[0.3, 0.7])
    y = (rng.random(ROWS) < 0.35).astype(int)
    score = 1 / (1 + np.exp(-(rng.normal(size=ROWS) + 1.2 * y - 0.6 + 0.3 * (group == "a"))))
    return pd.DataFrame({"group": group}), y, (score > 0.5).astype(int), score


def _profile(score_bins: int, replicates: int = 2000) -> object:
    data = {
        "id": "grid", "version": 1, "title": "t", "sector": "t", "authority": "t", "legal_basis": ["t"],
        "effective_from": "2026-01-01", "enforcement_from": "2026-01-01",
        "benchmark": {"id": "none", "sha256": "0" * 64}, "task": "binary_classification",
        "inference": {"bootstrap": {"replicates": replicates, "seed": 4, "score_bins": score_bins}},
        "requirements": [
            {"id": m, "title": m, "metric": m, "groups": ["group"], "interval": "bootstrap_percentile"}
            for m in ("auroc", "brier", "sensitivity")
        ] + [{"id": "slope", "title": "slope", "metric": "calibration_slope", "groups": ["group"]}],
    }
    return parse_profile(yaml.safe_dump(data))


def _conf(table: AtomTable) -> np.ndarray:
    return family_cells(table, ["group"]).conf(table, table.count, weighted=False)


def test_coarsen_merges_scores_only() -> None:
    groups, y, d, s = _rows()
    fine = build_atoms(groups, y, d, score=s)
    coarse = coarsen(fine, 50)
    assert not fine.grid.exact and fine.grid.values.size > 50
    assert coarse.grid.values.size <= 50 and len(coarse.count) < len(fine.count)
    assert coarse.n_rows == fine.n_rows == ROWS
    index = coarse_index(fine, coarse)
    np.testing.assert_array_equal(np.bincount(index, weights=fine.count, minlength=len(coarse.count)), coarse.count)
    np.testing.assert_array_equal(coarse.frame["group"].to_numpy()[index], fine.frame["group"].to_numpy())
    np.testing.assert_array_equal(_conf(coarse), _conf(fine))
    # every row's score moved by at most half a coarse bin: the means agree to 1/100
    assert abs(np.average(coarse.frame["__score"], weights=coarse.count) - s.mean()) <= 0.01
    few = build_atoms(groups, y, d, score=np.round(s, 1))  # 11 distinct scores: kept as they are
    assert coarsen(few, 50) is few


def test_coarsen_widens_the_range_for_scores_outside_it() -> None:
    groups, y, d, s = _rows()
    logits = np.log(s / (1 - s))[:5000]  # outside [0, 1]; 5,000 distinct values stay exact
    fine = build_atoms(groups[:5000], y[:5000], d[:5000], score=logits)
    coarse = coarsen(fine, 100)
    assert coarse.grid.values.min() >= logits.min() and coarse.grid.values.max() <= logits.max()
    assert coarse.grid.values.size <= 100


def _paired(fine: AtomTable, bins: int, metric: str, replicates: int = 1000):
    """Percentile intervals of ``metric`` on the fine grid, and on the coarse grid moved by the point
    estimates' difference, from the same replicates (coarse counts are sums of fine counts)."""
    coarse = coarsen(fine, bins)
    index = coarse_index(fine, coarse)
    fn = METRICS[metric].fn

    def values(table: AtomTable, counts: np.ndarray) -> np.ndarray:
        gc = family_cells(table, ["group"])
        return fn(Cells(gc.conf(table, counts, weighted=False), gc.hist(table, counts, weighted=False),
                        table.grid.values))

    fine_draws = np.concatenate(list(replicate_counts(fine.count, replicates=replicates, seed=9)))
    coarse_draws = np.zeros((replicates, len(coarse.count)), dtype=np.int64)
    np.add.at(coarse_draws.T, index, fine_draws.T)
    lo_f, hi_f = percentile_interval(values(fine, fine_draws), 0.95)
    lo_c, hi_c = percentile_interval(values(coarse, coarse_draws), 0.95)
    shift = values(fine, fine.count) - values(coarse, coarse.count)
    return (lo_f, hi_f), (lo_c + shift, hi_c + shift), shift


@pytest.mark.parametrize("bins", [10, 100])
@pytest.mark.parametrize("metric", ["auroc", "brier", "ece"])
def test_moved_coarse_interval_matches_the_fine_interval_on_the_same_replicates(metric: str, bins: int) -> None:
    groups, y, d, s = _rows()
    fine = build_atoms(groups, y, d, score=s)
    (lo_f, hi_f), (lo_c, hi_c), shift = _paired(fine, bins, metric)
    width = hi_f - lo_f
    assert np.all(width > 0)
    # endpoints agree to 5% of the interval's width even at 10 bins (measured: at most 3%);
    # unmoved, the 10-bin AUROC and Brier intervals are off by up to 30% and 15%
    np.testing.assert_array_less(np.abs(lo_c - lo_f), 0.05 * width)
    np.testing.assert_array_less(np.abs(hi_c - hi_f), 0.05 * width)
    if bins == 10 and metric != "ece":
        assert np.max(np.abs(hi_c - shift - hi_f) / width) > 0.1  # the move is what makes them agree


def test_score_intervals_sit_around_the_reported_value_and_count_metrics_are_untouched() -> None:
    groups, y, d, s = _rows()
    table = build_atoms(groups[:2500], y[:2500], d[:2500], score=s[:2500])  # exact scores
    coarse, _ = measure(_profile(100, 1000), table)
    full, _ = measure(_profile(1_000_000, 1000), table)  # no resampling grid: replicates see the fine scores
    coarse, full = coarse.set_index(["requirement", "group"]), full.set_index(["requirement", "group"])
    pd.testing.assert_series_equal(coarse["value"], full["value"])  # point estimates: the fine grid
    assert (coarse["ci_low"] <= coarse["value"]).all() and (coarse["value"] <= coarse["ci_high"]).all()
    # different replicates (other atoms): intervals agree to Monte Carlo error, 15% of the width
    width = full["ci_high"] - full["ci_low"]
    assert ((coarse["ci_low"] - full["ci_low"]).abs() < 0.15 * width).all()
    assert ((coarse["ci_high"] - full["ci_high"]).abs() < 0.15 * width).all()


def test_scores_that_fit_the_resampling_grid_give_identical_results() -> None:
    groups, y, d, s = _rows()
    table = build_atoms(groups, y, d, score=np.round(s, 2))  # 100 distinct values at most
    pd.testing.assert_frame_equal(measure(_profile(1000), table)[0], measure(_profile(1_000_000), table)[0])
