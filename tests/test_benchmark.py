"""Benchmark cards, data loading, hashing and the deterministic split."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from harness.benchmark import (
    BENCHMARKS_DIR,
    Benchmark,
    BenchmarkCard,
    assign_split,
    load_benchmark,
)
from harness.errors import BenchmarkError, InputError

# id -> (data file, SHA-256, rows, positives, test rows); checked by hand with sha256sum and zcat.
EXPECTED = {
    "resume-audit-2004": (
        "resume.csv.gz",
        "97560798cabdc67604fc5185e996f3fa224982ceb28f838eaa38c6c0405ae117",
        4870,
        392,
        1448,
    ),
    "flchain-mayo": (
        "flchain.csv.gz",
        "fe7fc84ca94ac33274c787aa2944ddfffbb7928f969de804113559e2eda933bd",
        7874,
        2169,
        2408,
    ),
    "nass-cds-1997-2002": (
        "nassCDS.csv.gz",
        "8cb00966d97d416efcd3a613a1e7474a6f43f0eb97491672f55ff586fb9bbd6c",
        26217,
        1180,
        7957,
    ),
}
LEAKS = {
    "resume-audit-2004": {"firstname"},
    "flchain-mayo": {"futime", "chapter"},
    "nass-cds-1997-2002": {"injSeverity"},
}


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def bench(request: pytest.FixtureRequest) -> Benchmark:
    return load_benchmark(request.param)


@pytest.fixture
def resume_copy(tmp_path: Path) -> Path:
    """A writable copy of the résumé benchmark folder."""
    folder = tmp_path / "resume-audit-2004"
    shutil.copytree(BENCHMARKS_DIR / "resume-audit-2004", folder)
    return folder


def _edit_card(folder: Path, old: str, new: str) -> None:
    card = folder / "benchmark.yaml"
    text = card.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in the card"
    card.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- the shipped benchmarks ---------------------------------------------------------------


def test_each_benchmark_loads_with_verified_hash_and_row_count(bench: Benchmark) -> None:
    name, sha, rows, positives, _ = EXPECTED[bench.id]
    path = BENCHMARKS_DIR / bench.id / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    assert bench.sha256 == sha
    assert bench.files() == [(path.resolve(), sha)]
    assert bench.card.files[0].rows == rows
    assert len(bench.frame) == rows and len(bench.split) == rows
    assert list(bench.frame.index) == list(range(rows))
    assert bench.y.dtype == np.int8 and set(np.unique(bench.y)) == {0, 1}
    assert int(bench.y.sum()) == positives
    assert np.array_equal(bench.ids, np.arange(rows))


def test_card_folder_and_card_path_load_the_same_benchmark() -> None:
    by_id = load_benchmark("flchain-mayo")
    by_folder = load_benchmark(BENCHMARKS_DIR / "flchain-mayo")
    by_card = load_benchmark(str(BENCHMARKS_DIR / "flchain-mayo" / "benchmark.yaml"))
    assert by_id.sha256 == by_folder.sha256 == by_card.sha256
    assert by_id.root == by_folder.root == by_card.root == BENCHMARKS_DIR / "flchain-mayo"
    pd.testing.assert_frame_equal(by_id.frame, by_card.frame)


def test_split_follows_the_documented_formula(bench: Benchmark) -> None:
    spec = bench.card.split
    units = bench.clusters if spec.unit == "cluster" else bench.ids
    for unit, split in zip(units, bench.split, strict=True):
        digest = hashlib.sha256(f"{spec.salt}:{unit}".encode()).hexdigest()
        expected = "test" if int(digest[:15], 16) / 16**15 < spec.test_share else "development"
        assert split == expected


def test_split_is_deterministic_and_about_thirty_percent(bench: Benchmark) -> None:
    again = load_benchmark(bench.id)
    assert np.array_equal(bench.split, again.split)
    assert set(bench.split) == {"development", "test"}
    share = float(np.mean(bench.split == "test"))
    assert 0.27 < share < 0.33
    assert int(np.sum(bench.split == "test")) == EXPECTED[bench.id][4]


def test_split_does_not_depend_on_row_order() -> None:
    bench = load_benchmark("nass-cds-1997-2002")
    order = np.random.default_rng(0).permutation(len(bench.frame))
    shuffled = assign_split(bench.clusters[order], salt="nass-cds-1997-2002/v1", test_share=0.3)
    assert np.array_equal(shuffled, bench.split[order])


def test_split_unit_text_is_the_same_for_int_and_float_columns() -> None:
    as_int = assign_split(np.arange(200), salt="s", test_share=0.3)
    as_float = assign_split(np.arange(200, dtype=float), salt="s", test_share=0.3)
    assert np.array_equal(as_int, as_float)
    # Pinned: a change to the formula or the unit text changes which rows are test.
    units = [384, 385, 386, 387, 388, 389, "2:3:1", 388.0]
    assert list(assign_split(units, salt="resume-audit-2004/v1", test_share=0.3)) == [
        "development", "development", "development", "test", "test", "development",
        "development", "test",
    ]


@pytest.mark.parametrize("bench_id", ["resume-audit-2004", "nass-cds-1997-2002"])
def test_no_cluster_is_in_both_splits(bench_id: str) -> None:
    bench = load_benchmark(bench_id)
    assert bench.card.split.unit == "cluster"
    test = set(bench.subset("test").clusters)
    development = set(bench.subset("development").clusters)
    assert test and development and not test & development


def test_subsets_are_reindexed_and_partition_the_rows(bench: Benchmark) -> None:
    test, development = bench.subset("test"), bench.subset("development")
    assert bench.subset("all") is bench
    assert len(test.frame) + len(development.frame) == len(bench.frame)
    assert list(test.frame.index) == list(range(len(test.frame)))
    assert set(test.split) == {"test"} and set(development.split) == {"development"}
    assert set(test.ids).isdisjoint(development.ids)
    assert np.array_equal(test.y, bench.y[bench.split == "test"])


def test_leaking_and_dropped_columns_are_gone(bench: Benchmark) -> None:
    leaks = LEAKS[bench.id]
    assert {d.column for d in bench.card.dropped} == leaks
    assert leaks.isdisjoint(bench.frame.columns)
    everything = bench.model_inputs(allow_sensitive=bench.card.sensitive)
    assert leaks.isdisjoint(everything.columns)
    assert bench.card.label.column not in everything.columns


def test_sensitive_columns_only_when_allowed(bench: Benchmark) -> None:
    sensitive = list(bench.card.sensitive)
    plain = bench.model_inputs()
    assert list(plain.columns) == list(bench.card.features)
    assert set(sensitive).isdisjoint(plain.columns)
    one = bench.model_inputs([sensitive[-1]])
    assert list(one.columns) == [*bench.card.features, sensitive[-1]]
    both = bench.model_inputs(list(reversed(sensitive)))
    assert list(both.columns) == [*bench.card.features, *sensitive]  # card order


def test_model_inputs_is_a_copy(bench: Benchmark) -> None:
    column = bench.card.features[0]
    before = bench.frame[column].copy()
    inputs = bench.model_inputs()
    inputs.loc[:, column] = inputs[column].iloc[::-1].to_numpy()
    pd.testing.assert_series_equal(bench.frame[column], before)


def test_resume_facts_from_the_provenance_notes() -> None:
    bench = load_benchmark("resume-audit-2004")
    rate = pd.Series(bench.y).groupby(bench.frame["race"].to_numpy()).mean()
    assert rate["white"] == pytest.approx(0.096509, abs=5e-7)
    assert rate["black"] == pytest.approx(0.064476, abs=5e-7)
    assert bench.card.cluster == "job_ad_id" and bench.weights is None


def test_transport_label_weights_and_slices() -> None:
    bench = load_benchmark("nass-cds-1997-2002")
    assert np.array_equal(bench.y, (bench.frame["dead"] == "dead").to_numpy().astype(np.int8))
    assert bench.weights is not None and bench.weights.dtype == np.float64
    assert np.all(bench.weights >= 0)
    assert {"frontal", "seatbelt"} <= set(bench.card.features) & set(bench.card.slices)
    assert {"sex", "ageOFocc"}.isdisjoint(bench.card.features)


def test_health_keeps_missing_creatinine() -> None:
    bench = load_benchmark("flchain-mayo")
    assert bench.clusters is None and bench.card.split.unit == "row"
    assert int(bench.model_inputs()["creatinine"].isna().sum()) == 1350


def test_card_models_are_frozen_and_closed() -> None:
    card = load_benchmark("flchain-mayo").card
    with pytest.raises(ValidationError):
        card.id = "other"  # type: ignore[misc]
    data = card.model_dump()
    data["colour"] = "red"
    with pytest.raises(ValidationError, match="colour"):
        BenchmarkCard.model_validate(data)


# --- error paths --------------------------------------------------------------------------


def test_hash_mismatch_is_refused_before_parsing(resume_copy: Path) -> None:
    data = resume_copy / "resume.csv.gz"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    data.write_bytes(bytes(raw))
    found = hashlib.sha256(bytes(raw)).hexdigest()
    expected = EXPECTED["resume-audit-2004"][1]
    message = (
        f"{resume_copy / 'benchmark.yaml'}:14: files[0].sha256: SHA-256 mismatch for "
        f"{data}: expected {expected}, found {found}"
    )
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(resume_copy)
    assert str(info.value) == message
    assert isinstance(info.value, InputError) and info.value.exit_code == 2


def test_verify_false_loads_changed_data_and_records_its_real_hash(resume_copy: Path) -> None:
    data = resume_copy / "resume.csv.gz"
    text = gzip.decompress(data.read_bytes()).decode()
    data.write_bytes(gzip.compress(text.replace("Chicago", "Chicago ").encode()))
    found = hashlib.sha256(data.read_bytes()).hexdigest()
    bench = load_benchmark(resume_copy, verify=False)
    assert bench.sha256 == found and bench.files() == [(data.resolve(), found)]


def test_missing_data_file(resume_copy: Path) -> None:
    (resume_copy / "resume.csv.gz").unlink()
    with pytest.raises(BenchmarkError, match=r"benchmark\.yaml:13: files\[0\]\.path: cannot read data "
                       r"file .*resume\.csv\.gz: No such file or directory"):
        load_benchmark(resume_copy)


def test_missing_card() -> None:
    with pytest.raises(BenchmarkError, match="benchmark card not found: expected a file at "):
        load_benchmark(Path("no/such/folder"))


def test_unknown_benchmark_id_suggests_the_closest() -> None:
    with pytest.raises(BenchmarkError) as info:
        load_benchmark("flchain-mayp")
    assert "unknown benchmark 'flchain-mayp'" in str(info.value)
    assert str(info.value).endswith(  # not the list of benchmarks present, which grows
        "did you mean 'flchain-mayo'? 'oversight benchmark list' shows every benchmark found"
    )


def test_unknown_column_in_card(resume_copy: Path) -> None:
    _edit_card(resume_copy, "  - job_city\n", "  - job_citty\n")
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(resume_copy)
    message = str(info.value)
    assert message.startswith(
        f"{resume_copy / 'benchmark.yaml'}:20: features[0]: column 'job_citty' is not in the "
        "data; did you mean 'job_city'? valid choices: job_ad_id, job_city, "
    )
    assert message.endswith("has_email_address, resume_quality")


def test_label_listed_as_feature(resume_copy: Path) -> None:
    _edit_card(resume_copy, "  - job_city\n", "  - job_city\n  - received_callback\n")
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(resume_copy)
    assert str(info.value) == (
        f"{resume_copy / 'benchmark.yaml'}:21: features[1]: 'received_callback' is the label "
        "column (label.column); expected it not in features"
    )


def test_dropped_column_listed_elsewhere(resume_copy: Path) -> None:
    _edit_card(resume_copy, "sensitive: [race, gender]", "sensitive: [race, gender, firstname]")
    with pytest.raises(BenchmarkError, match=re.escape(
        "sensitive[2]: column 'firstname' is in dropped; expected a dropped column nowhere else"
    )):
        load_benchmark(resume_copy)


def test_several_card_problems_are_reported_together_with_lines(resume_copy: Path) -> None:
    _edit_card(resume_copy, "task: binary_classification", "task: ranking\ncolour: red")
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(resume_copy)
    card = resume_copy / "benchmark.yaml"
    assert str(info.value).splitlines() == [
        f"{card}: 2 problems in the card:",
        f"  {card}:4: task: input should be 'binary_classification' or 'regression'; found 'ranking'",
        f"  {card}:5: colour: unknown key 'colour'; did you mean 'cluster'? valid choices: id, "
        "version, title, task, description, files, id_column, label, features, sensitive, "
        "slices, weight, cluster, dropped, split, source, citation, licence, labels, sealed",
    ]


def test_row_count_differs_from_card(resume_copy: Path) -> None:
    _edit_card(resume_copy, "rows: 4870", "rows: 4871")
    with pytest.raises(BenchmarkError, match=re.escape(
        "files[0].rows: expected 4871 rows in resume.csv.gz, found 4870"
    )):
        load_benchmark(resume_copy)


def test_positive_value_that_never_occurs(resume_copy: Path) -> None:
    _edit_card(resume_copy, "positive: 1}", 'positive: "1"}')
    with pytest.raises(BenchmarkError, match=re.escape(
        "label.positive: expected a value that occurs in 'received_callback' (0, 1), found '1'"
    )):
        load_benchmark(resume_copy)


def test_missing_label_is_an_error_with_its_row_count(resume_copy: Path) -> None:
    data = resume_copy / "resume.csv.gz"
    frame = pd.read_csv(data)
    frame.loc[[3, 5, 8], "received_callback"] = np.nan
    data.write_bytes(gzip.compress(frame.to_csv(index=False).encode()))
    _edit_card(resume_copy, EXPECTED["resume-audit-2004"][1],
               hashlib.sha256(data.read_bytes()).hexdigest())
    with pytest.raises(BenchmarkError, match=re.escape(
        "label.column: 3 of 4870 rows have no value in 'received_callback'; "
        "expected a value on every row"
    )):
        load_benchmark(resume_copy)


def test_cluster_split_needs_a_cluster(resume_copy: Path) -> None:
    _edit_card(resume_copy, "cluster: job_ad_id", "cluster: null")
    with pytest.raises(BenchmarkError, match=re.escape(
        "split.unit: expected a cluster column for unit 'cluster'; found cluster: null"
    )):
        load_benchmark(resume_copy)


def test_card_id_must_match_the_folder_it_is_looked_up_by(
    resume_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.catalog.installed", lambda kind: resume_copy.parent)
    _edit_card(resume_copy, "id: resume-audit-2004", "id: resume-audit-2005")
    with pytest.raises(BenchmarkError, match=re.escape(
        "id: expected 'resume-audit-2004' (the folder name), found 'resume-audit-2005'"
    )):
        load_benchmark("resume-audit-2004")


def test_invalid_yaml_names_the_line(resume_copy: Path) -> None:
    (resume_copy / "benchmark.yaml").write_text("id: [\n", encoding="utf-8")
    with pytest.raises(BenchmarkError, match=r"benchmark\.yaml:2: not valid YAML: "):
        load_benchmark(resume_copy)


def test_unknown_split_name() -> None:
    bench = load_benchmark("flchain-mayo")
    with pytest.raises(BenchmarkError) as info:
        bench.subset("tests")  # type: ignore[arg-type]
    assert str(info.value) == (
        f"benchmark flchain-mayo ({bench.root / 'benchmark.yaml'}): subset: unknown split "
        "'tests'; did you mean 'test'? valid choices: all, development, test"
    )


def test_unknown_sensitive_column_in_model_inputs() -> None:
    bench = load_benchmark("resume-audit-2004")
    where = f"benchmark resume-audit-2004 ({bench.root / 'benchmark.yaml'}): allow_sensitive"
    with pytest.raises(BenchmarkError) as info:
        bench.model_inputs(["rase"])
    assert str(info.value) == (
        f"{where}: 'rase' is not a sensitive column of the card; did you mean 'race'? "
        "valid choices: race, gender"
    )
    with pytest.raises(BenchmarkError, match="'job_city' is not a sensitive column"):
        bench.model_inputs(["job_city"])
    with pytest.raises(BenchmarkError, match="expected a sequence of column names, found the "
                       "string 'race'"):
        bench.model_inputs("race")


def test_several_files_are_concatenated_and_hashed_together(tmp_path: Path) -> None:
    source = BENCHMARKS_DIR / "flchain-mayo"
    frame = pd.read_csv(source / "flchain.csv.gz")
    parts = {"a.csv": frame.iloc[:5000], "b.csv.gz": frame.iloc[5000:]}
    files, lines = [], []
    for name, part in parts.items():
        text = part.to_csv(index=False).encode()
        raw = gzip.compress(text, mtime=0) if name.endswith(".gz") else text
        (tmp_path / name).write_bytes(raw)
        digest = hashlib.sha256(raw).hexdigest()
        files.append({"path": name, "sha256": digest, "format": "csv", "rows": len(part)})
        lines.append(f"{digest}  {name}\n")
    card = yaml.safe_load((source / "benchmark.yaml").read_text(encoding="utf-8"))
    card["files"] = files
    (tmp_path / "benchmark.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    bench = load_benchmark(tmp_path / "benchmark.yaml")
    assert len(bench.frame) == 7874 and list(bench.frame.index) == list(range(7874))
    assert bench.sha256 == hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()
    assert np.array_equal(bench.split, load_benchmark("flchain-mayo").split)


def test_assign_split_follows_its_definition_for_every_kind_of_unit() -> None:
    """sha256('<salt>:<unit>'), first 15 hex digits as a fraction of 16**15, against the share."""
    import hashlib

    rng = np.random.default_rng(5)
    ints = rng.integers(0, 10**12, 3000)
    mixed = [*ints[:50].tolist(), 7.0, 2.5, "ad-17", "ad-17", 12, np.int64(12), *[f"id{k}" for k in range(40)]]

    def definition(unit: object) -> str:
        key = str(int(unit)) if isinstance(unit, (int, np.integer)) or (
            isinstance(unit, float) and unit.is_integer()) else (repr(unit) if isinstance(unit, float) else str(unit))
        digest = hashlib.sha256(f"salt-1:{key}".encode()).hexdigest()
        return "test" if int(digest[:15], 16) / 16**15 < 0.3 else "development"

    for units in (ints, mixed, pd.Series(ints)):
        got = assign_split(units, salt="salt-1", test_share=0.3)
        assert got.tolist() == [definition(u) for u in list(units)]
    assert 0.25 < np.mean(assign_split(ints, salt="salt-1", test_share=0.3) == "test") < 0.35
