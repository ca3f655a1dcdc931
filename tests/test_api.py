"""The Python API as a library: MLflow state left alone, nested runs, in-memory predictions, views."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient, fluent

import harness
from harness.benchmark import load_benchmark
from harness.errors import InputError, PredictionsError

ROOT = Path(__file__).resolve().parents[1]
HIRING = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"
AS_OF = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def callbacks() -> pd.DataFrame:
    bench = load_benchmark("resume-audit-2004")
    return pd.DataFrame({"id": bench.ids, "decision": bench.frame["received_callback"].to_numpy()})


@pytest.fixture(scope="module")
def declared(callbacks: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> harness.Evaluation:
    """One evaluation of in-memory predictions, bundle written, not tracked."""
    return harness.evaluate(HIRING, predictions=callbacks, tracking=False, as_of=AS_OF,
                            out=tmp_path_factory.mktemp("declared"))


def _state() -> tuple[object, ...]:
    """Everything of MLflow's process-wide state a library call could change."""
    active = mlflow.active_run()
    return (mlflow.get_tracking_uri(), mlflow.get_registry_uri(), fluent._active_experiment_id,
            active.info.run_id if active else None,
            tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("MLFLOW_"))))


@pytest.fixture(scope="module")
def caller_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The caller's own SQLite store, created (and migrated, which takes seconds) once."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('caller')}/caller.db"
    MlflowClient(uri).search_experiments()
    return uri


@pytest.fixture
def caller(caller_store: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A caller that set its own tracking URI and experiment, as a notebook would; restored afterwards."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(mlflow.tracking._tracking_service.utils, "_tracking_uri", None)
    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    uri = caller_store
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("caller-experiment")
    yield uri
    while mlflow.active_run():
        mlflow.end_run()


def test_evaluate_leaves_the_callers_mlflow_state_alone(caller, tmp_path, callbacks, mlflow_server):
    before = _state()
    other = mlflow_server  # the regulator's server; the caller works in its own store
    result = harness.evaluate(HIRING, predictions=callbacks, out=tmp_path / "out", tracking_uri=other, as_of=AS_OF)
    assert result.run_id and result.tracking_error is None
    assert _state() == before
    run = MlflowClient(other).get_run(result.run_id)
    assert "mlflow.parentRunId" not in run.data.tags  # no run of the caller was active
    with mlflow.start_run() as mine:  # the caller's next run lands in its own experiment and store
        assert mine.info.experiment_id == mlflow.get_experiment_by_name("caller-experiment").experiment_id


def test_inside_an_active_run_the_evaluation_is_a_nested_run_of_it(caller, tmp_path, callbacks):
    with mlflow.start_run() as parent:
        mlflow.log_param("vendor_param", "kept")
        before = _state()
        result = harness.evaluate(HIRING, predictions=callbacks, out=tmp_path / "out", as_of=AS_OF)
        assert _state() == before
        assert mlflow.active_run().info.run_id == parent.info.run_id
    client = MlflowClient(caller)
    child = client.get_run(result.run_id)
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.info.experiment_id == parent.info.experiment_id
    assert child.info.status == "FINISHED"
    mine = client.get_run(parent.info.run_id)
    assert mine.data.params == {"vendor_param": "kept"} and mine.data.metrics == {}
    assert not any(k.startswith("oversight.") for k in mine.data.tags)
    report = harness.verify_bundle(result.bundle, tracking_uri=caller)
    assert report["ok"], report["problems"]


def test_nested_false_refuses_inside_an_active_run_and_writes_nothing(caller, tmp_path, callbacks):
    with mlflow.start_run() as parent:
        with pytest.raises(InputError) as err:
            harness.evaluate(HIRING, predictions=callbacks, out=tmp_path / "out", nested=False)
    assert str(err.value) == (f"MLflow run {parent.info.run_id} is active and nested=False: end it first, or pass "
                              "nested=True to log the evaluation as a nested run of it")
    assert not (tmp_path / "out").exists()


def test_a_dataframe_is_judged_as_the_same_predictions_in_a_file(declared, callbacks, tmp_path):
    path = tmp_path / "callbacks.csv"
    callbacks.to_csv(path, index=False)
    from_file = harness.evaluate(HIRING, predictions=path, tracking=False, as_of=AS_OF)
    pd.testing.assert_frame_equal(declared.measurements, from_file.measurements)
    pd.testing.assert_frame_equal(declared.verdicts, from_file.verdicts)
    model = declared.summary["model"]
    stored = hashlib.sha256((declared.bundle / "predictions.parquet").read_bytes()).hexdigest()
    assert (model["kind"], model["uri"], model["sha256"], model["fingerprint"]) == (
        "file", "(in memory)", stored, stored[:16])
    report = harness.verify_bundle(declared.bundle)
    assert not report["problems"], report["problems"]


def test_a_mapping_of_arrays_without_out_or_tracking_writes_nothing(declared, callbacks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = harness.evaluate(HIRING, predictions={"id": callbacks["id"].to_numpy(),
                                                   "decision": callbacks["decision"].to_numpy()},
                              tracking=False, as_of=AS_OF)
    assert result.bundle is None and result.run_id is None
    assert list(tmp_path.iterdir()) == []  # no reports/ folder, no scratch
    pd.testing.assert_frame_equal(result.measurements, declared.measurements)


def test_bad_in_memory_predictions_are_named_as_such(callbacks):
    frame = callbacks.rename(columns={"decision": "callback"})
    with pytest.raises(PredictionsError) as err:
        harness.evaluate(HIRING, predictions=frame, tracking=False)
    assert str(err.value) == ("predictions DataFrame lacks required column(s) ['decision']; found columns "
                              "['id', 'callback']; expected id, decision and optionally score")
    with pytest.raises(PredictionsError) as err:
        harness.evaluate(HIRING, predictions={"id": np.arange(3), "decision": np.zeros(2)}, tracking=False)
    assert str(err.value) == ("predictions mapping: columns have different lengths (id: 3, decision: 2); "
                              "expected one value per row in every column")
    bad = callbacks.assign(decision=callbacks["decision"].astype(float))
    bad.loc[7, "decision"] = 0.5
    with pytest.raises(PredictionsError) as err:
        harness.evaluate(HIRING, predictions=bad, tracking=False)
    assert "predictions DataFrame" in str(err.value) and "rows 7 (counting from 0; id " in str(err.value)


def test_by_group_is_one_row_per_group_with_value_interval_n_and_status(declared):
    wide = declared.by_group("H3-race")
    assert list(wide.columns) == ["metric", "value", "ci_low", "ci_high", "n", "status", "threshold", "compared",
                                  "reason"]
    long = declared.measurements.query("requirement == 'H3-race'").set_index("group")
    assert list(wide.index) == list(long.index)
    pd.testing.assert_series_equal(wide["value"], long["value"])
    assert wide.loc["black", "status"] == "flag"
    with pytest.raises(InputError) as err:
        declared.by_group("H3-rase")
    assert str(err.value) == ("requirement 'H3-rase' is not in this evaluation; did you mean 'H3-race'? "
                              "(requirements: H1-sex, H1-race, H1-sex-race, H3-sex, H3-race, H3-sex-race)")


def test_overall_repr_and_html_summarise_the_requirements(declared):
    overall = declared.overall
    assert list(overall.index) == [r["id"] for r in declared.summary["requirements"]]
    assert overall.loc["H3-race", "status"] == "flag" and overall.loc["H3-race", "not_passing"] == "black"
    text = repr(declared)
    assert text.startswith("<Evaluation hiring-aedt v1: non_compliant (grace_period, as of 2026-06-01)\n")
    assert "  H3-race: flag [black]" in text and len(text) < 1200 and text.count("\n") < 20
    page = declared._repr_html_()
    assert "<strong>NON COMPLIANT</strong>" in page and "<table" in page and "H3-race" in page


def test_a_skops_file_is_logged_with_its_hash_and_an_mlflow_model_is_linked(caller, tmp_path):
    import skops.io
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier(strategy="constant", constant=1).fit([[0], [1]], [0, 1])
    path = tmp_path / "vendor.skops"
    skops.io.dump(model, path)
    client = MlflowClient(caller)
    result = harness.evaluate(HIRING, model=str(path), sandbox=False, out=tmp_path / "a", as_of=AS_OF)
    run = client.get_run(result.run_id)
    assert run.data.tags["oversight.model_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [a.path for a in client.list_artifacts(result.run_id, "model")] == ["model/vendor.skops"]
    assert run.inputs.model_inputs == []  # a file is no LoggedModel: nothing to link

    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="screener", pip_requirements=[])
    linked = harness.evaluate(HIRING, model=info.model_uri, sandbox=False, trust_model=True, out=tmp_path / "b",
                              as_of=AS_OF)
    run = client.get_run(linked.run_id)
    assert [m.model_id for m in run.inputs.model_inputs] == [info.model_id]
    assert run.data.params["model_uri"] == info.model_uri
    assert client.list_artifacts(linked.run_id, "model") == []


def test_a_nested_run_left_pending_is_nested_when_sync_logs_it(caller, tmp_path, callbacks):
    from conftest import free_port
    from harness.evidence.sync import sync

    down = f"http://127.0.0.1:{free_port()}"
    with mlflow.start_run() as parent:
        result = harness.evaluate(HIRING, predictions=callbacks, out=tmp_path, tracking_uri=down, as_of=AS_OF,
                                  tracking_timeout=0.5)
    assert result.run_id is None and result.pending is not None
    (done,) = sync(tmp_path, tracking_uri=caller)
    assert done.status == "logged", done.message
    child = MlflowClient(caller).get_run(done.run_id)
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.info.experiment_id == parent.info.experiment_id
