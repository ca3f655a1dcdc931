"""The report's curves and confusion matrices against scikit-learn, and what the report says of them.

The figures are computed from the engine's atoms; every number is checked against
scikit-learn on the same rows (``roc_curve``, ``calibration_curve``, ``confusion_matrix``).
One tiny evaluation (``report_bench``) feeds the rendering tests and a verify round trip.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.calibration import calibration_curve
from sklearn.metrics import confusion_matrix, roc_curve

import report_bench
from harness import evaluate
from harness.cli import main
from harness.profile import load_profile
from harness.report.figures import figures_of, roc_points
from harness.stats import build_atoms


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("tiny-report")
    profile, predictions, rows = report_bench.write(folder)
    result = evaluate(profile, predictions=predictions, out=folder / "out", tracking=False)
    return folder, profile, rows, result


@pytest.fixture(scope="module")
def figures(run):
    folder, profile, rows, _ = run
    loaded = load_profile(profile)
    table = build_atoms(rows[["g", "frontal"]].astype(str), rows["y"].to_numpy(), rows["decision"].to_numpy(),
                        score=rows["score"].to_numpy())
    return figures_of(loaded.profile, table)


@pytest.fixture(scope="module")
def html(run) -> str:
    return (run[3].bundle / "report.html").read_text(encoding="utf-8")


def _group(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    return rows[rows["g"] == name]


def test_roc_points_match_scikit_learn(run, figures) -> None:
    rows = run[2]
    figure = figures["R-auc"]
    assert figure.kind == "roc" and [g.group for g in figure.groups] == ["a", "b"]
    for curves in figure.groups:
        part = _group(rows, curves.group)
        fpr, tpr, _ = roc_curve(part["y"], part["score"], drop_intermediate=False)
        np.testing.assert_allclose(curves.roc.fpr, fpr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(curves.roc.tpr, tpr, rtol=0, atol=1e-12)


def test_roc_of_a_group_without_both_classes_is_empty() -> None:
    assert roc_points(np.array([0.0, 2.0]), np.array([0.0, 0.0])) is None


def test_reliability_bins_match_calibration_curve(run, figures) -> None:
    rows = run[2]
    figure = figures["R-ece"]
    assert figure.kind == "reliability"
    for curves in figure.groups:
        part = _group(rows, curves.group)
        observed, mean_score = calibration_curve(part["y"], part["score"], n_bins=10, strategy="uniform")
        np.testing.assert_allclose([b.observed for b in curves.reliability], observed, rtol=0, atol=1e-12)
        np.testing.assert_allclose([b.mean_score for b in curves.reliability], mean_score, rtol=0, atol=1e-12)
        counts = np.histogram(part["score"], bins=np.linspace(0, 1, 11))[0]
        assert [b.n for b in curves.reliability] == [float(c) for c in counts if c]


def test_confusion_matrices_match_scikit_learn_and_are_drawn_once(run, figures) -> None:
    rows = run[2]
    first, second = figures["R-sens"], figures["R-spec"]
    assert (first.kind, first.shown_in, second.shown_in) == ("confusion", "", "R-sens")
    for curves in first.groups:
        part = _group(rows, curves.group)
        expected = confusion_matrix(part["y"], part["decision"], labels=[0, 1]).ravel()
        assert curves.confusion == tuple(float(c) for c in expected)
    by_frontal = {c.group: c.confusion for c in figures["R-frontal"].groups}
    for code, part in rows.groupby("frontal"):
        assert by_frontal[str(code)] == tuple(float(c) for c in confusion_matrix(part["y"], part["decision"]).ravel())


def test_weighted_confusion_matrices_sum_the_weights(run) -> None:
    rows = run[2]
    weight = np.linspace(0.5, 2.0, len(rows))
    loaded = load_profile(run[1])
    req = loaded.profile.requirements[0].model_copy(update={"weighted": True})
    profile = loaded.profile.model_copy(update={"requirements": (req,)})
    table = build_atoms(rows[["g"]], rows["y"].to_numpy(), rows["decision"].to_numpy(), weight=weight)
    figure = figures_of(profile, table)["R-sens"]
    assert figure.weighted
    for curves in figure.groups:
        mask = (rows["g"] == curves.group).to_numpy()
        expected = confusion_matrix(rows["y"][mask], rows["decision"][mask], sample_weight=weight[mask]).ravel()
        np.testing.assert_allclose(curves.confusion, expected, rtol=1e-12)


def test_the_banner_counts_blocking_requirements_by_outcome(html: str) -> None:
    assert '<p class="verdict-why">Of 5 blocking requirements: 2 failed, 3 passed.</p>' in html


def test_the_dual_rule_draws_both_goals(html: str) -> None:
    chart = html.split('id="req-1-R-sens"')[1].split("</svg>")[0]
    assert ">goal 0.900</text>" in chart and ">bound&#x27;s goal 0.600</text>" in chart
    assert 'stroke-dasharray="5 3"' in chart and 'stroke-dasharray="1.5 2.5"' in chart
    assert "the dashed line is the estimate's goal and the dotted line the goal of the confidence bound" in html


def test_curves_appear_with_each_groups_auroc_and_interval(run, html: str) -> None:
    measured = run[3].measurements.set_index(["requirement", "group"])
    assert html.count('class="chart chart-roc"') == 1
    assert html.count('class="chart chart-reliability"') == 1
    assert html.count('class="chart chart-confusion"') == 2  # g (shared by R-sens and R-spec) and frontal
    for group, name in (("a", "group A (a)"), ("b", "group B (b)")):
        row = measured.loc[("R-auc", group)]
        assert f">{name}: {row['value']:.3f} ({row['ci_low']:.3f} – {row['ci_high']:.3f})</text>" in html
    assert 'The confusion matrices of these groups are drawn under <a href="#req-1-R-sens">R-sens</a>.' in html


def test_value_labels_show_next_to_codes_and_the_evidence_keeps_codes(run, html: str) -> None:
    result = run[3]
    assert '<th scope="row" class="group">frontal impact (1)</th>' in html
    assert '<th scope="row" class="group">group A (a)</th>' in html
    assert set(result.measurements.loc[result.measurements["family"] == "frontal", "group"]) == {"0", "1"}
    stored = pd.read_csv(result.bundle / "measurements.csv")
    assert set(stored.loc[stored["family"] == "frontal", "group"].astype(str)) == {"0", "1"}
    markdown = (result.bundle / "report.md").read_text(encoding="utf-8")
    assert "| frontal | other impact (0) |" in markdown


def test_verify_rebuilds_the_report_with_its_figures(run) -> None:
    folder, _, _, result = run
    done = CliRunner().invoke(main, ["verify", "--no-tracking", "--benchmarks", str(folder), str(result.bundle)])
    assert done.exit_code == 0, done.output
    assert "report.html" in done.output and done.output.rstrip().endswith("verified")


def test_an_edited_figure_is_named_by_verify(run, tmp_path: Path) -> None:
    folder, _, _, result = run
    copy = tmp_path / result.bundle.name
    shutil.copytree(result.bundle, copy)
    report = copy / "report.html"
    text = report.read_text(encoding="utf-8")
    edited = re.sub(r'(class="chart chart-roc".*?<polyline points=")[^"]*', r"\g<1>56,314 356,14", text, count=1,
                    flags=re.DOTALL)
    assert edited != text
    report.write_text(edited, encoding="utf-8")
    done = CliRunner().invoke(main, ["verify", "--no-tracking", "--benchmarks", str(folder), str(copy)])
    assert done.exit_code == 1
    assert re.search(r"report\.html: SHA-256 [0-9a-f]{64} differs from the manifest's [0-9a-f]{64}", done.output)


@pytest.mark.parametrize("value,text", [(0.0, "0"), (9_999.0, "9,999"), (13_812.4, "13.8k"), (999_949.0, "999.9k"),
                                        (999_950.0, "1.00M"), (2_987_801.2, "2.99M")])
def test_confusion_counts_are_compact_enough_for_their_cell(value: float, text: str) -> None:
    from harness.report.curve_charts import _compact

    assert _compact(value) == text
