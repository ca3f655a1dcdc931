"""Sealing a benchmark: a public release for vendors and a sealed part that only a lab keeps.

The public release holds the development split with its labels and the test split's inputs
without labels; its card records the full benchmark's SHA-256 (which profiles pin) and a
commitment to the sealed part's data file (its SHA-256). The sealed part holds the test rows
with their labels as a benchmark of its own, so the lab judges it with the ordinary engine.
Each folder is written beside its destination and renamed into place only when complete.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..benchmark import CARD_NAME, Benchmark, BenchmarkCard, DataFile, SealRecord, load_benchmark, load_card
from ..errors import BenchmarkError

__all__ = ["PublicRelease", "SealedBenchmark", "check_commitment", "load_public", "seal_benchmark"]

DEVELOPMENT_FILE = "development.parquet"
TEST_INPUTS_FILE = "test-inputs.parquet"
SEALED_FILE = "test.parquet"


@dataclass(frozen=True)
class SealedBenchmark:
    """What ``seal_benchmark`` wrote: both folders, the full benchmark's hash and the commitment."""

    public: Path
    sealed: Path
    from_sha256: str
    commitment: str
    development_rows: int
    test_rows: int


@dataclass(frozen=True)
class PublicRelease:
    """A public release as a vendor loads it: its card, folder and the test rows' inputs (no labels)."""

    card: BenchmarkCard
    root: Path
    record: SealRecord
    test_inputs: pd.DataFrame
    card_sha256: str

    @property
    def id_column(self) -> str:
        return self.card.id_column or "row_id"

    @property
    def ids(self) -> pd.Series:
        return self.test_inputs[self.id_column]


def seal_benchmark(ref: str | Path, *, public: Path, sealed: Path) -> SealedBenchmark:
    """Split a full benchmark into a public release (``public``) and a sealed part (``sealed``)."""
    full = load_benchmark(ref)
    if full.card.sealed is not None:
        raise BenchmarkError(f"benchmark {full.id} at {full.root}: is already the {full.card.sealed.part} part of "
                             "a sealed benchmark; seal the full benchmark it came from")
    for folder in (public, sealed):
        if folder.exists():
            raise BenchmarkError(f"{folder}: already exists; refusing to overwrite (choose a new folder)")
    if public.resolve() == sealed.resolve():
        raise BenchmarkError(f"--public and --sealed are the same folder {public}; the labels must stay apart")
    split = full.split
    dev, test = full.frame.loc[split == "development"], full.frame.loc[split == "test"]
    for name, rows in (("development", dev), ("test", test)):
        if rows.empty:
            raise BenchmarkError(f"benchmark {full.id}: its {name} split is empty; nothing to seal")
    sealed_bytes = _parquet(test)
    commitment = hashlib.sha256(sealed_bytes).hexdigest()
    inputs_bytes = _parquet(test[_input_columns(full)])
    base = _base_card(full)
    sealed_card = {**base, "files": [_file(SEALED_FILE, sealed_bytes, len(test))],
                   "sealed": {"part": "sealed", "from_sha256": full.sha256, "commitment": commitment}}
    dev_bytes = _parquet(dev)
    public_card = {**base, "files": [_file(DEVELOPMENT_FILE, dev_bytes, len(dev))],
                   "sealed": {"part": "public", "from_sha256": full.sha256, "commitment": commitment,
                              "test_inputs": _file(TEST_INPUTS_FILE, inputs_bytes, len(test))}}
    _write_folder(sealed, {CARD_NAME: _yaml(sealed_card), SEALED_FILE: sealed_bytes})
    try:
        _write_folder(public, {CARD_NAME: _yaml(public_card), DEVELOPMENT_FILE: dev_bytes,
                               TEST_INPUTS_FILE: inputs_bytes})
    except BaseException:
        shutil.rmtree(sealed, ignore_errors=True)  # one without the other is no release
        raise
    return SealedBenchmark(public.resolve(), sealed.resolve(), full.sha256, commitment, len(dev), len(test))


def _input_columns(full: Benchmark) -> list[str]:
    """Ids, features, sensitive and slice columns, weight and cluster: every column but the label and the rest."""
    card = full.card
    named = [full.id_column, *card.features, *card.sensitive, *card.slices, card.weight, card.cluster]
    return [c for c in dict.fromkeys(named) if c is not None]


def _base_card(full: Benchmark) -> dict[str, object]:
    """The full card for either part: ids written out, dropped columns already gone."""
    data = full.card.model_dump(mode="json", exclude={"sealed"})
    data["id_column"] = full.id_column
    data["dropped"] = []
    return data


def _file(path: str, data: bytes, rows: int) -> dict[str, object]:
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "format": "parquet", "rows": rows}


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.reset_index(drop=True).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _yaml(card: dict[str, object]) -> bytes:
    BenchmarkCard.model_validate(card)  # what is written is a valid card
    return yaml.safe_dump(card, sort_keys=False, allow_unicode=True).encode("utf-8")


def _write_folder(final: Path, files: dict[str, bytes]) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_public(folder: Path) -> PublicRelease:
    """The public release in ``folder``, hashes checked; refused if it is not one, or if it carries test labels."""
    card, root = load_card(folder)
    where = f"benchmark {card.id} at {root}"
    if card.sealed is None:
        raise BenchmarkError(f"{where}: is a full benchmark, not a public release; expected the --public folder "
                             "written by `oversight benchmark seal`")
    if card.sealed.part != "public":
        raise BenchmarkError(f"{where}: is the sealed part of a benchmark (the lab's); expected the public release")
    spec = card.sealed.test_inputs
    if spec is None:  # the card's model requires it in the public part
        raise BenchmarkError(f"{where}: sealed.test_inputs: required in a public release")
    path = root / spec.path
    data = _read(path, f"{where}: sealed.test_inputs.path")
    found = hashlib.sha256(data).hexdigest()
    if found != spec.sha256:
        raise BenchmarkError(f"{where}: sealed.test_inputs: SHA-256 mismatch for {path}: expected {spec.sha256}, "
                             f"found {found}")
    frame = pd.read_parquet(io.BytesIO(data))
    if card.label.column in frame.columns:
        raise BenchmarkError(f"{where}: its test inputs {path.name} carry the label column {card.label.column!r}: "
                             "the test labels were put back into a public release; expected inputs without labels")
    missing = [c for c in (card.id_column or "row_id", *card.features) if c not in frame.columns]
    if missing or len(frame) != spec.rows:
        raise BenchmarkError(f"{where}: test inputs {path.name}: expected {spec.rows} rows with columns "
                             f"{missing} among others, found {len(frame)} rows and columns {list(frame.columns)}")
    card_bytes = (root / CARD_NAME).read_bytes()
    return PublicRelease(card, root, card.sealed, frame, hashlib.sha256(card_bytes).hexdigest())


def _read(path: Path, where: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BenchmarkError(f"{where}: cannot read {path}: {exc.strerror or exc}; the public release is "
                             "incomplete") from None


def check_commitment(sealed: Path, *, commitment: str, from_sha256: str) -> BenchmarkCard:
    """The sealed part in ``sealed`` is the one a public release committed to; its card otherwise refused."""
    card, root = load_card(sealed)
    where = f"sealed part {root}"
    if card.sealed is None or card.sealed.part != "sealed":
        kind = "a full benchmark" if card.sealed is None else "a public release"
        raise BenchmarkError(f"{where}: is {kind}; expected the --sealed folder written by `oversight benchmark "
                             "seal`")
    if len(card.files) != 1:
        raise BenchmarkError(f"{where}: lists {len(card.files)} data files; expected the one sealed file")
    path = root / card.files[0].path
    found = hashlib.sha256(_read(path, f"{where}: files[0].path")).hexdigest()
    if found != commitment:
        raise BenchmarkError(f"commitment mismatch: {path} has SHA-256 {found}, but the public release committed to "
                             f"{commitment}; these are not the labels sealed with it")
    if card.sealed.from_sha256 != from_sha256:
        raise BenchmarkError(f"{where}: was sealed from benchmark SHA-256 {card.sealed.from_sha256}, the "
                             f"submission's public release from {from_sha256}")
    return card
