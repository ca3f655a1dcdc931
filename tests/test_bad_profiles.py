"""The corpus of broken profiles and cards: each is refused with exactly the expected lines."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.benchmark import load_card
from harness.cli import main
from harness.errors import HarnessError

BAD = Path(__file__).resolve().parent / "data" / "bad"
PROFILES = yaml.safe_load((BAD / "profiles" / "expected.yaml").read_text(encoding="utf-8"))
CARDS = yaml.safe_load((BAD / "cards" / "expected.yaml").read_text(encoding="utf-8"))


def test_every_corpus_file_has_an_expectation_and_every_expectation_a_file():
    for folder, expected in (("profiles", PROFILES), ("cards", CARDS)):
        files = {p.name for p in (BAD / folder).iterdir() if p.name != "expected.yaml"}
        assert files == set(expected)
    assert len(PROFILES) >= 60 and len(CARDS) >= 10


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_broken_profile_is_refused_with_the_expected_lines(name, monkeypatch):
    monkeypatch.chdir(BAD / "profiles")
    res = CliRunner().invoke(main, ["profile", "validate", name], catch_exceptions=False)
    assert (res.exit_code, res.stderr.splitlines(), res.stdout) == (PROFILES[name]["exit"], PROFILES[name]["stderr"], "")


@pytest.mark.parametrize("name", sorted(CARDS))
def test_broken_card_is_refused_with_the_expected_lines(name, monkeypatch):
    monkeypatch.chdir(BAD / "cards")
    with pytest.raises(HarnessError) as err:
        load_card(Path(name))
    assert (err.value.exit_code, str(err.value).splitlines()) == (CARDS[name]["exit"], CARDS[name]["lines"])


def test_validate_checks_every_file_and_prints_each_ones_problems(monkeypatch):
    monkeypatch.chdir(BAD / "profiles")
    names = ["impossible_date.yaml", "seed_true.yaml", "alias_bomb.yaml"]
    good = str(Path(__file__).resolve().parents[1] / "sector_profiles/hiring/hiring-aedt-v1.yaml")
    res = CliRunner().invoke(main, ["profile", "validate", *names, good], catch_exceptions=False)
    assert res.exit_code == 2
    assert res.stdout.splitlines() == [f"{good}: ok"]
    assert res.stderr.splitlines() == [line for n in names for line in PROFILES[n]["stderr"]]
