"""Each default profile end to end, with MLflow on a temporary SQLite store read back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import harness
from harness.benchmark import load_benchmark
from harness.demo import DEFAULT_PROFILES, PROFILES_DIR, reference_model
from harness.evidence.bundle import sha256_file
from harness.plan import make_plan
from harness.profile import load_profile
from harness.evidence.tracking import metric_key

AS_OF = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root}/mlflow.db"


def _model(rel: str):
    rule, target = DEFAULT_PROFILES[rel]
    loaded = load_profile(PROFILES_DIR / rel)
    dev = make_plan(loaded, split="development").benchmark
    return reference_model(dev.model_inputs(loaded.profile.model_inputs.allow_sensitive), dev.y,
                           rule=rule, target=target)


@pytest.mark.parametrize("rel", sorted(DEFAULT_PROFILES))
def test_default_profile_end_to_end(rel, tmp_path, store):
    result = harness.evaluate(PROFILES_DIR / rel, model=_model(rel), as_of=AS_OF, out=tmp_path,
                              tracking_uri=store)
    profile = load_profile(PROFILES_DIR / rel).profile
    assert result.verdict in ("compliant", "non_compliant", "inconclusive")
    assert result.policy_status == "grace_period"
    assert set(result.measurements["requirement"]) == {r.id for r in profile.requirements}
    assert list(result.measurements.columns[:7]) == ["requirement", "metric", "family", "group", "value",
                                                     "ci_low", "ci_high"]
    m = result.measurements
    finite = m["ci_low"].notna()
    assert ((m.loc[finite, "ci_low"] <= m.loc[finite, "value"] + 1e-12)
            & (m.loc[finite, "value"] <= m.loc[finite, "ci_high"] + 1e-12)).all()

    client = MlflowClient(tracking_uri=store)
    run = client.get_run(result.run_id)
    tags = run.data.tags
    assert client.get_experiment(run.info.experiment_id).name == profile.id
    assert tags["oversight.profile_id"] == profile.id
    assert tags["oversight.profile_version"] == str(profile.version)
    assert tags["oversight.sector"] == profile.sector
    assert tags["oversight.verdict"] == result.verdict
    assert tags["oversight.policy_status"] == "grace_period"
    assert tags["oversight.benchmark_sha256"] == profile.benchmark.sha256
    assert tags["oversight.manifest_sha256"] == sha256_file(result.bundle / "manifest.json")
    assert len(tags["oversight.model_fingerprint"]) >= 16
    params = run.data.params
    assert params["bootstrap_replicates"] == str(profile.inference.bootstrap.replicates)
    assert params["bootstrap_unit"] == profile.inference.bootstrap.unit
    assert params["bootstrap_score_bins"] == str(profile.inference.bootstrap.score_bins)
    for row in m.itertuples():
        if np.isfinite(row.value):
            assert run.data.metrics[metric_key(row.requirement, row.metric, row.group, "value")] == row.value
        assert run.data.metrics[metric_key(row.requirement, row.metric, row.group, "n")] == row.n
    listed = {a.path for a in client.list_artifacts(result.run_id, "evidence")}
    bundle_files = {p.name for p in result.bundle.iterdir()}
    assert listed == {f"evidence/{name}" for name in bundle_files}
    local = Path(client.download_artifacts(result.run_id, "evidence", str(tmp_path / "dl")))
    for name in bundle_files:
        assert sha256_file(local / name) == sha256_file(result.bundle / name), name
    (inp,) = run.inputs.dataset_inputs
    assert inp.dataset.digest == profile.benchmark.sha256[:36]  # MLflow's limit; full hash in the tag
    assert {t.key: t.value for t in inp.tags}["oversight.sha256"] == profile.benchmark.sha256
    assert inp.dataset.name == profile.benchmark.id
    assert (inp.dataset.source_type, json.loads(inp.dataset.source)) == ("code", {"tags": {  # never a local path
        "oversight.benchmark": profile.benchmark.id, "oversight.benchmark_version": "1",
        "oversight.sha256": profile.benchmark.sha256}})

    report = harness.verify_bundle(result.bundle, tracking_uri=store)
    assert report["ok"], report["problems"]
    assert any(line.startswith("MLflow: run ") for line in report["checks"])


def test_employer_callbacks_reproduce_published_rates(tmp_path):
    """The employers' own callbacks, declared as predictions on all 4,870 résumés."""
    bench = load_benchmark("resume-audit-2004")
    preds = pd.DataFrame({"id": bench.ids, "decision": bench.frame["received_callback"]})
    path = tmp_path / "callbacks.csv"
    preds.to_csv(path, index=False)
    result = harness.evaluate(PROFILES_DIR / "hiring/hiring-aedt-v1.yaml", predictions=path, split="all",
                              tracking=False, out=tmp_path / "out", as_of=AS_OF)
    rates = result.measurements.query("requirement == 'H1-race'").set_index("group")["value"]
    assert int(result.measurements.query("requirement == 'H1-race'")["n"].sum()) == 4870
    assert round(rates["white"], 4) == 0.0965
    assert round(rates["black"], 4) == 0.0645
    ir = result.verdicts.query("requirement == 'H3-race' and group == 'black'").iloc[0]
    assert ir["status"] == "flag"  # 0.668 < 0.8 and significant: the study's finding
    assert result.verdict == "non_compliant"


def test_evidence_bundle_contents(tmp_path):
    rel = "hiring/hiring-aedt-v1.yaml"
    result = harness.evaluate(PROFILES_DIR / rel, model=_model(rel), tracking=False, out=tmp_path, as_of=AS_OF)
    manifest = json.loads((result.bundle / "manifest.json").read_text())
    assert set(manifest["files"]) == {p.name for p in result.bundle.iterdir()} - {"manifest.json"}
    assert manifest["inputs"]["benchmark"]["files"][0]["sha256"] == load_profile(
        PROFILES_DIR / rel).profile.benchmark.sha256
    assert manifest["as_of"] == AS_OF.isoformat()
    assert manifest["environment"]["packages"]["mlflow"]
    assert (result.bundle / "profile.yaml").read_bytes() == (PROFILES_DIR / rel).read_bytes()
    stored = pd.read_csv(result.bundle / "measurements.csv", float_precision="round_trip")
    assert np.array_equal(stored["value"].to_numpy(), result.measurements["value"].to_numpy(), equal_nan=True)
    assert harness.verify_bundle(result.bundle, tracking=False)["ok"]
    assert not list(tmp_path.glob(".*partial"))


def test_rerun_is_identical_bit_for_bit(tmp_path):
    rel = "health/health-mortality-risk-v1.yaml"
    model = _model(rel)
    a = harness.evaluate(PROFILES_DIR / rel, model=model, tracking=False, out=tmp_path / "a", as_of=AS_OF)
    b = harness.evaluate(PROFILES_DIR / rel, model=model, tracking=False, out=tmp_path / "b", as_of=AS_OF)
    pd.testing.assert_frame_equal(a.measurements, b.measurements, check_exact=True)
    assert (a.bundle / "measurements.csv").read_bytes() == (b.bundle / "measurements.csv").read_bytes()


def test_tampered_bundle_is_named(tmp_path):
    rel = "transport/transport-acn-triage-v1.yaml"
    result = harness.evaluate(PROFILES_DIR / rel, model=_model(rel), tracking=False, out=tmp_path, as_of=AS_OF)
    path = result.bundle / "measurements.csv"
    text = path.read_text()
    first_value = text.splitlines()[1].split(",")[4]
    path.write_text(text.replace(first_value, "0.001", 1))
    report = harness.verify_bundle(result.bundle, tracking=False)
    assert not report["ok"]
    assert report["problems"][0].startswith("measurements.csv: SHA-256 ")


def test_edited_metric_with_rewritten_manifest_is_caught(tmp_path):
    """Even with the manifest hash updated, recomputation from predictions catches an edited number."""
    from harness.evidence.bundle import MANIFEST

    rel = "transport/transport-acn-triage-v1.yaml"
    result = harness.evaluate(PROFILES_DIR / rel, model=_model(rel), tracking=False, out=tmp_path, as_of=AS_OF)
    path = result.bundle / "measurements.csv"
    frame = pd.read_csv(path, float_precision="round_trip")
    frame.loc[0, "value"] = 0.001
    frame.to_csv(path, index=False)
    manifest = json.loads((result.bundle / MANIFEST).read_text())
    manifest["files"]["measurements.csv"] = sha256_file(path)
    (result.bundle / MANIFEST).write_text(json.dumps(manifest))
    report = harness.verify_bundle(result.bundle, tracking=False)
    assert report["problems"] == [f"measurements.csv: T1 / all value: stored 0.001, recomputed "
                                  f"{float(result.measurements['value'][0])!r}"]
