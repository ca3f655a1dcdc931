"""Stream and Dask engines: identical numbers to the in-memory engine, bit for bit."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import harness
import harness.benchmark as benchmark_module
from harness.demo import DEFAULT_PROFILES, PROFILES_DIR, reference_model
from harness.errors import InputError
from harness.evidence.bundle import sha256_file
from harness.plan import make_plan
from harness.profile import load_profile
from harness.stats import GridSpec, build_atoms, merge_atoms

AS_OF = dt.date(2026, 6, 1)


def _model(rel: str):
    rule, target = DEFAULT_PROFILES[rel]
    loaded = load_profile(PROFILES_DIR / rel)
    dev = make_plan(loaded, split="development").benchmark
    return reference_model(dev.model_inputs(loaded.profile.model_inputs.allow_sensitive), dev.y,
                           rule=rule, target=target)


def triage_score(inputs: pd.DataFrame):
    """A vendor model whose arithmetic is element by element, so chunking cannot change a bit of it.

    (A matrix product, as in a logistic regression, may round differently for different batch
    sizes; that is the model's arithmetic, not the engine's.)"""
    age = inputs["ageOFocc"].to_numpy(np.float64)
    belted = (inputs["seatbelt"] == "belted").to_numpy(np.float64)
    frontal = inputs["frontal"].to_numpy(np.float64)
    z = -4.0 + 0.045 * age - 1.1 * belted + 0.4 * frontal
    score = 1.0 / (1.0 + np.exp(-z))
    return (score > 0.03).astype(int), score


def _same(a, b):
    pd.testing.assert_frame_equal(a.measurements, b.measurements, check_exact=True)
    pd.testing.assert_frame_equal(a.verdicts, b.verdicts, check_exact=True)
    assert a.verdict == b.verdict


@pytest.mark.parametrize("rel", sorted(DEFAULT_PROFILES))
def test_stream_engine_equals_local(rel, tmp_path):
    model = _model(rel)
    local = harness.evaluate(PROFILES_DIR / rel, model=model, tracking=False, out=tmp_path / "l", as_of=AS_OF)
    streamed = harness.evaluate(PROFILES_DIR / rel, model=model, tracking=False, out=tmp_path / "s", as_of=AS_OF,
                                engine="stream", chunk_rows=997)
    a = pd.read_parquet(local.bundle / "predictions.parquet")
    b = pd.read_parquet(streamed.bundle / "predictions.parquet")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)  # BLAS rounding by batch size
    pd.testing.assert_frame_equal(local.measurements, streamed.measurements, check_exact=False, rtol=1e-9)
    assert local.verdicts["status"].tolist() == streamed.verdicts["status"].tolist()
    assert harness.verify_bundle(streamed.bundle, tracking=False)["ok"]


def test_stream_engine_is_bit_for_bit_with_an_elementwise_model(tmp_path):
    rel = PROFILES_DIR / "transport/transport-acn-triage-v1.yaml"
    local = harness.evaluate(rel, model=triage_score, tracking=False, out=tmp_path / "l", as_of=AS_OF)
    for rows in (1000, 4099):
        streamed = harness.evaluate(rel, model=triage_score, tracking=False, out=tmp_path / f"s{rows}",
                                    as_of=AS_OF, engine="stream", chunk_rows=rows)
        _same(local, streamed)


@pytest.fixture
def parquet_benchmark(tmp_path, monkeypatch):
    """The transport benchmark rewritten as Parquet with small row groups, in a temporary folder."""
    src = benchmark_module.BENCHMARKS_DIR / "nass-cds-1997-2002"
    root = tmp_path / "benchmarks"
    dest = root / "nass-cds-1997-2002"
    dest.mkdir(parents=True)
    frame = pd.read_csv(src / "nassCDS.csv.gz")
    frame.to_parquet(dest / "nass.parquet", row_group_size=3000, index=False)
    card = yaml.safe_load((src / "benchmark.yaml").read_text())
    card["files"] = [{"path": "nass.parquet", "sha256": sha256_file(dest / "nass.parquet"), "format": "parquet",
                      "rows": len(frame)}]
    (dest / "benchmark.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    monkeypatch.setattr("harness.catalog.installed", lambda kind: root)  # the defaults are this copy
    profile = yaml.safe_load((PROFILES_DIR / "transport/transport-acn-triage-v1.yaml").read_text())
    profile["benchmark"]["sha256"] = card["files"][0]["sha256"]
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path


def test_dask_engine_equals_local_on_parquet(parquet_benchmark, tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    model = triage_score
    local = harness.evaluate(parquet_benchmark, model=model, tracking=False, out=tmp_path / "l", as_of=AS_OF)
    streamed = harness.evaluate(parquet_benchmark, model=model, tracking=False, out=tmp_path / "s", as_of=AS_OF,
                                engine="stream", chunk_rows=5000)
    distributed = harness.evaluate(parquet_benchmark, model=model, tracking=False, out=tmp_path / "d",
                                   as_of=AS_OF, engine="dask", chunk_rows=4096)
    _same(local, streamed)
    _same(local, distributed)


def test_merged_chunks_equal_one_pass_including_binned_scores():
    rng = np.random.default_rng(7)
    n = 30_000
    frame = pd.DataFrame({"g": rng.choice(["a", "b", "c"], n)})
    y, d = rng.integers(0, 2, n), rng.integers(0, 2, n)
    score, weight = rng.random(n), rng.choice([1.0, 2.5], n)
    spec = GridSpec(bins=1000)
    whole = build_atoms(frame, y, d, score=score, weight=weight, spec=spec)
    parts = [build_atoms(frame.iloc[i:i + 7000], y[i:i + 7000], d[i:i + 7000], score=score[i:i + 7000],
                         weight=weight[i:i + 7000], spec=spec) for i in range(0, n, 7000)]
    merged = merge_atoms(parts)
    assert not whole.exact and not merged.exact
    pd.testing.assert_frame_equal(whole.frame, merged.frame, check_exact=True)
    small = [build_atoms(frame.iloc[i:i + 500], y[i:i + 500], d[i:i + 500], score=score[i:i + 500], spec=spec)
             for i in range(0, 1500, 500)]
    assert all(t.exact for t in small) and not merge_atoms(small).exact  # 1,500 distinct scores > 1,000 bins
    pd.testing.assert_frame_equal(merge_atoms(small).frame,
                                  build_atoms(frame.iloc[:1500], y[:1500], d[:1500], score=score[:1500],
                                              spec=spec).frame, check_exact=True)


def test_stream_engine_refuses_declared_predictions(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("id,decision\n0,1\n")
    with pytest.raises(InputError) as err:
        harness.evaluate(PROFILES_DIR / "hiring/hiring-aedt-v1.yaml", predictions=path, engine="stream",
                         tracking=False, out=tmp_path)
    assert str(err.value) == ("engine 'stream' runs a model chunk by chunk; declared predictions are evaluated "
                              "with engine 'local'")


def test_stream_engine_checks_the_hash(tmp_path, monkeypatch):
    from harness.errors import BenchmarkError

    src = benchmark_module.BENCHMARKS_DIR / "flchain-mayo"
    dest = tmp_path / "benchmarks" / "flchain-mayo"
    shutil.copytree(src, dest)
    data = dest / "flchain.csv.gz"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    monkeypatch.setattr("harness.catalog.installed", lambda kind: tmp_path / "benchmarks")
    with pytest.raises(BenchmarkError, match="SHA-256 mismatch"):
        harness.evaluate(PROFILES_DIR / "health/health-mortality-risk-v1.yaml", model="x.skops", engine="stream",
                         tracking=False, out=tmp_path / "out")
