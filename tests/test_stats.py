"""Atom tables and group cells against direct counts of the rows."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from harness import stats
from harness.metrics import METRICS, Cells
from harness.stats import UNKNOWN, build_atoms, family_cells


def make_rows(seed: int, n: int = 800, *, missing: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "sex": rng.choice(["m", "f"], n, p=[0.45, 0.55]),
        "race": rng.choice(["white", "black", "asian", "other"], n),
        "band": rng.choice([1, 2, 10], n).astype(float),  # numeric column, sorted as text
        "y": rng.integers(0, 2, n),
        "d": rng.integers(0, 2, n),
        "s": np.round(rng.random(n), 1),
        "w": rng.choice([0.5, 1.0, 2.25, 7.0], n),
    })
    if missing:
        frame.loc[rng.choice(n, 37, replace=False), "race"] = None
        frame.loc[rng.choice(n, 23, replace=False), "band"] = np.nan
        frame["sex"] = frame["sex"].astype("str")
        frame.loc[rng.choice(n, 11, replace=False), "sex"] = np.nan
    return frame


def atoms(frame: pd.DataFrame, columns=("sex", "race", "band"), *, score=True, weight=True):
    return build_atoms(frame[list(columns)], frame["y"].to_numpy(), frame["d"].to_numpy(),
                       score=frame["s"].to_numpy() if score else None,
                       weight=frame["w"].to_numpy() if weight else None)


def test_atom_counts_equal_row_counts_per_group_label_decision() -> None:
    frame = make_rows(0)
    table = atoms(frame)
    assert table.n_rows == len(frame)
    want = Counter(zip(frame["sex"], frame["race"], frame["y"], frame["d"]))
    got: Counter = Counter()
    for sex, race, y, d, c in zip(table.keys["sex"], table.keys["race"], table.label, table.decision, table.count):
        got[(sex, race, int(y), int(d))] += int(c)
    assert got == want


def test_weights_are_preserved() -> None:
    frame = make_rows(1)
    table = atoms(frame)
    assert float((table.count * table.weight).sum()) == pytest.approx(frame["w"].sum(), rel=1e-12)
    per_sex = pd.Series(table.count * table.weight).groupby(table.keys["sex"].to_numpy()).sum()
    pd.testing.assert_series_equal(per_sex, frame.groupby("sex")["w"].sum(), check_names=False, rtol=1e-12)


def test_conf_matrix_cells_equal_crosstab() -> None:
    frame = make_rows(2)
    table = atoms(frame)
    gc = family_cells(table, ["race"])
    for weighted in (False, True):
        conf = gc.conf(table, table.count, weighted=weighted)
        want = frame.pivot_table(index="race", columns=["y", "d"], values="w",
                                 aggfunc="sum" if weighted else "count", fill_value=0)
        np.testing.assert_allclose(conf.reshape(gc.n_groups, 4), want.loc[gc.groups].to_numpy(), rtol=1e-12)


def test_atom_table_is_the_same_for_shuffled_rows() -> None:
    frame = make_rows(3)
    shuffled = frame.sample(frac=1.0, random_state=np.random.default_rng(5)).reset_index(drop=True)
    a, b = atoms(frame), atoms(shuffled)
    pd.testing.assert_frame_equal(a.keys, b.keys, check_exact=True)
    for field in ("label", "decision", "score_bin", "weight", "count"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    np.testing.assert_array_equal(a.grid.values, b.grid.values)
    assert a.grid.exact and b.grid.exact


# More distinct scores than any exact grid keeps (50,000 at HEAD 3b7240d), so scores are binned.
MANY_SCORES = 120_000


# The bug lives in stats._score_grid; a rewrite of stats.py under way at the time of writing bins
# by the score alone and drops that function, so the marker applies only while it exists and the
# test then checks the invariant plainly.


@pytest.mark.xfail(hasattr(stats, "_score_grid"), strict=True, reason=(
    "stats._score_grid: with more distinct scores than MAX_EXACT_BINS each bin's representative "
    "score is np.bincount(idx, weights=score) / count, a float sum in row order, so the grid (and "
    "every score metric computed from it) changes in the last bits when the rows are shuffled"))
def test_binned_score_grid_is_the_same_for_shuffled_rows() -> None:
    rng = np.random.default_rng(0)
    s = rng.random(MANY_SCORES)
    y = (rng.random(MANY_SCORES) < s).astype(np.int8)
    order = rng.permutation(MANY_SCORES)
    no_groups = pd.DataFrame(index=range(MANY_SCORES))
    a = build_atoms(no_groups, y, y, score=s)
    b = build_atoms(no_groups, y[order], y[order], score=s[order])
    assert not a.grid.exact and a.grid.values.size < MANY_SCORES
    np.testing.assert_array_equal(a.score_bin, b.score_bin)
    np.testing.assert_array_equal(a.grid.values, b.grid.values)


def test_family_cells_sorted_names_intersections_and_unknown_rows() -> None:
    frame = make_rows(4, missing=True)
    table = atoms(frame)
    race = family_cells(table, ["race"])
    assert race.family == "race"
    assert race.groups == ["asian", "black", "other", "white"]  # UNKNOWN is not a group
    assert (table.keys["race"] == UNKNOWN).any()
    assert race.unknown_rows(table) == frame["race"].isna().sum() == 37
    band = family_cells(table, ["band"])
    assert band.groups == ["1.0", "10.0", "2.0"]  # text order
    assert band.unknown_rows(table) == 23
    both = family_cells(table, ["sex", "race"])
    assert both.family == "sex × race"
    want = sorted({f"{s} × {r}" for s, r in zip(frame["sex"], frame["race"]) if pd.notna(s) and pd.notna(r)})
    assert both.groups == want and len(want) == 8
    assert both.unknown_rows(table) == frame[["sex", "race"]].isna().any(axis=1).sum()
    parts = {part for name in both.groups for part in name.split(" × ")}
    assert parts == {"f", "m", "asian", "black", "other", "white"}  # no UNKNOWN, "nan", "<NA>", "None"
    # every row is in exactly one group or unknown
    conf = both.conf(table, table.count, weighted=False).reshape(both.n_groups, 4)
    assert conf.sum() + both.unknown_rows(table) == len(frame)
    counted = conf.sum(axis=1)
    known = frame.dropna(subset=["sex", "race"])
    np.testing.assert_array_equal(counted, known.groupby(known["sex"] + " × " + known["race"]).size()[both.groups])


def test_family_without_columns_is_overall() -> None:
    table = atoms(make_rows(5, missing=True))
    gc = family_cells(table, [])
    assert (gc.family, gc.groups, gc.unknown_rows(table)) == ("overall", ["all"], 0)


def test_score_grid_is_exact_for_few_distinct_values() -> None:
    frame = make_rows(6)
    table = atoms(frame)
    assert table.grid.exact
    np.testing.assert_array_equal(table.grid.values, np.unique(frame["s"]))
    assert atoms(frame, score=False).grid is None


@pytest.mark.parametrize("weighted", [False, True])
def test_auroc_from_exact_histograms_equals_sklearn(weighted: bool) -> None:
    rng = np.random.default_rng(7)
    frame = make_rows(7, n=3000)
    frame["y"] = (rng.random(len(frame)) < 0.2 + 0.6 * frame["s"]).astype(int)  # informative, tied scores
    table = atoms(frame)
    gc = family_cells(table, ["race"])
    hist = gc.hist(table, table.count, weighted=weighted)
    conf = gc.conf(table, table.count, weighted=weighted)
    got = METRICS["auroc"].fn(Cells(conf, hist, table.grid.values))
    for i, name in enumerate(gc.groups):
        part = frame[frame["race"] == name]
        want = roc_auc_score(part["y"], part["s"], sample_weight=part["w"] if weighted else None)
        assert got[i] == pytest.approx(want, abs=1e-12), name
        assert 0.6 < want < 0.9


def test_binned_score_metrics_stay_within_the_documented_bounds() -> None:
    """README: AUROC within half the share of positive-negative pairs sharing a bin, Brier within h,
    ECE within h/2 (bins nested in tenths), observed/expected within h / (2 x mean score)."""
    from sklearn.metrics import brier_score_loss

    from harness.measurements import measure
    from harness.profile import parse_profile
    from harness.stats import GridSpec

    rng = np.random.default_rng(12)
    n, bins = 40_000, 200
    s = rng.beta(2, 5, n)
    y = (rng.random(n) < s).astype(int)
    table = build_atoms(pd.DataFrame({"g": ["a"] * n}), y, y, score=s, spec=GridSpec(bins=bins))
    assert not table.grid.exact
    profile = parse_profile(
        "id: b\nversion: 1\ntitle: t\nsector: t\nauthority: t\nlegal_basis: [t]\n"
        "effective_from: 2026-01-01\nenforcement_from: 2026-01-01\n"
        f"benchmark: {{id: none, sha256: '{'0' * 64}'}}\ntask: binary_classification\n"
        "inference: {bootstrap: {replicates: 100, seed: 1}, score_bins: 200}\nrequirements:\n"
        + "".join(f"  - {{id: {m}, title: t, metric: {m}}}\n" for m in ("auroc", "brier", "ece", "oe_ratio")))
    got = measure(profile, table)[0].set_index("requirement")["value"]
    h = 1 / bins
    idx = np.minimum((s * bins).astype(int), bins - 1)
    pos, neg = np.bincount(idx[y == 1], minlength=bins), np.bincount(idx[y == 0], minlength=bins)
    shared = (pos * neg).sum() / (pos.sum() * neg.sum())
    assert abs(got["auroc"] - roc_auc_score(y, s)) <= 0.5 * shared
    assert abs(got["brier"] - brier_score_loss(y, s)) <= h
    edges = np.minimum((s * 10).astype(int), 9)
    ece = sum(abs(y[edges == k].sum() - s[edges == k].sum()) for k in range(10)) / n
    assert abs(got["ece"] - ece) <= h / 2
    assert abs(got["oe_ratio"] - y.sum() / s.sum()) <= (h / (2 * s.mean())) * got["oe_ratio"]
