"""Authoring tools: draft benchmark cards, validating them, starting profiles, diffing profiles."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.benchmark import load_benchmark
from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
NHEFS = Path("/work/shared/datasets/health/nhefs.csv.gz")
RESUME = ROOT / "benchmarks/resume-audit-2004/resume.csv.gz"
HEADINGS = ["Motivation", "Composition", "Collection process", "Preprocessing/cleaning/labeling", "Uses",
            "Distribution", "Maintenance"]


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _split_comment(card: str) -> list[str]:
    lines = card.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# Rows per split")))
    return [line for line in lines[start + 1:] if line.startswith("#   ")]


def test_init_on_a_shipped_data_file_writes_a_card_that_loads(tmp_path):
    out = tmp_path / "resume"
    result = run("benchmark", "init", RESUME, "--id", "resume-draft", "--label", "received_callback",
                 "--sensitive", "race,gender", "--cluster", "job_ad_id", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output == (f"wrote {out}/benchmark.yaml and {out}/README.md: replace every TODO, review the "
                             f"column roles, then run 'oversight benchmark validate {out}'\n")
    bench = load_benchmark(out)
    card = bench.card
    assert (out / "resume.csv.gz").read_bytes() == RESUME.read_bytes()
    assert card.files[0].rows == 4870 and card.label.positive == 1 and card.task == "binary_classification"
    assert card.split.unit == "cluster" and card.cluster == "job_ad_id" and card.sensitive == ("race", "gender")
    columns = set(pd.read_csv(RESUME).columns)
    assert {*card.features, *card.sensitive, card.label.column, card.cluster} == columns
    text = (out / "benchmark.yaml").read_text()
    assert '  - "firstname"  # text, 36 distinct' in text
    # The counts written as comments are the split the loader computes from the salt.
    split = pd.Series(bench.split)
    expected = [f"#   all: development {(split == 'development').sum()}, test {(split == 'test').sum()}"]
    for column in ("race", "gender"):
        for value in sorted(bench.frame[column].astype(str).unique()):
            in_group = bench.frame[column].astype(str).to_numpy() == value
            expected.append(f"#   {column}={value}: development {((split == 'development') & in_group).sum()}, "
                            f"test {((split == 'test') & in_group).sum()}")
    assert _split_comment(text) == expected
    sheet = (out / "README.md").read_text()
    assert [line[3:] for line in sheet.splitlines() if line.startswith("## ")] == HEADINGS


@pytest.mark.skipif(not NHEFS.is_file(), reason="shared data set not on this machine")
def test_init_on_a_new_dataset_then_validate_shows_group_sizes(tmp_path):
    out = tmp_path / "nhefs"
    result = run("benchmark", "init", NHEFS, "--id", "nhefs", "--label", "death", "--id-column", "seqn",
                 "--sensitive", "sex,race", "--out", out)
    assert result.exit_code == 0, result.output
    text = (out / "benchmark.yaml").read_text()
    assert '  - "yrdth"  # integer, 10 distinct, 1311 missing' in text
    assert '  - "id"  # integer, 1629 distinct; every value distinct: an identifier? (move it to dropped)' in text
    result = run("benchmark", "validate", out)
    assert result.exit_code == 0, result.output
    bench = load_benchmark(out)
    lines = result.output.splitlines()
    assert lines[4] == f"  nhefs.csv.gz: 1629 rows, sha256 {bench.file_sha256[0]}"
    test = bench.subset("test")
    in_race1 = test.frame["race"] == 1
    rows, positives = int(in_race1.sum()), int(test.y[in_race1.to_numpy()].sum())
    row = next(line.split() for line in lines if line.startswith("test") and " race " in line
               and line.split()[2] == "1")
    assert row == ["test", "race", "1", str(rows), str(positives), str(rows - positives)]


def test_validate_refuses_a_changed_data_file(tmp_path):
    out = tmp_path / "b"
    assert run("benchmark", "init", RESUME, "--id", "b", "--label", "received_callback", "--out", out).exit_code == 0
    card = load_benchmark(out).card
    shutil.copyfile(ROOT / "benchmarks/flchain-mayo/flchain.csv.gz", out / "resume.csv.gz")
    result = run("benchmark", "validate", out)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {out}/benchmark.yaml:11: files[0].sha256: SHA-256 mismatch for "
                                    f"{out}/resume.csv.gz: expected {card.files[0].sha256}, found ")


@pytest.mark.parametrize("args, message", [
    (["--label", "callback"], "--label: column 'callback' is not in the data; did you mean 'received_callback'?"),
    (["--label", "race"], "--positive: label 'race' has values 'black', 'white'; give the value that counts "
                          "as 1 with --positive"),
    (["--label", "race", "--positive", "asian"],
     "--positive: 'asian' does not occur in 'race' (values: 'black', 'white')"),
    (["--label", "received_callback", "--id", "Bad Id"],
     "--id: expected lower case letters, digits, '.', '_' or '-', starting with a letter or digit; "
     "found 'Bad Id'"),
])
def test_init_refuses_bad_roles_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "x"
    ident = [] if "--id" in args else ["--id", "x"]
    result = run("benchmark", "init", RESUME, *ident, *args, "--out", out)
    assert (result.exit_code, result.output) == (2, f"error: {message}\n")
    assert not out.exists() or not any(out.iterdir())


def test_init_removes_a_draft_that_does_not_load(tmp_path):
    out = tmp_path / "x"
    result = run("benchmark", "init", RESUME, "--id", "x", "--label", "received_callback",
                 "--id-column", "job_ad_id", "--out", out)
    assert result.exit_code == 2
    assert result.output.startswith("error: the draft does not validate, so nothing was kept: "
                                    f"{out}/benchmark.yaml:")
    assert "id_column: expected unique ids in 'job_ad_id', found " in result.output
    assert list(out.iterdir()) == []


def test_init_does_not_overwrite(tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    (out / "README.md").write_text("mine")
    result = run("benchmark", "init", RESUME, "--id", "x", "--label", "received_callback", "--out", out)
    assert (result.exit_code, result.output) == (
        2, f"error: {out}/README.md exists; expected a folder without it (nothing was written)\n")
    assert sorted(p.name for p in out.iterdir()) == ["README.md"]
    assert (out / "README.md").read_text() == "mine"


def test_profile_init_for_a_shipped_benchmark_validates(tmp_path):
    out = tmp_path / "p.yaml"
    result = run("profile", "init", "--benchmark", "resume-audit-2004", "--sector", "hiring", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}: replace every TODO, then run 'oversight profile validate {out}'\n"
    text = out.read_text()
    assert text.startswith("# yaml-language-server: $schema=./profile.schema.json\n")
    assert "  sha256: 97560798cabdc67604fc5185e996f3fa224982ceb28f838eaa38c6c0405ae117   # pins" in text
    assert run("profile", "validate", out).output == f"{out}: ok\n"
    from harness.profile import load_profile
    profile = load_profile(out).profile
    assert profile.id == "hiring-resume-audit-2004" and profile.inference.bootstrap.unit == "cluster"
    assert [r.id for r in profile.requirements] == [
        "P1-sensitivity", "P2-specificity", "G-selection-race", "G-sensitivity-race", "G-impact-race",
        "G-selection-gender", "G-sensitivity-gender", "G-impact-gender"]


def test_profile_init_for_a_drafted_benchmark_folder_validates(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("benchmark", "init", RESUME, "--id", "draft", "--label", "received_callback",
               "--sensitive", "gender", "--out", "draft").exit_code == 0
    result = run("profile", "init", "--benchmark", "draft", "--sector", "Public hiring")
    assert result.exit_code == 0, result.output
    (tmp_path / "p.yaml").write_text(result.output)
    assert run("profile", "validate", "p.yaml").output == "p.yaml: ok\n"
    assert '  id: "draft"\n  path: "draft"   # the benchmark\'s folder, relative to this file\n' in result.output
    assert "id: public-hiring-draft\n" in result.output


def test_profile_init_names_a_benchmark_folder_relative_to_the_profile_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("benchmark", "init", RESUME, "--id", "draft", "--label", "received_callback",
               "--sensitive", "gender", "--out", "data/draft").exit_code == 0
    out = tmp_path / "profiles" / "p.yaml"
    out.parent.mkdir()
    assert run("profile", "init", "--benchmark", "data/draft", "--sector", "hiring", "--out", out).exit_code == 0
    assert '  path: "../data/draft"   # the benchmark\'s folder, relative to this file\n' in out.read_text()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run("profile", "validate", out).output == f"{out}: ok\n"


@pytest.mark.parametrize("args, message", [
    (["--benchmark", "resume-audit", "--sector", "x"], "unknown benchmark 'resume-audit' (searched: installed "
     "defaults); did you mean 'resume-audit-2004'? 'oversight benchmark list' shows every benchmark found"),
    (["--benchmark", "resume-audit-2004", "--sector", " "], "--sector: expected a sector name, found an empty string"),
])
def test_profile_init_refuses(args, message):
    result = run("profile", "init", *args)
    assert (result.exit_code, result.output) == (2, f"error: {message}\n")


def test_profile_init_does_not_overwrite(tmp_path):
    out = tmp_path / "p.yaml"
    out.write_text("mine")
    result = run("profile", "init", "--benchmark", "resume-audit-2004", "--sector", "hiring", "--out", out)
    assert (result.exit_code, result.output) == (2, f"error: {out} exists; expected a new file (nothing was written)\n")
    assert out.read_text() == "mine"


HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"


def _version_2(tmp_path: Path) -> Path:
    text = HIRING.read_text()
    text = text.replace("version: 1", "version: 2").replace("enforcement_from: 2027-01-22",
                                                            "enforcement_from: 2027-07-01")
    old_h3 = ("threshold: {min: 0.80}\n    rule: point\n    on_breach: flag\n"
              "    significance: {test: auto, alpha: 0.05, small_n: 30}\n")
    assert text.count(old_h3) >= 1
    text = text.replace(old_h3, "threshold: {min: 0.85}\n    rule: bound\n    on_breach: fail\n"
                                "    significance: {test: auto, alpha: 0.01, small_n: 30}\n", 1)
    text = text.replace("    groups: [gender]\n    references: [\"6 RCNY §5-301(b)\"]",
                        "    groups: [gender, race]\n    references: [\"6 RCNY §5-301(b)\"]", 1)
    start = text.index("  - id: H1-sex-race\n")
    text = text[:start] + text[text.index("  - id: H3-sex\n"):]
    notes = text.index("\nnotes:") + 1
    text = (text[:notes] + "  - id: H9-auroc\n    title: Discrimination\n    metric: auroc\n"
            "    threshold: {min: 0.7}\n    rule: bound\n" + text[notes:])
    path = tmp_path / "hiring-aedt-v2.yaml"
    path.write_text(text)
    return path


def test_profile_diff_lists_each_change_by_requirement(tmp_path):
    new = _version_2(tmp_path)
    result = run("profile", "diff", HIRING, new)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "profile hiring-aedt version 1 -> hiring-aedt version 2: 9 change(s)",
        "profile",
        "  version [version]: 1 -> 2",
        "  enforcement_from [dates]: 2027-01-22 -> 2027-07-01",
        "requirement H1-sex",
        '  groups [groups]: ["gender"] -> ["gender", "race"]',
        "requirement H3-sex",
        "  threshold [threshold]: min 0.8 -> min 0.85",
        "  rule [rule]: point -> bound",
        "  on_breach [rule]: flag -> fail",
        "  significance.alpha [rule]: 0.05 -> 0.01",
        "requirement H9-auroc",
        "  added: auroc min 0.7 (bound, on breach fail)",
        "requirement H1-sex-race",
        "  removed: selection_rate by gender, race reported",
    ]


def test_profile_diff_json_and_no_changes(tmp_path):
    import json
    data = json.loads(run("profile", "diff", HIRING, _version_2(tmp_path), "--format", "json").output)
    assert data["old"] == {"id": "hiring-aedt", "version": 1} and data["new"]["version"] == 2
    assert {"requirement": "H3-sex", "field": "threshold", "kind": "threshold", "old": "min 0.8",
            "new": "min 0.85"} in data["changes"]
    same = run("profile", "diff", HIRING, HIRING)
    assert (same.exit_code, same.output) == (0, "profile hiring-aedt version 1 -> hiring-aedt version 1: no changes\n")


def test_profile_diff_refuses_an_invalid_profile(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(HIRING.read_text().replace("rule: point", "rule: pointy", 1))
    result = run("profile", "diff", HIRING, bad)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {bad}: 1 problem(s)\n{bad}:")
    assert "requirements[3].rule: Input should be 'point', 'bound' or 'dual', found 'pointy'" in result.output
