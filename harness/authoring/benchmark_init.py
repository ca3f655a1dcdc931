"""A draft benchmark card and datasheet from data files, for an author to complete.

The draft is checked by the same loader every run uses before ``init`` reports success:
hashes and row counts are those of the bytes read, every column gets a role, and the
split is the one :func:`harness.benchmark.assign_split` will compute from the salt.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..benchmark import CARD_NAME, ROW_ID, assign_split, load_benchmark
from ..errors import BenchmarkError, HarnessError

TEST_SHARE = 0.3
TODO = "TODO"
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
DATASHEET = (
    ("Motivation", "For what purpose was the dataset created? Who created it and who funded it?"),
    ("Composition", "What do the rows represent? Is any information missing? Does the dataset identify "
                    "sub-populations, or contain data that might be considered sensitive?"),
    ("Collection process", "How was the data acquired, over what timeframe, and was consent obtained?"),
    ("Preprocessing/cleaning/labeling", "What was done to the raw data (cleaning, labeling, dropped "
                                        "columns), and is the raw data kept?"),
    ("Uses", "What tasks has the dataset been used for, and what should it not be used for?"),
    ("Distribution", "How is the dataset distributed, and under what licence?"),
    ("Maintenance", "Who maintains the dataset, how are errors reported, and how will it be updated?"),
)


@dataclass(frozen=True)
class Roles:
    """The columns an author named on the command line."""

    label: str
    positive: str | None = None
    id_column: str | None = None
    sensitive: tuple[str, ...] = ()
    cluster: str | None = None
    weight: str | None = None


@dataclass(frozen=True)
class _File:
    name: str
    sha256: str
    format: str
    rows: int


def _format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".parquet":
        return "parquet"
    if ".csv" in suffixes[-2:]:
        return "csv"
    raise BenchmarkError(f"{path}: expected a .csv (optionally .gz, .bz2, .xz, .zst) or .parquet file, "
                         f"found suffix {''.join(path.suffixes) or '(none)'!r}")


def _read(path: Path) -> tuple[pd.DataFrame, _File]:
    """Parse a file from the very bytes that are hashed, as the loader does."""
    fmt = _format(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BenchmarkError(f"cannot read data file {path}: {exc.strerror or exc}") from None
    try:
        frame = (pd.read_parquet(io.BytesIO(data)) if fmt == "parquet" else
                 pd.read_csv(io.BytesIO(data), compression=_COMPRESSION.get(path.suffix.lower())))
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        raise BenchmarkError(f"cannot parse {path} as {fmt}: {exc}") from None
    if frame.empty:
        raise BenchmarkError(f"{path}: expected at least one data row, found none")
    return frame, _File(path.name, hashlib.sha256(data).hexdigest(), fmt, len(frame))


def read_files(paths: Sequence[Path]) -> tuple[pd.DataFrame, list[_File]]:
    frames, files = [], []
    for path in paths:
        frame, file = _read(path)
        if frames and list(frame.columns) != list(frames[0].columns):
            raise BenchmarkError(f"{path}: expected the columns of {paths[0]} "
                                 f"({list(frames[0].columns)}), found {list(frame.columns)}")
        if any(f.name == file.name for f in files):
            raise BenchmarkError(f"{path}: another data file is also named {file.name!r}; expected distinct names")
        frames.append(frame)
        files.append(file)
    return pd.concat(frames, ignore_index=True), files


def column_type(series: pd.Series) -> str:
    """A short description of what a column holds, for the author to check."""
    missing = int(series.isna().sum())
    kind = series.dtype.kind
    name = {"b": "boolean", "i": "integer", "u": "integer", "f": "number"}.get(kind, "text")
    if kind == "f" and series.dropna().apply(float.is_integer).all():
        name = "integer"
    distinct = int(series.nunique(dropna=True))
    text = f"{name}, {distinct} distinct"
    return text + (f", {missing} missing" if missing else "")


def _id_hint(series: pd.Series) -> str:
    """Flag a column whose every value differs: an identifier gives a model nothing to learn."""
    if series.dtype.kind != "f" and len(series) > 1 and series.nunique(dropna=False) == len(series):
        return "; every value distinct: an identifier? (move it to dropped)"
    return ""


def _check_roles(roles: Roles, columns: Sequence[str]) -> None:
    named = [("--label", roles.label), ("--id-column", roles.id_column), ("--cluster", roles.cluster),
             ("--weight", roles.weight), *(("--sensitive", s) for s in roles.sensitive)]
    for option, name in named:
        if name is not None and name not in columns:
            close = difflib.get_close_matches(name, list(columns), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the data has {len(columns)} columns, from {columns[0]!r}"
            raise BenchmarkError(f"{option}: column {name!r} is not in the data; {hint}")
    if roles.id_column is None and ROW_ID in columns:
        raise BenchmarkError(f"the data has a column {ROW_ID!r}; give --id-column {ROW_ID} "
                             "(without --id-column rows are keyed by their line number)")


def _task_and_positive(frame: pd.DataFrame, roles: Roles) -> tuple[str, int | str | None]:
    """Binary classification when a positive value is given or the label has two values."""
    column = frame[roles.label]
    values = column.dropna().unique().tolist()
    if roles.positive is not None:
        numeric = column.dtype.kind in "iuf" or column.dtype.kind == "b"
        positive: int | str = roles.positive
        if numeric and roles.positive.lstrip("-").isdigit():
            positive = int(roles.positive)
        if not (column == positive).any():
            shown = ", ".join(sorted(map(repr, values))[:10])
            raise BenchmarkError(f"--positive: {roles.positive!r} does not occur in {roles.label!r} "
                                 f"(values: {shown})")
        return "binary_classification", positive
    if len(values) == 2 and sorted(map(str, values)) in (["0", "1"], ["0.0", "1.0"], ["False", "True"]):
        return "binary_classification", 1
    if column.dtype.kind in "iuf" and len(values) > 2:
        return "regression", None
    shown = ", ".join(sorted(map(repr, values))[:10])
    raise BenchmarkError(f"--positive: label {roles.label!r} has values {shown}; give the value that "
                         "counts as 1 with --positive")


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def split_counts(frame: pd.DataFrame, split: np.ndarray, columns: Sequence[str]) -> list[str]:
    """Comment lines: rows in each split, overall and per group of each sensitive column."""
    labels = pd.Series(split)
    lines = ["#   all: " + ", ".join(f"{s} {int((labels == s).sum())}" for s in ("development", "test"))]
    for column in columns:
        counts = pd.crosstab(frame[column].astype(str).to_numpy(), split)
        for value, row in counts.iterrows():
            lines.append(f"#   {column}={value}: " + ", ".join(
                f"{s} {int(row.get(s, 0))}" for s in ("development", "test")))
    return lines


def card_text(bench_id: str, frame: pd.DataFrame, files: Sequence[_File], roles: Roles) -> str:
    """The draft card: data, roles and split filled in, prose fields marked TODO."""
    task, positive = _task_and_positive(frame, roles)
    taken = {roles.label, roles.id_column, roles.cluster, roles.weight, *roles.sensitive}
    features = [str(c) for c in frame.columns if c not in taken]
    if not features:
        raise BenchmarkError("every column has a role other than feature; expected at least one "
                             "column a model may see")
    unit = "cluster" if roles.cluster else "row"
    salt = f"{bench_id}/v1"
    units = frame[roles.cluster] if roles.cluster else (
        frame[roles.id_column] if roles.id_column else pd.Series(np.arange(len(frame))))
    split = assign_split(units, salt=salt, test_share=TEST_SHARE)
    out = [f"# Draft card written by 'oversight benchmark init': replace every {TODO}, review the",
           "# column roles (move label leaks and identifiers to 'dropped' with a reason), then run",
           "# 'oversight benchmark validate' on this folder. Comments give each column's inferred type.",
           f"id: {bench_id}", "version: 1", f"title: {_q(TODO + ': a one-line title')}",
           f"task: {task}", f"description: {_q(TODO + ': what the rows are and what is predicted')}", "files:"]
    for file in files:
        out += [f"  - path: {_q(file.name)}", f"    sha256: {file.sha256}", f"    format: {file.format}",
                f"    rows: {file.rows}"]
    out.append(f"id_column: {_q(roles.id_column) if roles.id_column else 'null'}"
               + (f"  # {column_type(frame[roles.id_column])}" if roles.id_column else
                  f"  # rows are keyed by {ROW_ID}, the line number"))
    out.append(f"label: {{column: {_q(roles.label)}, positive: {_q(positive) if positive is not None else 'null'}}}"
               f"  # {column_type(frame[roles.label])}")
    out.append("features:")
    out += [f"  - {_q(name)}  # {column_type(frame[name])}{_id_hint(frame[name])}" for name in features]
    out.append("sensitive:" + ("" if roles.sensitive else " []"))
    out += [f"  - {_q(name)}  # {column_type(frame[name])}" for name in roles.sensitive]
    out.append("slices: []")
    for field, name in (("weight", roles.weight), ("cluster", roles.cluster)):
        out.append(f"{field}: {_q(name)}  # {column_type(frame[name])}" if name else f"{field}: null")
    out.append("dropped: []")
    out.append(f"# Rows per split ({'units: ' + str(roles.cluster) if roles.cluster else 'one unit per row'}):")
    out += split_counts(frame, split, roles.sensitive)
    out.append(f"split: {{unit: {unit}, test_share: {TEST_SHARE}, salt: {_q(salt)}}}")
    out += ["source:", f"  name: {_q(TODO + ': who collected the data')}",
            f"  url: {_q(TODO + ': where it is published')}",
            f"  retrieved_from: {_q(TODO + ': where these files came from')}",
            f"citation: {_q(TODO + ': how to cite the data')}", f"licence: {_q(TODO + ': the licence')}"]
    return "\n".join(out) + "\n"


def datasheet_text(bench_id: str, frame: pd.DataFrame, files: Sequence[_File], roles: Roles) -> str:
    """A README with the questions of Datasheets for Datasets (Gebru et al.) to answer."""
    lines = [f"# {bench_id}: datasheet", "",
             "Headings follow Gebru et al., \"Datasheets for Datasets\" (Communications of the ACM 64(12), "
             "2021). Answer each question; delete none.", ""]
    for heading, question in DATASHEET:
        lines += [f"## {heading}", "", f"{TODO}: {question}", ""]
        if heading == "Composition":
            lines += [f"{len(frame)} rows, {len(frame.columns)} columns; label `{roles.label}`.", "",
                      "| file | rows | SHA-256 |", "|---|---:|---|"]
            lines += [f"| `{f.name}` | {f.rows} | `{f.sha256}` |" for f in files]
            lines.append("")
    return "\n".join(lines)


def init_benchmark(paths: Sequence[Path], *, bench_id: str, roles: Roles, out: Path) -> Path:
    """Write ``benchmark.yaml`` and ``README.md`` into ``out`` (copying data files there); the card path.

    Nothing is overwritten; if the draft does not load, what was written is removed again.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", bench_id):
        raise BenchmarkError(f"--id: expected lower case letters, digits, '.', '_' or '-', starting with a "
                             f"letter or digit; found {bench_id!r}")
    frame, files = read_files(paths)
    _check_roles(roles, [str(c) for c in frame.columns])
    card, sheet = card_text(bench_id, frame, files, roles), datasheet_text(bench_id, frame, files, roles)
    out.mkdir(parents=True, exist_ok=True)
    targets = [out / CARD_NAME, out / "README.md"]
    copies = [(p, out / f.name) for p, f in zip(paths, files, strict=True)
              if (out / f.name).resolve() != p.resolve()]
    for path in [*targets, *(dst for _, dst in copies)]:
        if path.exists():
            raise BenchmarkError(f"{path} exists; expected a folder without it (nothing was written)")
    written: list[Path] = []
    try:
        for src, dst in copies:
            shutil.copyfile(src, dst)
            written.append(dst)
        for path, text in zip(targets, (card, sheet), strict=True):
            path.write_text(text, encoding="utf-8")
            written.append(path)
        load_benchmark(out)
    except (HarnessError, OSError) as exc:
        for path in written:
            path.unlink(missing_ok=True)
        raise BenchmarkError(f"the draft does not validate, so nothing was kept: {exc}") from None
    return out / CARD_NAME
