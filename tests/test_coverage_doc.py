"""docs/coverage.md reports the coverage study's results file, figure for figure."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| (?P<scenario>[^|]+?) \| [^|]+ \| (?P<interval>[^|]+?) \| \**(?P<coverage>[\d.]+)% ± "
                 r"(?P<se>[\d.]+)\** \| (?P<width>[\d.]+) \| (?P<below>[\d.]+)% / (?P<above>[\d.]+)% \| "
                 r"(?P<none>[\d.]+)% \|$")


def test_every_result_of_the_study_is_in_the_doc_as_measured():
    results = json.loads((ROOT / "perf" / "results" / "coverage.json").read_text(encoding="utf-8"))
    doc = {(m["scenario"], m["interval"]): m for m in map(ROW.match, (ROOT / "docs" / "coverage.md")
                                                             .read_text(encoding="utf-8").splitlines()) if m}
    expected = {(s["scenario"], r["interval"]): r for s in results["scenarios"] for r in s["results"]}
    assert sorted(doc) == sorted(expected)
    for key, r in expected.items():
        row = doc[key]
        assert row["coverage"] == f"{r['coverage'] * 100:.1f}", key
        assert row["width"] == f"{r['mean_width']:.3f}", key
        assert (row["below"], row["above"]) == (f"{r['truth_below_interval'] * 100:.1f}",
                                                f"{r['truth_above_interval'] * 100:.1f}"), key
        assert r["under_covers"] == ("**" in row.string), key  # bold marks under-coverage
