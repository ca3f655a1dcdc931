"""Every route to ``Predictions`` and every error it can raise, with exact messages."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import mlflow
import mlflow.artifacts
import mlflow.pyfunc
import mlflow.sklearn
from mlflow.models.model import ModelInfo
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from sklearn.svm import LinearSVC

from harness.errors import ModelError, PredictionsError
from harness.declared import read_predictions
from harness.predictors import Predictions, fingerprint, predict
from harness.sandbox import Limits, Options, stage

N = 120


def _frame(n: int = N, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    inputs = pd.DataFrame({
        "income": rng.normal(0, 1, n),
        "tenure": rng.normal(0, 1, n),
        "region": rng.choice(["north", "south", "east"], n),
    })
    label = ((inputs["income"] + 0.5 * inputs["tenure"] + rng.normal(0, 0.5, n)) > 0).astype(int)
    return inputs, label.to_numpy()


INPUTS, LABEL = _frame()
NUMERIC = INPUTS[["income", "tenure"]]
IDS = np.arange(1000, 1000 + N)


def _logistic() -> LogisticRegression:
    return LogisticRegression().fit(NUMERIC, LABEL)


def _pipeline() -> FixedThresholdClassifier:
    inputs = INPUTS.copy()
    inputs.loc[::9, "income"] = np.nan
    prep = ColumnTransformer([
        ("num", SimpleImputer(strategy="median"), ["income", "tenure"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"]),
    ])
    model = Pipeline([("prep", prep), ("clf", LogisticRegression())])
    return FixedThresholdClassifier(model, threshold=0.3).fit(inputs, LABEL)


def _double(x: np.ndarray) -> np.ndarray:
    return x * 2


# --- estimators in memory ----------------------------------------------------


def test_estimator_in_memory_gives_predict_and_positive_class_probability() -> None:
    model = _logistic()
    out = predict(model, NUMERIC, IDS)
    np.testing.assert_array_equal(out.decision, model.predict(NUMERIC))
    np.testing.assert_array_equal(out.score, model.predict_proba(NUMERIC)[:, 1])
    np.testing.assert_array_equal(out.ids, IDS)
    assert out.decision.dtype == np.int8 and out.score.dtype == np.float64
    assert out.source["kind"] == "estimator"
    assert out.source["uri"] == "memory:LogisticRegression"
    assert out.source["sha256"] == fingerprint(model)
    assert out.source["fingerprint"] == out.source["sha256"][:16]
    assert list(out.frame().columns) == ["id", "decision", "score"]


def test_positive_class_column_follows_classes_order() -> None:
    model = LogisticRegression().fit(NUMERIC, np.where(LABEL == 1, True, False))
    out = predict(model, NUMERIC, IDS)
    np.testing.assert_array_equal(out.score, model.predict_proba(NUMERIC)[:, 1])
    np.testing.assert_array_equal(out.decision, model.predict(NUMERIC).astype(int))


def test_decision_function_is_the_score_without_predict_proba() -> None:
    model = LinearSVC().fit(NUMERIC, LABEL)
    out = predict(model, NUMERIC, IDS)
    np.testing.assert_array_equal(out.score, model.decision_function(NUMERIC))


def test_estimator_with_predict_only_has_no_score() -> None:
    class Rule:
        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            return (frame["income"] > 0).to_numpy()

    out = predict(Rule(), NUMERIC, IDS)
    assert out.score is None
    np.testing.assert_array_equal(out.decision, (NUMERIC["income"] > 0).astype(int))
    assert list(out.frame().columns) == ["id", "decision"]


def test_classes_without_one_are_refused() -> None:
    model = LogisticRegression().fit(NUMERIC, np.where(LABEL == 1, "yes", "no"))
    with pytest.raises(PredictionsError) as err:
        predict(model, NUMERIC, IDS)
    assert str(err.value) == (
        "model estimator memory:LogisticRegression: predict_proba gave shape (120, 2) for "
        "classes ['no', 'yes']; expected one column per class, the positive class 1 among them, "
        "so its probability can be the score")


def test_fingerprint_is_stable_across_dumps_round_trips_and_processes() -> None:
    model = _pipeline()
    digest = fingerprint(model)
    assert len(digest) == 64 and digest == fingerprint(model)
    reloaded = skops.io.loads(skops.io.dumps(model), trusted=["numpy.dtype"])
    assert fingerprint(reloaded) == digest
    assert fingerprint(_logistic()) != digest
    code = ("import tests.test_predictors as t, harness.predictors as p; "
            "print(p.fingerprint(t._pipeline()))")
    root = Path(__file__).resolve().parents[1]
    other = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                           text=True, check=True, env={**os.environ, "PYTHONPATH": str(root)})
    assert other.stdout.strip() == digest


def test_fingerprint_of_a_file_is_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(b"model bytes")
    assert fingerprint(path) == hashlib.sha256(b"model bytes").hexdigest()
    assert fingerprint(str(path)) == fingerprint(path)
    assert fingerprint(lambda frame: frame) == ""
    assert fingerprint(_income_rule) == ""
    assert fingerprint(_Cutoff(0.2)) == fingerprint(_Cutoff(0.2)) != fingerprint(_Cutoff(0.3))


class _Cutoff:
    """A callable model with state: its state is what the fingerprint hashes."""

    def __init__(self, cutoff: float) -> None:
        self.cutoff = cutoff

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        return (frame["income"] > self.cutoff).to_numpy()


# --- .skops files ------------------------------------------------------------


def test_skops_round_trip_of_a_pipeline(tmp_path: Path) -> None:
    model = _pipeline()
    path = tmp_path / "vendor.skops"
    skops.io.dump(model, path)
    for given in (path, str(path)):
        out = predict(given, INPUTS, IDS)
        np.testing.assert_array_equal(out.decision, model.predict(INPUTS))
        np.testing.assert_array_equal(out.score, model.predict_proba(INPUTS)[:, 1])
        assert out.source == {
            "kind": "skops",
            "uri": str(path),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "fingerprint": hashlib.sha256(path.read_bytes()).hexdigest()[:16],
        }


def test_skops_untrusted_type_is_refused_until_trusted(tmp_path: Path) -> None:
    model = make_pipeline(FunctionTransformer(_double), LogisticRegression()).fit(NUMERIC, LABEL)
    path = tmp_path / "custom.skops"
    skops.io.dump(model, path)
    name = f"{_double.__module__}._double"
    with pytest.raises(ModelError) as err:
        predict(path, NUMERIC, IDS)
    assert str(err.value) == (
        f"model file {path} contains types that are not trusted: ['{name}']; review them and, "
        f"if they are safe, pass --trust-type {name}")
    out = predict(path, NUMERIC, IDS, trusted=[name], options=Options(sandbox=False))
    np.testing.assert_array_equal(out.decision, model.predict(NUMERIC))


def test_a_trusted_type_must_be_importable_in_the_model_process(tmp_path: Path) -> None:
    """The sandbox holds the Python environment, not the caller's modules (here, this test file)."""
    model = make_pipeline(FunctionTransformer(_double), LogisticRegression()).fit(NUMERIC, LABEL)
    path = tmp_path / "custom.skops"
    skops.io.dump(model, path)
    with pytest.raises(ModelError) as err:
        predict(path, NUMERIC, IDS, trusted=[f"{_double.__module__}._double"])
    assert str(err.value) == (f"cannot load model skops {path}: ModuleNotFoundError: No module named "
                              f"'{_double.__module__}' (rerun with --debug to see the model's output)")


def test_model_paths_that_cannot_be_used(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        predict(tmp_path / "absent.skops", NUMERIC, IDS)
    absent = tmp_path / "absent.skops"
    assert str(err.value) == f"model file {absent} not found; expected a .skops file"
    (tmp_path / "broken.skops").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match=r"^cannot read model file .*broken\.skops: BadZipFile: "):
        predict(tmp_path / "broken.skops", NUMERIC, IDS)
    with pytest.raises(ModelError) as err:
        predict(tmp_path / "model.pkl", NUMERIC, IDS)
    assert str(err.value) == (
        f"model file {tmp_path / 'model.pkl'} is a pickle, which runs arbitrary code when loaded; "
        "save the model with skops (.skops) or, if you trust it, pass --trust-model")
    with pytest.raises(ModelError) as err:
        predict(tmp_path / "model.onnx", NUMERIC, IDS)
    assert str(err.value) == (
        f"cannot load model '{tmp_path / 'model.onnx'}': expected a .skops file, an MLflow model "
        "directory (with an MLmodel file) or a URI starting with runs:/, models:/, file:")
    with pytest.raises(ModelError) as err:
        predict(42, NUMERIC, IDS)
    assert str(err.value) == (
        "cannot use a int as a model: expected a fitted estimator, a .skops path, an MLflow "
        "model URI or directory, or a callable")


# --- MLflow ------------------------------------------------------------------


Logged = tuple[LogisticRegression, ModelInfo, str]


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Logged]:
    """A model logged to a private SQLite tracking store: (model, model_info, run_id).

    MLflow 3 names the model with ``name=`` (``artifact_path=`` is deprecated).
    """
    root = tmp_path_factory.mktemp("mlflow")
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    try:
        artifacts = (root / "artifacts").as_uri()
        experiment = mlflow.create_experiment("predictors", artifact_location=artifacts)
        model = _logistic()
        with mlflow.start_run(experiment_id=experiment) as run:
            info = mlflow.sklearn.log_model(model, name="model")
        yield model, info, run.info.run_id
    finally:
        mlflow.set_tracking_uri(previous)  # None unsets it


def test_mlflow_runs_uri(logged: Logged, tmp_path: Path) -> None:
    """An MLflow model is fingerprinted from its artifact files, never by loading it here."""
    model, _, run_id = logged
    uri = f"runs:/{run_id}/model"
    out = predict(uri, NUMERIC, IDS)
    np.testing.assert_array_equal(out.decision, model.predict(NUMERIC))
    np.testing.assert_array_equal(out.score, model.predict_proba(NUMERIC)[:, 1])
    assert out.source["kind"] == "mlflow" and out.source["uri"] == uri
    files = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path)))
    assert out.source["sha256"] == fingerprint(files) == _tree_digest(files)


def _tree_digest(root: Path) -> str:
    lines = sorted(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}\n"
                   for p in root.rglob("*") if p.is_file())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def test_mlflow_models_uri_from_model_info(logged: Logged) -> None:
    _, info, run_id = logged
    assert info.model_uri == f"models:/{info.model_id}"
    staged, digest = stage(info.model_uri, trusted=(), trust_model=False, limits=Limits())
    staged.remove()
    same, expected = stage(f"runs:/{run_id}/model", trusted=(), trust_model=False, limits=Limits())
    same.remove()
    assert staged.kind == "mlflow" and staged.uri == info.model_uri and digest == expected


def test_mlflow_model_directory_and_file_uri(tmp_path: Path) -> None:
    model = _logistic()
    directory = tmp_path / "model"
    mlflow.sklearn.save_model(model, directory)
    out = predict(directory.as_uri(), NUMERIC, IDS)
    np.testing.assert_array_equal(out.score, model.predict_proba(NUMERIC)[:, 1])
    assert out.source["kind"] == "mlflow" and out.source["uri"] == directory.as_uri()
    for given in (directory, str(directory)):
        staged, digest = stage(given, trusted=(), trust_model=False, limits=Limits())
        staged.remove()
        assert (staged.kind, staged.uri, digest) == ("mlflow", str(given), out.source["sha256"])


def test_mlflow_model_folder_with_a_link_is_refused(tmp_path: Path) -> None:
    """A link in a vendor's model folder could point at the benchmark's labels."""
    directory = tmp_path / "model"
    mlflow.sklearn.save_model(_logistic(), directory)
    (directory / "labels.csv").symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(ModelError) as err:
        predict(directory, NUMERIC, IDS)
    assert str(err.value) == (f"MLflow model '{directory}' holds labels.csv, which is not a regular file or "
                              "folder (a link?); expected only the model's own files")


def test_mlflow_pyfunc_table_with_probability(tmp_path: Path) -> None:
    directory = tmp_path / "pyfunc"
    code = Path(__file__).parent / "models" / "table_pyfunc.py"
    mlflow.pyfunc.save_model(directory, python_model=str(code), pip_requirements=[])
    out = predict(directory, NUMERIC, IDS)
    expected = 1 / (1 + np.exp(-NUMERIC["income"].to_numpy()))
    np.testing.assert_allclose(out.score, expected)
    np.testing.assert_array_equal(out.decision, (expected > 0.5).astype(int))


def test_mlflow_uri_that_does_not_load() -> None:
    uri = "file:///nonexistent/model"
    with pytest.raises(ModelError, match=rf"^cannot load MLflow model '{uri}': "):
        predict(uri, NUMERIC, IDS)


# --- callables ---------------------------------------------------------------


def _income_rule(frame: pd.DataFrame) -> pd.Series:
    return frame["income"] > 0


def test_callable_returning_decisions() -> None:
    out = predict(_income_rule, NUMERIC, IDS)
    np.testing.assert_array_equal(out.decision, (NUMERIC["income"] > 0).astype(int))
    assert out.score is None
    assert out.source["kind"] == "callable" and out.source["uri"] == "memory:_income_rule"
    assert out.source["sha256"] == "" and out.source["fingerprint"] == ""


def test_callable_returning_decisions_and_scores() -> None:
    def rule(frame: pd.DataFrame) -> tuple[list[float], np.ndarray]:
        return [1.0 if v > 0 else 0.0 for v in frame["income"]], frame["income"].to_numpy()

    out = predict(rule, NUMERIC, IDS)
    np.testing.assert_array_equal(out.score, NUMERIC["income"].to_numpy())
    np.testing.assert_array_equal(out.decision, (NUMERIC["income"] > 0).astype(int))


def test_exception_from_the_model_is_a_model_error() -> None:
    def explode(frame: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("vendor bug")

    with pytest.raises(ModelError) as err:
        predict(explode, NUMERIC, IDS)
    assert str(err.value) == (
        f"model callable memory:{explode.__qualname__} failed on {N} rows: "
        "RuntimeError: vendor bug")
    with pytest.raises(ModelError, match=r"^model estimator memory:LogisticRegression failed on "
                                         rf"{N} rows: ValueError: "):
        predict(_logistic(), INPUTS, IDS)


def _constant(value: object):  # noqa: ANN202 - returns a throwaway model
    def model(frame: pd.DataFrame) -> object:
        return value

    return model


def test_output_of_the_wrong_length() -> None:
    with pytest.raises(PredictionsError) as err:
        predict(_constant(np.zeros(N - 1)), NUMERIC, IDS)
    assert str(err.value) == (
        f"model callable memory:_constant.<locals>.model returned decisions of shape ({N - 1},) "
        f"for {N} input rows; expected one value per row, shape ({N},)")


def test_non_binary_decisions_name_positions_ids_and_values() -> None:
    decisions = np.zeros(N)
    decisions[[3, 7]] = [2, -1]
    with pytest.raises(PredictionsError) as err:
        predict(_constant(decisions), NUMERIC, IDS)
    assert str(err.value) == (
        f"model callable memory:_constant.<locals>.model: decision is not 0/1 on 2 of {N} rows, "
        "first at positions [3, 7] (ids [1003, 1007]): found [2.0, -1.0]; expected 0 or 1 "
        "(true/false and 0.0/1.0 are accepted)")
    with pytest.raises(PredictionsError, match=r"found \['yes', 'yes', 'yes', 'yes', 'yes'\]"):
        predict(_constant(["yes"] * N), NUMERIC, IDS)


def test_bool_and_float_decisions_are_accepted() -> None:
    flags = (NUMERIC["income"] > 0).to_numpy()
    for decisions in (flags, flags.astype(float), flags.astype(object)):
        out = predict(_constant(decisions), NUMERIC, IDS)
        np.testing.assert_array_equal(out.decision, flags.astype(np.int8))


def test_nan_score_is_refused() -> None:
    scores = np.linspace(0, 1, N)
    scores[5] = np.nan
    with pytest.raises(PredictionsError) as err:
        predict(_constant((np.zeros(N), scores)), NUMERIC, IDS)
    assert str(err.value) == (
        f"model callable memory:_constant.<locals>.model: score is not a finite number on 1 of "
        f"{N} rows, first at positions [5] (ids [1005]): found [nan]; expected finite numbers")


def test_ids_must_match_inputs() -> None:
    with pytest.raises(PredictionsError) as err:
        predict(_income_rule, NUMERIC, IDS[:-1])
    assert str(err.value) == (
        f"ids has shape ({N - 1},) but inputs has {N} rows; expected one id per input row")


def test_predictions_are_frozen_and_read_only() -> None:
    out = predict(_income_rule, NUMERIC, IDS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.decision = out.decision  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        out.decision[0] = 1
    with pytest.raises(PredictionsError) as err:
        Predictions(ids=IDS, decision=np.zeros(N), score=None, source={"kind": "file"})
    assert str(err.value) == (
        f"invalid Predictions: decision must be int8 of shape ({N},), found float64 of shape "
        f"({N},); source lacks ['uri', 'sha256', 'fingerprint']; expected keys "
        "['kind', 'uri', 'sha256', 'fingerprint']")


# --- predictions files -------------------------------------------------------


def _declared(ids: np.ndarray) -> pd.DataFrame:
    """A whole-benchmark predictions table, shuffled, for ids 0..n-1 with decision = id % 2."""
    order = np.random.default_rng(1).permutation(len(ids))
    ids = ids[order]
    return pd.DataFrame({"id": ids, "decision": ids % 2, "score": ids / 100.0})


def test_csv_is_reordered_to_expected_ids_and_extra_ids_ignored(tmp_path: Path) -> None:
    path = tmp_path / "preds.csv"
    _declared(np.arange(50)).to_csv(path, index=False)
    expected = np.array([40, 3, 17, 8])
    out = read_predictions(path, expected_ids=expected)
    np.testing.assert_array_equal(out.ids, expected)
    assert out.ids.dtype == expected.dtype
    np.testing.assert_array_equal(out.decision, [0, 1, 1, 0])
    np.testing.assert_array_equal(out.score, [0.40, 0.03, 0.17, 0.08])
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert out.source == {"kind": "file", "uri": str(path), "sha256": digest,
                          "fingerprint": digest[:16]}


def test_gzipped_csv_without_score_and_text_ids(tmp_path: Path) -> None:
    path = tmp_path / "preds.csv.gz"
    path.write_bytes(gzip.compress(b"id,decision\n007,true\nA12,false\n"))
    out = read_predictions(path, expected_ids=np.array(["A12", "007"], dtype=object))
    np.testing.assert_array_equal(out.decision, [0, 1])
    assert out.score is None and out.ids.tolist() == ["A12", "007"]


def test_parquet_with_string_ids_is_reordered(tmp_path: Path) -> None:
    path = tmp_path / "preds.parquet"
    table = _declared(np.arange(30))
    table["id"] = [f"r{i}" for i in table["id"]]
    table.to_parquet(path)
    out = read_predictions(path, expected_ids=np.array(["r29", "r0", "r5"], dtype=object))
    np.testing.assert_array_equal(out.decision, [1, 0, 1])
    np.testing.assert_array_equal(out.score, [0.29, 0.0, 0.05])


def test_parquet_int_ids_match_other_int_widths(tmp_path: Path) -> None:
    path = tmp_path / "preds.parquet"
    _declared(np.arange(10, dtype=np.int32)).to_parquet(path)
    out = read_predictions(path, expected_ids=np.array([9, 2], dtype=np.int64))
    np.testing.assert_array_equal(out.decision, [1, 0])
    assert out.ids.dtype == np.int64


def _write(tmp_path: Path, text: str, name: str = "preds.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _read_error(path: Path, expected_ids: np.ndarray) -> str:
    with pytest.raises(PredictionsError) as err:
        read_predictions(path, expected_ids=expected_ids)
    return str(err.value)


def test_file_format_errors(tmp_path: Path) -> None:
    json_path = _write(tmp_path, "[]", "preds.json")
    assert _read_error(json_path, IDS) == (
        f"predictions file {json_path} has an unknown format; supported suffixes: "
        ".csv, .csv.gz, .parquet")
    absent = tmp_path / "absent.csv"
    assert _read_error(absent, IDS) == (
        f"cannot read predictions file {absent}: No such file or directory")
    broken = _write(tmp_path, "not parquet", "preds.parquet")
    assert _read_error(broken, IDS) == (
        f"predictions file {broken} is not a Parquet file (it does not start with the Parquet marker PAR1); "
        "expected a Parquet file: name a CSV file .csv")
    no_decision = _write(tmp_path, "id,prediction\n1,0\n")
    assert _read_error(no_decision, IDS) == (
        f"predictions file {no_decision} lacks required column(s) ['decision']; found columns "
        "['id', 'prediction']; expected id, decision and optionally score")


def test_id_errors(tmp_path: Path) -> None:
    empty = _write(tmp_path, "id,decision\n1,0\n,1\n")
    assert _read_error(empty, np.array([1])) == (
        f"predictions file {empty} has 1 row without an id, first at lines 3; "
        "expected an id on every row (a blank line is a row without one)")
    duplicated = _write(tmp_path, "id,decision\n1,0\n2,1\n1,1\n3,0\n2,0\n")
    assert _read_error(duplicated, np.array([1, 2, 3])) == (
        f"predictions file {duplicated}: 2 ids appear more than once, first 1 (lines 2, 4); "
        "2 (lines 3, 6); expected each id once")
    partial = _write(tmp_path, "id,decision\n1,0\n2,1\n")
    assert _read_error(partial, np.array([1, 2, 3, 4])) == (
        f"predictions file {partial} has no row for 2 of the 4 expected ids, first [3, 4]; "
        "expected a row for every benchmark id; the file's 2 rows start with ids ['1', '2'], 2 of them expected")


def test_value_errors(tmp_path: Path) -> None:
    decisions = _write(tmp_path, "id,decision\n1,0\n2,yes\n3,1\n4,2\n")
    assert _read_error(decisions, np.array([1, 2, 3, 4])) == (
        f"predictions file {decisions}: decision is not 0/1 on 2 of 4 rows, first at lines 3, 5 (ids 2, 4): "
        "found ['yes', '2']; expected 0 or 1 (true/false and 0.0/1.0 are accepted)")
    scores = _write(tmp_path, "id,decision,score\n1,0,0.2\n2,1,high\n3,1,\n")
    assert _read_error(scores, np.array([1, 2, 3])) == (
        f"predictions file {scores}: score is not a finite number on 2 of 3 rows, first at "
        "lines 3, 4 (ids 2, 3): found ['high', '']; expected finite numbers")
    parquet = tmp_path / "preds.parquet"
    pd.DataFrame({"id": [1, 2], "decision": [0.0, 0.5]}).to_parquet(parquet)
    assert _read_error(parquet, np.array([1, 2])) == (
        f"predictions file {parquet}: decision is not 0/1 on 1 of 2 rows, first at rows 1 "
        "(counting from 0; id 2): found [0.5]; expected 0 or 1 (true/false and 0.0/1.0 are accepted)")


def test_staging_an_mlflow_model_leaves_no_copy_behind(logged: Logged) -> None:
    _, _, run_id = logged
    staged, _ = stage(f"runs:/{run_id}/model", trusted=(), trust_model=False, limits=Limits())
    assert staged.temporary is not None and staged.temporary in staged.path.parents
    assert staged.temporary.parent == Path(tempfile.gettempdir())  # the whole folder made for the copy
    assert staged.temporary.name.startswith("oversight-mlflow-")
    staged.remove()
    assert not staged.temporary.exists()
