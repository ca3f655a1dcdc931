"""Property-based fuzzing of the profile and card parsers, from mutations of the real files.

A mutated profile or card either parses or raises one of the harness's own errors; a
mutated profile that passes ``oversight profile validate`` also runs to a verdict.
The examples are derandomized (the same on every run); set ``OVERSIGHT_FUZZ_EXAMPLES``
to run more of them, e.g. ``OVERSIGHT_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_profiles.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness
from harness.benchmark import load_benchmark, load_card
from harness.errors import HarnessError
from harness.metrics import metric_names
from harness.plan import make_plan
from harness.profile import LoadedProfile, parse_profile

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "sector_profiles").glob("*/*.yaml"))
CARDS = sorted((ROOT / "benchmarks").glob("*/benchmark.yaml"))
EXAMPLES = int(os.environ.get("OVERSIGHT_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WORDS = [*metric_names(), "race", "gender", "sex", "age_band", "min", "max", "point", "bound", "dual", "cluster",
         "row", "test", "all", "regression", "resume-audit-2004", "flchain-mayo", "fail", "flag", "wilson"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(), st.floats(), st.floats(0, 1),
    st.sampled_from([0.5, 0.8, 0.95, 100, 2000, 100_000, 100_001, float("inf"), float("nan")]),
    st.text(max_size=12), st.sampled_from(WORDS), st.dates(),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)),
                      max_leaves=6)
TOKENS = [b"&a ", b"*a", b"!!int ", b"!!float ", b"!!timestamp ", b"!!binary ", b"!!python/name:os.system ",
          b"\t", b"\xff", b"\xc3", b"{", b"[", b"]", b": ", b"\n- ", b"---\n", b"<<: *a\n", b"? ", b"'", b'"',
          b"2026-02-30", b".nan", b".inf", b"true", b"~", b"\x00", b"#", b"|\n", b"\n  "]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*here, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*here, i))
    return out


@st.composite
def tree_mutation(draw: st.DrawFn, files: list[Path]) -> bytes:
    """A real file, parsed, with one to three subtrees replaced, removed or added, dumped again."""
    data = yaml.safe_load(draw(st.sampled_from(files)).read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        op = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path:
            data = draw(VALUES) if op == "replace" else data
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if op == "replace":
            parent[path[-1]] = draw(VALUES)
        elif op == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(WORDS))] = draw(VALUES)
        else:
            parent.insert(path[-1], draw(VALUES))
        if not isinstance(data, (dict, list)):
            break
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


def _nearby(value: Any) -> st.SearchStrategy[Any]:
    """Values of the same kind as ``value``, close to what an author might write instead."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(max(0, value // 2), value * 2 + 1) | st.sampled_from([0, 1, 2, 30])
    if isinstance(value, float):
        return st.floats(0, 1) | st.sampled_from([0.0, 0.5, 0.8, 1.0])
    if isinstance(value, dt.date):
        return st.dates(dt.date(2025, 1, 1), dt.date(2028, 12, 31))
    if isinstance(value, str):
        return st.sampled_from([value, *WORDS])
    return st.just(value)


@st.composite
def plausible_mutation(draw: st.DrawFn, files: list[Path]) -> bytes:
    """A real profile with one or two values changed to nearby ones, or list items or keys removed."""
    data = yaml.safe_load(draw(st.sampled_from(files)).read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        value = parent[path[-1]]
        if isinstance(value, (dict, list)):
            if value:  # drop one item or key of it
                del value[draw(st.sampled_from(list(value) if isinstance(value, dict) else range(len(value))))]
            continue
        parent[path[-1]] = draw(_nearby(value))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")


@st.composite
def byte_mutation(draw: st.DrawFn, files: list[Path]) -> bytes:
    """A real file with one to five bytes or YAML tokens inserted, deleted or overwritten."""
    raw = bytearray(draw(st.sampled_from(files)).read_bytes())
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(["insert", "delete", "overwrite"]))
        piece = draw(st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=3)))
        if op == "insert":
            raw[at:at] = piece
        elif op == "delete":
            del raw[at:at + draw(st.integers(1, 40))]
        else:
            raw[at:at + len(piece)] = piece
    return bytes(raw)


def _parses_or_refuses_profile(raw: bytes) -> None:
    try:
        parse_profile(raw, source="fuzzed.yaml")
    except HarnessError:
        pass


@FUZZ
@given(st.one_of(tree_mutation(PROFILES), plausible_mutation(PROFILES), byte_mutation(PROFILES)))
def test_mutated_profiles_raise_only_harness_errors(raw: bytes) -> None:
    _parses_or_refuses_profile(raw)


@pytest.fixture(scope="module")
def card_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cards")


@FUZZ
@given(raw=st.one_of(tree_mutation(CARDS), byte_mutation(CARDS)))
def test_mutated_cards_raise_only_harness_errors(raw: bytes, card_dir: Path) -> None:
    card = card_dir / "benchmark.yaml"
    card.write_bytes(raw)
    try:
        load_card(card)
    except HarnessError:
        pass


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Declared predictions for every row of each benchmark: decisions and scores in [0, 1]."""
    folder, out = tmp_path_factory.mktemp("declared"), {}
    rng = np.random.default_rng(7)
    for card in CARDS:
        bench = load_benchmark(card.parent.name)
        y = bench.y.astype(float)
        # Scores on a coarse grid keep score metrics fast: the test is about profiles, not speed.
        score = np.round(np.clip(0.6 * y + 0.4 * rng.random(len(y)), 0, 1), 1)
        frame = pd.DataFrame({"id": bench.ids, "decision": (score > 0.5).astype(int), "score": score,
                              "prediction": score})
        out[bench.id] = folder / f"{bench.id}.csv"
        frame.to_csv(out[bench.id], index=False)
    return out


@settings(FUZZ, max_examples=max(EXAMPLES // 4, 8))
@given(raw=plausible_mutation(PROFILES))
def test_a_mutated_profile_that_validates_also_runs(raw: bytes, declared: dict[str, Path],
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    try:
        profile = parse_profile(raw, source="fuzzed.yaml")
        loaded = LoadedProfile(profile=profile, path=None, text=raw.decode("utf-8"), sha256=hashlib.sha256(raw).hexdigest())
        make_plan(loaded)
    except HarnessError:
        return
    out = tmp_path_factory.mktemp("run")
    result = harness.evaluate(loaded, predictions=declared[profile.benchmark.id], tracking=False, out=out,
                              as_of=dt.date(2027, 6, 1))
    assert result.verdict in ("compliant", "non_compliant", "inconclusive")
    assert result.bundle is not None and (result.bundle / "manifest.json").is_file()
