"""Benchmark cards and the data they describe.

A benchmark is a folder with a card (``benchmark.yaml``) and its data files. Each file
is hashed before it is parsed, refused if the hash differs from the card, and parsed
from the very bytes that were hashed. The development/test split is a pure function of
the card's salt and each unit's value: it depends on neither row order nor library versions.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from harness.catalog import find_benchmark, installed
from harness.errors import BenchmarkError
from harness.progress import stage
from harness.yamlio import load_yaml, read_capped

__all__ = [
    "BENCHMARKS_DIR", "Benchmark", "BenchmarkCard", "DataFile", "DroppedColumn", "Label", "SealRecord",
    "Source", "SplitSpec", "assign_split", "load_benchmark", "load_card",
]

BENCHMARKS_DIR: Path = installed("benchmarks")  # the shipped defaults; see harness.catalog for the search path
CARD_NAME = "benchmark.yaml"
ROW_ID = "row_id"
SubsetName = Literal["test", "development", "all"]
SUBSETS: tuple[str, ...] = ("all", "development", "test")
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}

# the card's model lives in benchmark_card; its names are importable from here as before
from harness.benchmark_card import (BenchmarkCard, DataFile, DroppedColumn, Label, Loc, SealRecord, Source,
                                    SplitSpec, label_values)


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(name, options, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}valid choices: {', '.join(options)}"


def _loc_text(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def _line_of(node: yaml.Node | None, loc: Loc) -> int | None:
    """Line of the deepest part of ``loc`` present in the YAML node tree."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pairs = [(k, v) for k, v in node.value if k.value == part]
            if not pairs:
                break
            line, node = pairs[0][0].start_mark.line + 1, pairs[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


class _Card:
    """A card file with its YAML node tree, so that every error can give its line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        raw = read_capped(path, what="benchmark card", error=BenchmarkError)
        doc = load_yaml(raw, source=str(path), what="benchmark card", error=BenchmarkError)
        self.text, self.data, self.nodes = doc.text, doc.data, doc.node

    def error(self, problems: Sequence[tuple[Loc, str]]) -> BenchmarkError:
        lines = []
        for loc, message in problems:
            line = _line_of(self.nodes, loc)
            lines.append(f"{self.path}{f':{line}' if line else ''}: {_loc_text(loc)}: {message}")
        if len(lines) == 1:
            return BenchmarkError(lines[0])
        head = f"{self.path}: {len(lines)} problems in the card:"
        return BenchmarkError("\n  ".join([head, *lines]))

    def parse(self) -> BenchmarkCard:
        data = self.data
        if not isinstance(data, dict):
            found = "an empty file" if self.nodes is None else type(data).__name__
            raise self.error([((), f"expected a mapping of card fields, found {found}")])
        try:
            return BenchmarkCard.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            # A bad item also makes pydantic call its tuple too short: keep the cause only.
            errors = [e for e in errors if e["type"] != "too_short" or not any(
                o is not e and o["loc"][: len(e["loc"])] == e["loc"] for o in errors)]
            raise self.error([_explain(e) for e in errors]) from None


_MODELS: dict[str, type[BaseModel]] = {
    "files": DataFile, "label": Label, "dropped": DroppedColumn, "split": SplitSpec, "source": Source,
    "sealed": SealRecord,
}


def _explain(error: Any) -> tuple[Loc, str]:
    loc: Loc = tuple(error["loc"])
    found = repr(error.get("input"))
    found = found if len(found) <= 80 else found[:77] + "..."
    if error["type"] == "extra_forbidden":
        model = _MODELS.get(str(loc[0]), BenchmarkCard) if len(loc) > 1 else BenchmarkCard
        return loc, f"unknown key {loc[-1]!r}; " + _did_you_mean(str(loc[-1]), model.model_fields)
    if error["type"] == "missing":
        return loc, "required key is missing"
    if error["type"] == "column_role":
        return loc, str(error["msg"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return loc, f"{message[0].lower()}{message[1:]}; found {found}"


def _resolve(ref: str | Path) -> tuple[Path, str | None]:
    """Card path for ``ref``, and the id asked for when ``ref`` is a bare benchmark id (see harness.catalog)."""
    if isinstance(ref, str) and "/" not in ref and "\\" not in ref:
        return find_benchmark(ref) / CARD_NAME, ref
    path = Path(ref)
    card = path / CARD_NAME if path.is_dir() else path
    if card.is_file():
        return card, None
    raise BenchmarkError(f"benchmark card not found: expected a file at {card}")


def _read_file(card: _Card, i: int, spec: DataFile, *, verify: bool) -> tuple[pd.DataFrame, str]:
    path = card.path.parent / spec.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = f"cannot read data file {path}: {exc.strerror or exc}"
        raise card.error([(("files", i, "path"), problem)]) from None
    found = hashlib.sha256(data).hexdigest()
    if verify and found != spec.sha256:
        problem = f"SHA-256 mismatch for {path}: expected {spec.sha256}, found {found}"
        raise card.error([(("files", i, "sha256"), problem)])
    try:
        if spec.format == "parquet":
            frame = pd.read_parquet(io.BytesIO(data))
        else:
            compression = _COMPRESSION.get(PurePosixPath(spec.path).suffix)
            frame = pd.read_csv(io.BytesIO(data), compression=compression)
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        problem = f"cannot parse {path} as {spec.format}: {exc}"
        raise card.error([(("files", i, "format"), problem)]) from None
    if len(frame) != spec.rows:
        problem = f"expected {spec.rows} rows in {spec.path}, found {len(frame)}"
        raise card.error([(("files", i, "rows"), problem)])
    return frame, found


def _read_data(card: _Card, spec: BenchmarkCard, *, verify: bool) -> tuple[pd.DataFrame, list[str]]:
    frames: list[pd.DataFrame] = []
    hashes: list[str] = []
    with stage("reading and hashing the benchmark", total=sum(f.rows for f in spec.files), unit="rows") as tick:
        for i, file in enumerate(spec.files):
            frame, digest = _read_file(card, i, file, verify=verify)
            if frames and list(frame.columns) != list(frames[0].columns):
                problem = f"expected the columns of {spec.files[0].path}, found {list(frame.columns)}"
                raise card.error([(("files", i, "path"), problem)])
            frames.append(frame)
            hashes.append(digest)
            tick.advance(file.rows)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0], hashes


def _check_columns(card: _Card, spec: BenchmarkCard, columns: Sequence[str]) -> None:
    problems: list[tuple[Loc, str]] = [
        (loc, f"column {name!r} is not in the data; " + _did_you_mean(name, columns))
        for loc, name in spec.named_columns().items() if name not in columns
    ]
    if spec.id_column is None and ROW_ID in columns:
        problems.append((("id_column",), f"the data has a column {ROW_ID!r}; expected id_column "
                                         "to name it (null adds it as the line number)"))
    if problems:
        raise card.error(problems)


def _check_values(card: _Card, spec: BenchmarkCard, frame: pd.DataFrame) -> None:
    """Values every row needs: a label, a cluster, an id, a usable weight."""
    problems: list[tuple[Loc, str]] = []
    label, of_rows = frame[spec.label.column], f"of {len(frame)} rows"
    for loc, name in ((("label", "column"), spec.label.column), (("cluster",), spec.cluster),
                      (("id_column",), spec.id_column)):
        if name is not None and (missing := int(frame[name].isna().sum())):
            problems.append((loc, f"{missing} {of_rows} have no value in {name!r}; "
                                  "expected a value on every row"))
    if spec.task == "regression" and not label.isna().any():
        numeric = pd.to_numeric(label, errors="coerce").to_numpy(dtype=np.float64)
        if bad := int((~np.isfinite(numeric)).sum()):
            first = label[~np.isfinite(numeric)].iloc[0]
            problems.append((("label", "column"), f"task 'regression' needs a finite number in "
                             f"{spec.label.column!r} on every row; {bad} {of_rows} are not, e.g. {first!r}"))
    elif not label.isna().any() and not (label == spec.label.positive).any():
        values = ", ".join(sorted(map(repr, label.unique().tolist()))[:10])
        problems.append((("label", "positive"), f"expected a value that occurs in "
                         f"{spec.label.column!r} ({values}), found {spec.label.positive!r}"))
    if spec.weight is not None:
        weights = pd.to_numeric(frame[spec.weight], errors="coerce").to_numpy(dtype=np.float64)
        if bad := int((~np.isfinite(weights) | (weights < 0)).sum()):
            problems.append((("weight",), f"expected a finite weight >= 0 on every row, found "
                                          f"{bad} {of_rows} missing, non-numeric or negative"))
    if spec.id_column is not None and (dupes := int(frame[spec.id_column].duplicated().sum())):
        problems.append((("id_column",), f"expected unique ids in {spec.id_column!r}, "
                                         f"found {dupes} repeated"))
    problems += _label_problems(spec, frame)
    if problems:
        raise card.error(problems)


def _label_problems(spec: BenchmarkCard, frame: pd.DataFrame) -> list[tuple[Loc, str]]:
    """Every labelled code must be a value of its column, read as text as group names are."""
    problems: list[tuple[Loc, str]] = []
    for column, codes in spec.labels.items():
        if column not in frame:
            continue
        present = set(pd.Series(frame[column].dropna().unique()).astype("string").tolist())
        for code in codes:
            if code not in present:
                values = ", ".join(sorted(map(repr, present))[:10])
                problems.append((("labels", column, code), f"code {code!r} is not a value of column "
                                 f"{column!r}; expected one of {values}"))
    return problems


def _unit_key(value: object) -> str:
    """Canonical text of a split unit, the same whether its column parsed as int or float."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and math.isfinite(float(value)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def assign_split(units: Iterable[object], *, salt: str, test_share: float) -> np.ndarray:
    """'test' or 'development' per unit: sha256('<salt>:<unit>') read as a fraction of 1.

    The fraction is the digest's first 15 hex digits (60 bits) over 16**15; each distinct
    unit is hashed once.
    """
    series = units if isinstance(units, pd.Series) else pd.Series(list(units), dtype=object)
    codes, uniques = pd.factorize(series, sort=False)
    if np.asarray(uniques).dtype.kind in "iu":
        keys = np.asarray(uniques).astype(str).tolist()
    else:
        keys = [_unit_key(u) for u in uniques]
    head = b"".join(hashlib.sha256(f"{salt}:{key}".encode()).digest()[:8] for key in keys)
    first60 = np.frombuffer(head, dtype=">u8") >> np.uint64(4)
    labels = np.where(first60.astype(np.float64) / 16.0**15 < test_share, "test", "development").astype(object)
    return labels[codes]


def _combined_sha256(files: Sequence[DataFile], hashes: Sequence[str]) -> str:
    if len(hashes) == 1:
        return hashes[0]
    lines = sorted(f"{digest}  {file.path}\n" for file, digest in zip(files, hashes, strict=True))
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class Benchmark:
    """A loaded benchmark; ``file_sha256`` holds each file's hash as found on disk."""

    card: BenchmarkCard
    root: Path
    frame: pd.DataFrame
    sha256: str
    file_sha256: tuple[str, ...]

    @cached_property
    def split(self) -> np.ndarray:
        """'test' or 'development' per row, from its unit; computed only when a split is asked for."""
        spec = self.card
        unit = self.frame[spec.cluster if spec.split.unit == "cluster" else self.id_column]
        return assign_split(unit, salt=spec.split.salt, test_share=spec.split.test_share)

    @property
    def id(self) -> str:
        return self.card.id

    @property
    def id_column(self) -> str:
        return self.card.id_column or ROW_ID

    @property
    def ids(self) -> np.ndarray:
        return self.frame[self.id_column].to_numpy()

    @property
    def y(self) -> np.ndarray:
        return label_values(self.card, self.frame)

    @property
    def weights(self) -> np.ndarray | None:
        if self.card.weight is None:
            return None
        return pd.to_numeric(self.frame[self.card.weight]).to_numpy(dtype=np.float64)

    @property
    def clusters(self) -> np.ndarray | None:
        return None if self.card.cluster is None else self.frame[self.card.cluster].to_numpy()

    def _where(self, field: str) -> str:
        return f"benchmark {self.id} ({self.root / CARD_NAME}): {field}"

    def subset(self, which: SubsetName) -> Benchmark:
        if which not in SUBSETS:
            raise BenchmarkError(f"{self._where('subset')}: unknown split {which!r}; "
                                 + _did_you_mean(str(which), SUBSETS))
        if which == "all":
            return self
        keep = self.split == which
        return replace(self, frame=self.frame.loc[keep].reset_index(drop=True))

    def model_inputs(self, allow_sensitive: Sequence[str] = ()) -> pd.DataFrame:
        """Features, plus the sensitive columns a profile allows, in card order."""
        where, sensitive = self._where("allow_sensitive"), self.card.sensitive
        if isinstance(allow_sensitive, str):
            raise BenchmarkError(f"{where}: expected a sequence of column names, "
                                 f"found the string {allow_sensitive!r}")
        for name in allow_sensitive:
            if name not in sensitive:
                raise BenchmarkError(f"{where}: {name!r} is not a sensitive column of the card; "
                                     + _did_you_mean(str(name), sensitive))
        columns = [*self.card.features, *(s for s in sensitive if s in allow_sensitive)]
        return self.frame[columns].copy()

    def files(self) -> list[tuple[Path, str]]:
        pairs = zip(self.card.files, self.file_sha256, strict=True)
        return [((self.root / f.path).resolve(), digest) for f, digest in pairs]


def _parse(ref: str | Path, expected_id: str | None) -> tuple[_Card, BenchmarkCard]:
    """The card of ``ref``, whose id must be the folder name (a bare id) or ``expected_id``."""
    card_path, wanted_id = _resolve(ref)
    card = _Card(card_path)
    spec = card.parse()
    if wanted_id is not None and spec.id != wanted_id:
        raise card.error([(("id",), f"expected {wanted_id!r} (the folder name), found {spec.id!r}")])
    if expected_id is not None and spec.id != expected_id:
        raise card.error([(("id",), f"expected {expected_id!r} (the profile's benchmark.id), found {spec.id!r}")])
    return card, spec


def load_card(ref: str | Path, *, columns: Sequence[str] | None = None,
              expected_id: str | None = None) -> tuple[BenchmarkCard, Path]:
    """The validated card and its folder, without reading the data (for streaming).

    With ``columns`` (the data's header), every column the card names is checked against it.
    """
    card, spec = _parse(ref, expected_id)
    card_path = card.path
    if columns is not None:
        _check_columns(card, spec, [str(c) for c in columns])
    return spec, card_path.parent.resolve()


def load_benchmark(ref: str | Path, *, verify: bool = True, expected_id: str | None = None) -> Benchmark:
    """Load a benchmark by id, folder or card path; refuse data whose hash differs from the card."""
    card, spec = _parse(ref, expected_id)
    card_path = card.path
    raw, hashes = _read_data(card, spec, verify=verify)
    _check_columns(card, spec, [str(c) for c in raw.columns])
    _check_values(card, spec, raw)
    frame = raw.drop(columns=[d.column for d in spec.dropped])
    if spec.id_column is None:
        frame[ROW_ID] = np.arange(len(frame), dtype=np.int64)
    return Benchmark(card=spec, root=card_path.parent.resolve(), frame=frame,
                     sha256=_combined_sha256(spec.files, hashes), file_sha256=tuple(hashes))
