"""Benchmarks larger than memory: statistics per chunk or per Dask partition, merged.

Each chunk (a Parquet row group batch or a slice of a CSV file) goes through the same
steps as an in-memory evaluation — split, derived bands, inference, atoms — and its
atom table is merged with the others. Atom counts are integers and weights are keys, so
the merged table, and every number computed from it, is identical bit for bit whatever
the chunking or the number of workers. Only one chunk's rows are in memory at a time;
predictions go to a Parquet file as they are made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .benchmark import ROW_ID, BenchmarkCard, assign_split, label_values, load_card
from .errors import BenchmarkError, InputError
from .evidence.bundle import sha256_file
from .plan import add_derived, atoms_of, group_columns
from .predictors import Predictions, predict
from .progress import stage
from .profile import Profile
from .stats import AtomTable, merge_atoms

__all__ = ["Part", "Source", "StreamJob", "dask_statistics", "open_source", "stream_statistics"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Part:
    """One unit of work: rows [start, stop) of one data file, numbered from ``offset``."""

    path: Path
    fmt: str
    start: int
    stop: int
    offset: int


@dataclass(frozen=True)
class Source:
    card: BenchmarkCard
    root: Path
    sha256: str
    file_sha256: tuple[str, ...]
    columns: list[str]

    @property
    def id(self) -> str:
        return self.card.id

    def files(self) -> list[tuple[Path, str]]:
        return [((self.root / f.path).resolve(), d) for f, d in zip(self.card.files, self.file_sha256)]

    def parts(self, chunk_rows: int) -> list[Part]:
        out, offset = [], 0
        for f in self.card.files:
            for start in range(0, f.rows, chunk_rows):
                out.append(Part(self.root / f.path, f.format, start, min(f.rows, start + chunk_rows), offset))
            offset += f.rows
        return out


def open_source(ref: str | Path, *, expected_id: str | None = None) -> Source:
    """The card of a benchmark and its files' verified hashes, without loading the rows."""
    import hashlib

    card, root = load_card(ref, expected_id=expected_id)
    hashes = []
    for f in card.files:
        found = sha256_file(root / f.path)
        if found != f.sha256:
            raise BenchmarkError(f"benchmark {card.id} ({root / 'benchmark.yaml'}): files: SHA-256 mismatch for "
                                 f"{root / f.path}: expected {f.sha256}, found {found}")
        hashes.append(found)
    combined = hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(sorted(
        f"{d}  {f.path}\n" for f, d in zip(card.files, hashes))).encode()).hexdigest()
    first = root / card.files[0].path
    columns = (pq.read_schema(first).names if card.files[0].format == "parquet"
               else list(pd.read_csv(first, nrows=0).columns))
    load_card(ref, columns=columns, expected_id=expected_id)
    return Source(card, root, combined, tuple(hashes), columns)


def _sequential(source: Source, chunk_rows: int) -> Iterator[tuple[Part, pd.DataFrame]]:
    """Parts with their rows, reading each file once from start to end."""
    offset = 0
    for f in source.card.files:
        path, start = source.root / f.path, 0
        if f.format == "parquet":
            # pre_buffer=False: without it pyarrow keeps what it has read, and memory grows with the file.
            reader = pq.ParquetFile(path, pre_buffer=False)
            batches = (b.to_pandas() for b in reader.iter_batches(batch_size=chunk_rows))
        else:
            batches = pd.read_csv(path, chunksize=chunk_rows)
        for frame in batches:
            stop = start + len(frame)
            yield Part(path, f.format, start, stop, offset), frame.reset_index(drop=True)
            start = stop
        offset += f.rows


def _read(part: Part) -> pd.DataFrame:
    if part.fmt == "parquet":
        frame = _read_parquet_rows(part.path, part.start, part.stop)
    else:
        frame = pd.read_csv(part.path, skiprows=range(1, part.start + 1), nrows=part.stop - part.start)
    if frame.index.size != part.stop - part.start:
        raise BenchmarkError(f"{part.path}: expected rows {part.start}..{part.stop - 1}, read {len(frame)}")
    return frame


def _read_parquet_rows(path: Path, start: int, stop: int) -> pd.DataFrame:
    pf = pq.ParquetFile(path)
    tables, seen = [], 0
    for i in range(pf.num_row_groups):
        n = pf.metadata.row_group(i).num_rows
        if seen + n > start and seen < stop:
            t = pf.read_row_group(i)
            tables.append(t.slice(max(0, start - seen), min(n, stop - seen) - max(0, start - seen)))
        seen += n
    return pa.concat_tables(tables).to_pandas() if tables else pd.DataFrame()


@dataclass(frozen=True)
class StreamJob:
    """Everything a worker needs to turn one part into statistics (picklable)."""

    profile: Profile
    card: BenchmarkCard
    split: str
    model: Any

    def statistics(self, part: Part) -> tuple[AtomTable | None, pd.DataFrame]:
        return self.statistics_of(part, _read(part))

    def statistics_of(self, part: Part, frame: pd.DataFrame) -> tuple[AtomTable | None, pd.DataFrame]:
        frame = frame.drop(columns=[d.column for d in self.card.dropped])
        if self.card.id_column is None:
            frame[ROW_ID] = np.arange(part.offset + part.start, part.offset + part.stop, dtype=np.int64)
        id_col = self.card.id_column or ROW_ID
        if self.split != "all":
            unit = frame[self.card.cluster if self.card.split.unit == "cluster" else id_col]
            keep = assign_split(unit, salt=self.card.split.salt, test_share=self.card.split.test_share) == self.split
            frame = frame.loc[keep].reset_index(drop=True)
        if frame.empty:
            return None, pd.DataFrame()
        add_derived(self.profile, frame)
        inputs = frame[[*self.card.features, *(s for s in self.card.sensitive
                                               if s in self.profile.model_inputs.allow_sensitive)]]
        preds = predict(self.model, inputs, frame[id_col].to_numpy(), task=self.profile.task)
        return self._atoms(frame, preds), preds.frame()

    def _atoms(self, frame: pd.DataFrame, preds: Predictions) -> AtomTable:
        card = self.card
        weight = None if card.weight is None else pd.to_numeric(frame[card.weight]).to_numpy(np.float64)
        cluster = None if card.cluster is None else frame[card.cluster].to_numpy()
        return atoms_of(self.profile, frame[group_columns(self.profile)], label_values(self.card, frame), preds,
                        weight=weight, cluster=cluster)


class _PredictionSink:
    """Appends each chunk's predictions to one Parquet file."""

    def __init__(self, path: Path) -> None:
        self.path, self.writer = path, None

    def add(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class _Merger:
    """Merges chunk tables as they come.

    Chunk tables wait until they hold as many atoms as the merged table, then join it in
    one merge: a growing table is re-sorted a logarithmic number of times, one that has
    stopped growing once per its own size of new atoms rather than at every chunk, and
    memory stays within about twice the final table plus one chunk.
    """

    def __init__(self) -> None:
        self.merged: AtomTable | None = None
        self.pending: list[AtomTable] = []

    def add(self, table: AtomTable | None) -> None:
        if table is None:
            return
        self.pending.append(table)
        waiting = sum(len(t.count) for t in self.pending)
        if self.merged is None or waiting >= len(self.merged.count):
            self._flush()

    def _flush(self) -> None:
        tables = ([] if self.merged is None else [self.merged]) + self.pending
        self.merged = merge_atoms(tables) if len(tables) > 1 else tables[0]
        self.pending = []

    def result(self) -> AtomTable:
        if self.pending:
            self._flush()
        if self.merged is None:
            raise InputError("the chosen split of the benchmark has no rows")
        return self.merged


def stream_statistics(job: StreamJob, source: Source, *, chunk_rows: int, predictions_path: Path) -> AtomTable:
    """One chunk at a time; merge as we go so memory stays at one chunk plus the atoms."""
    sink, merger, n_parts = _PredictionSink(predictions_path), _Merger(), len(source.parts(chunk_rows))
    try:
        with stage("chunks", total=n_parts, unit="chunks") as tick:
            for part, frame in _sequential(source, chunk_rows):
                table, preds = job.statistics_of(part, frame)
                sink.add(preds)
                merger.add(table)
                tick.advance()
    finally:
        sink.close()
    return merger.result()


def dask_statistics(job: StreamJob, source: Source, *, chunk_rows: int, predictions_path: Path,
                    scheduler: str | None = None, progress: Progress | None = None) -> AtomTable:
    """Each partition's statistics on a Dask worker; merged on the client in partition order."""
    from distributed import Client, LocalCluster

    parts = source.parts(chunk_rows)
    cluster = None if scheduler else LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                  dashboard_address=None)
    try:
        with Client(scheduler or cluster) as client:
            if progress:
                progress(f"Dask: {len(parts)} partitions on {len(client.scheduler_info()['workers'])} workers")
            futures = client.map(job.statistics, parts, pure=False)
            sink, merger = _PredictionSink(predictions_path), _Merger()
            try:
                with stage("chunks", total=len(parts), unit="chunks") as tick:
                    for i, future in enumerate(futures):  # in partition order, one result held at a time
                        table, preds = future.result()
                        futures[i] = None
                        future.release()
                        sink.add(preds)
                        merger.add(table)
                        tick.advance()
            finally:
                sink.close()
    finally:
        if cluster is not None:
            cluster.close()
    return merger.result()

