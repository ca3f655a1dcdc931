"""Broken predictions files, each through ``oversight run --predictions``, with the exact error.

The corpus lives in ``tests/data/bad/predictions/``; ``expected.yaml`` maps each file to
the profile it is run against, the exit code and the one line the user reads on stderr.
Runs start in the corpus folder, so messages name files as a vendor would type them.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from harness import declared
from harness.benchmark import load_benchmark
from harness.cli import main
from harness.declared import read_predictions

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests/data/bad/predictions"
EXPECTED = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
HEALTH = ROOT / "sector_profiles/health/health-mortality-risk-v1.yaml"
CAPS = {"max_bytes": "MAX_BYTES", "max_rows": "MAX_ROWS"}


def _run(profile: Path | str, predictions: str, out: Path, *extra: str):
    return CliRunner().invoke(main, ["run", "--profile", str(profile), "--predictions", predictions,
                                     "--no-tracking", "--quiet", "--out", str(out), *extra], catch_exceptions=False)


def test_caps_have_their_documented_values() -> None:
    assert (declared.MAX_BYTES, declared.MAX_ROWS) == (2 * 1024**3, 50_000_000)


def test_the_corpus_is_complete() -> None:
    files = sorted(p.name for p in CORPUS.iterdir() if p.is_file() and p.name != "expected.yaml")
    assert files == sorted(EXPECTED)
    assert len(files) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_is_named_with_its_fix(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = EXPECTED[name]
    for key, constant in CAPS.items():
        if key in case:
            monkeypatch.setattr(declared, constant, case[key])
    monkeypatch.chdir(CORPUS)
    res = _run(ROOT / case["profile"], name, tmp_path / "out")
    assert (res.exit_code, res.stderr) == (case["exit"], f"error: {case['message']}\n")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_installed_command_prints_the_same_line(tmp_path: Path) -> None:
    name = "utf16-le.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--profile", str(ROOT / EXPECTED[name]["profile"]),
                          "--predictions", name, "--no-tracking", "--quiet", "--out", str(tmp_path / "out")],
                         cwd=CORPUS, env=env, capture_output=True, text=True, timeout=120)
    assert (res.returncode, res.stderr) == (2, f"error: {EXPECTED[name]['message']}\n")


def test_utf8_bom_and_crlf_line_endings_are_harmless(tmp_path: Path) -> None:
    bench = load_benchmark("flchain-mayo")
    plain = tmp_path / "plain.csv"
    pd.DataFrame({"id": bench.ids, "decision": bench.y, "score": bench.y * 0.98 + 0.01}).to_csv(plain, index=False)
    windows = tmp_path / "excel.csv"
    windows.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes().replace(b"\n", b"\r\n"))
    packed = tmp_path / "excel.csv.gz"
    packed.write_bytes(gzip.compress(windows.read_bytes()))
    read = [read_predictions(path, expected_ids=bench.ids, score_range=(0.0, 1.0)) for path in (plain, windows, packed)]
    for other in read[1:]:
        np.testing.assert_array_equal(other.decision, read[0].decision)
        np.testing.assert_array_equal(other.score, read[0].score)
    res = _run(HEALTH, str(windows), tmp_path / "out", "--json")
    assert (res.exit_code, res.stderr, json.loads(res.stdout)["verdict"]) == (0, "", "compliant")
