"""The semantics new sectors need: split discipline, metric direction, and the profile fields behind them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.benchmark import load_benchmark
from harness.cli import main
from harness.evidence.tracking import expected_run

ROOT = Path(__file__).resolve().parents[1]
HIRING = str(ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml")
EXPLORATORY = "exploratory run, not evidence: it judged the 'all' split, but the profile judges the 'test' split"


def _run(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    bench = load_benchmark("resume-audit-2004")
    preds = tmp_path / "callbacks.csv"
    pd.DataFrame({"id": bench.ids, "decision": bench.frame["received_callback"]}).to_csv(preds, index=False)
    res = CliRunner().invoke(main, ["run", "--profile", HIRING, "--predictions", str(preds), "--no-tracking",
                                    "--out", str(tmp_path / "out"), "--as-of", "2026-03-01", *args],
                             catch_exceptions=False)
    return res.exit_code, res.stdout, next((tmp_path / "out").iterdir())


@pytest.fixture(scope="module")
def exploratory(tmp_path_factory) -> tuple[int, str, Path]:
    return _run(tmp_path_factory.mktemp("all"), "--split", "all", "--json")


def test_another_split_is_exploratory_in_the_json(exploratory):
    code, stdout, _ = exploratory
    doc = json.loads(stdout)
    assert (code, doc["verdict"], doc["conformant"], doc["conformance_reason"]) == (
        1, "non_compliant", False, EXPLORATORY)


def test_another_split_is_exploratory_in_the_summary_reports_and_tags(exploratory):
    _, _, bundle = exploratory
    summary = json.loads((bundle / "summary.json").read_text())
    assert summary["conformance"] == {"conformant": False, "profile_split": "test", "reason": EXPLORATORY}
    assert f"**Exploratory:** {EXPLORATORY}" in (bundle / "report.md").read_text()
    assert f"<strong>Exploratory:</strong> {EXPLORATORY.replace(chr(39), '&#39;')}" in (
        bundle / "report.html").read_text()
    content = expected_run(summary, pd.DataFrame(columns=["requirement", "group"]),
                           pd.DataFrame(columns=["blocking", "status"]), "0" * 64)
    assert content.tags["oversight.conformant"] == "false"


def test_another_split_is_exploratory_in_the_banner(tmp_path):
    code, stdout, _ = _run(tmp_path, "--split", "all")
    lines = stdout.splitlines()
    assert code == 1
    assert lines[1].startswith("verdict: NON-COMPLIANT (EXPLORATORY)   policy: ")
    assert lines[3] == f"EXPLORATORY: {EXPLORATORY}"


def test_the_profiles_split_is_conformant(tmp_path):
    code, stdout, bundle = _run(tmp_path, "--json")
    doc = json.loads(stdout)
    summary = json.loads((bundle / "summary.json").read_text())
    assert (doc["conformant"], doc["conformance_reason"]) == (True, None)
    assert summary["conformance"] == {"conformant": True, "profile_split": "test", "reason": ""}
    assert "Exploratory" not in (bundle / "report.md").read_text()
