"""Value labels: the card's field and its checks, and where labels are shown (tables, JSON), codes kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import report_bench
from harness.cli import main
from harness.labels import group_text


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("tiny-labels")
    profile, predictions, _ = report_bench.write(folder)
    return folder, profile, predictions


def _card_with(tmp_path: Path, tiny: tuple[Path, Path, Path], labels: Any) -> Path:
    source = tiny[0] / "tiny-report"
    folder = tmp_path / "tiny-report"
    folder.mkdir()
    (folder / "data.csv").write_bytes((source / "data.csv").read_bytes())
    card = yaml.safe_load((source / "benchmark.yaml").read_text())
    card["labels"] = labels
    (folder / "benchmark.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    return folder


def _validate(folder: Path):
    return CliRunner().invoke(main, ["benchmark", "validate", str(folder)])


@pytest.mark.parametrize("labels,message", [
    ({"x1": {"0": "zero"}},
     "labels.x1: column 'x1' is not a sensitive or slice column; expected labels only for the columns groups "
     "are made of (g, frontal)"),
    ({"frontal": {2: "rear impact"}},
     "labels.frontal.2: code '2' is not a value of column 'frontal'; expected one of '0', '1'"),
    ({"frontal": {True: "yes"}},
     "labels: column 'frontal': code True is a bool; expected an integer or a string "
     "(quote codes such as yes, no, 1.5); found {'frontal': {True: 'yes'}}"),
])
def test_a_bad_label_is_refused_with_where_and_what(tmp_path: Path, tiny, labels: Any, message: str) -> None:
    folder = _card_with(tmp_path, tiny, labels)
    done = _validate(folder)
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert "Traceback" not in done.output


def test_integer_and_text_codes_are_the_same_code(tmp_path: Path, tiny) -> None:
    folder = _card_with(tmp_path, tiny, {"frontal": {0: "other", "1": "frontal"}})
    done = _validate(folder)
    assert done.exit_code == 0, done.output


def test_group_text_names_each_labelled_part_of_an_intersection() -> None:
    labels = {"sex": {"f": "female"}, "frontal": {"1": "frontal impact"}}
    assert group_text("sex × frontal", "f × 1", labels) == "female (f) × frontal impact (1)"
    assert group_text("sex × frontal", "m × 0", labels) == "m × 0"
    assert group_text("overall", "all", labels) == "all"
    assert group_text("sex", "f", None) == "f"


def test_the_verdict_table_and_json_show_labels_and_keep_codes(tiny) -> None:
    folder, profile, predictions = tiny
    args = ["run", "--profile", str(profile), "--predictions", str(predictions), "--no-tracking",
            "--out", str(folder / "runs")]
    table = CliRunner().invoke(main, args)
    assert table.exit_code == 1, table.output
    assert "R-frontal  frontal impact (1)  accuracy     0.676" in table.output
    assert "R-sens     group A (a)         sensitivity  0.694" in table.output
    as_json = CliRunner().invoke(main, [*args, "--json"])
    data = json.loads(as_json.stdout)
    frontal = next(r for r in data["requirements"] if r["id"] == "R-frontal")
    assert [(g["group"], g["group_label"]) for g in frontal["groups"]] == [
        ("0", "other impact (0)"), ("1", "frontal impact (1)")]
    assert data["benchmark"]["labels"]["frontal"] == {"0": "other impact", "1": "frontal impact"}
