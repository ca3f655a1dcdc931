"""The table in a declared predictions file (CSV, gzipped CSV or Parquet), or an error that says why not.

A careless export fails in a few typical ways: UTF-16 or Latin-1 text, a semicolon
delimiter, a repeated column, a truncated copy, a spreadsheet saved under a CSV name.
Each is recognised from the bytes and named with its fix, before a parser would give a
cryptic message. CSV cells stay text, so an error can show what the file says.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .errors import PredictionsError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PREDICTION_SUFFIXES", "is_parquet", "read_table"]

PREDICTION_SUFFIXES = (".csv", ".csv.gz", ".parquet")
UTF8 = 're-save it as UTF-8 (in Excel: "CSV UTF-8 (Comma delimited)")'
BOMS = ((b"\x00\x00\xfe\xff", "UTF-32 BE"), (b"\xff\xfe\x00\x00", "UTF-32 LE"), (b"\xfe\xff", "UTF-16 BE"),
        (b"\xff\xfe", "UTF-16 LE"))
UTF8_BOM = b"\xef\xbb\xbf"
DELIMITERS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}
MAGIC = ((b"PAR1", "a Parquet file", "name it .parquet"), (b"\x1f\x8b", "gzip-compressed", "name it .csv.gz"),
         (b"PK\x03\x04", "a zip archive (an Excel workbook?)", 'save it from Excel as "CSV UTF-8 (Comma delimited)"'))
PARQUET_TYPES = {  # column -> (what it may hold, the fix)
    "id": ("integers or text", "write the ids as integers or text"),
    "decision": ("0/1 as integers, floats or booleans", "write 0 and 1 as integers"),
    "score": ("numbers (integer or floating point)", "write the scores as floating-point numbers"),
    "prediction": ("numbers (integer or floating point)", "write the predictions as floating-point numbers"),
}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def is_parquet(path: Path) -> bool:
    return path.name.lower().endswith(".parquet")


def read_table(path: Path, *, required: tuple[str, ...], max_bytes: int, max_rows: int) -> tuple[bytes, pd.DataFrame]:
    """The file's bytes (for its hash) and its table, with every column in ``required``.

    ``max_bytes`` caps the file and a .csv.gz once decompressed; ``max_rows`` caps its rows.
    """
    data = _read_bytes(path, max_bytes)
    if is_parquet(path):
        return data, _parquet_table(data, path, required, max_rows)
    raw = _gunzip(data, path, max_bytes) if path.name.lower().endswith(".gz") else data
    return data, _csv_table(raw, path, required, max_rows)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    if not path.name.lower().endswith(PREDICTION_SUFFIXES):
        raise PredictionsError(f"predictions file {path} has an unknown format; supported "
                               f"suffixes: {', '.join(PREDICTION_SUFFIXES)}")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        problem = exc.strerror or str(exc)
        raise PredictionsError(f"cannot read predictions file {path}: {problem}") from exc
    if len(data) > max_bytes:
        raise PredictionsError(f"predictions file {path} is {_size(path, max_bytes)}, over the limit of "
                               f"{max_bytes:,} bytes; expected one row per benchmark id with columns id, decision "
                               "and score: drop other columns, or compress it as .csv.gz")
    return data


def _size(path: Path, max_bytes: int) -> str:
    try:
        return f"{path.stat().st_size:,} bytes"
    except OSError:  # gone since it was read
        return f"more than {max_bytes:,} bytes"


def _gunzip(data: bytes, path: Path, max_bytes: int) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        raise PredictionsError(f"predictions file {path} is not gzip-compressed (it does not start with the "
                               "gzip marker 1F 8B); expected a .csv.gz made by gzip: compress it, or name a "
                               "plain CSV file .csv")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as packed:
            raw = packed.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise PredictionsError(f"cannot decompress predictions file {path}: {exc}; expected a complete gzip "
                               "file: compress or copy it again") from exc
    if len(raw) > max_bytes:
        raise PredictionsError(f"predictions file {path} decompresses to more than the limit of {max_bytes:,} "
                               "bytes; expected one row per benchmark id with columns id, decision and score: "
                               "drop other columns")
    return raw


def _csv_table(raw: bytes, path: Path, required: tuple[str, ...], max_rows: int) -> pd.DataFrame:
    text = _decode(raw, path)
    if not text.strip():
        raise PredictionsError(f"predictions file {path} is empty; expected a header line "
                               f"({_expected(required)}) and one row per benchmark id")
    header = _LINE_BREAK.split(text, maxsplit=1)[0]
    if not header.strip():
        raise PredictionsError(f"predictions file {path} starts with a blank line; expected the header line "
                               f"({_expected(required)}) on line 1: remove the blank lines before it")
    _check_delimiter(header, path, required)
    _check_names(next(csv.reader([header])), path, required)
    try:  # blank lines are kept as rows, so that row i is on line i + 2
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                            skip_blank_lines=False, nrows=max_rows + 1)
    except Exception as exc:  # noqa: BLE001 - the parser raises many types for bad input
        problem = str(exc).strip()
        raise PredictionsError(f"cannot parse predictions file {path} as CSV: {problem}; expected comma-"
                               "separated rows with as many fields as the header line") from exc
    _check_rows(len(table), path, max_rows)
    return _without_trailing_blanks(table)


def _without_trailing_blanks(table: pd.DataFrame) -> pd.DataFrame:
    """Blank lines at the end of a file are harmless; blank lines between rows stay, as rows without an id."""
    filled = (table != "").to_numpy().any(axis=1)
    last = int(filled.nonzero()[0][-1]) + 1 if filled.any() else 0
    return table.iloc[:last]


def _decode(raw: bytes, path: Path) -> str:
    """UTF-8 text (a UTF-8 byte order mark is dropped); other encodings are named with their fix."""
    for magic, what, fix in MAGIC:
        if raw.startswith(magic):
            raise PredictionsError(f"predictions file {path} is {what}, not CSV text; expected a CSV file: {fix}")
    for bom, name in BOMS:
        if raw.startswith(bom):
            raise PredictionsError(f"predictions file {path} is {name} text (it starts with the byte order mark "
                                   f"{bom.hex(' ').upper()}); expected UTF-8: {UTF8}")
    start = len(UTF8_BOM) if raw.startswith(UTF8_BOM) else 0
    nul = raw.find(b"\x00", start)
    if nul >= 0:
        wide = raw[start + 1:start + 40:2].count(0) > 10 or raw[start:start + 40:2].count(0) > 10
        guess = ", as UTF-16 text without a byte order mark does" if wide else ""
        raise PredictionsError(f"predictions file {path} holds a NUL byte at byte offset {nul} "
                               f"({_line_of(raw, nul)}){guess}; expected UTF-8 text: {UTF8}")
    try:
        return raw[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = start + exc.start
        raise PredictionsError(f"predictions file {path} is not UTF-8: byte 0x{raw[at]:02X} at byte offset {at} "
                               f"({_line_of(raw, at)}) is not valid there ({exc.reason}), as in Latin-1 or "
                               f"Windows-1252 text; expected UTF-8: {UTF8}") from exc


def _line_of(raw: bytes, offset: int) -> str:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    line = raw.count(b"\n", 0, offset) + 1
    return f"line {line}, column {offset - line_start + 1}"


def _check_delimiter(header: str, path: Path, required: tuple[str, ...]) -> None:
    if "," in header:
        return
    for sep, name in DELIMITERS.items():
        parts = [part.strip().strip('"') for part in header.split(sep)]
        if all(column in parts for column in required):
            raise PredictionsError(f"predictions file {path}: the header line {header!r} is separated by "
                                   f"{sep!r} ({name}); expected ',' (comma): save the file as comma-separated CSV")


def _check_names(names: Sequence[str], path: Path, required: tuple[str, ...]) -> None:
    """Each column once, and the required ones present (with a hint for spaces or capitals)."""
    for name in dict.fromkeys(names):
        at = [i + 1 for i, other in enumerate(names) if other == name]
        if len(at) > 1:
            times = "twice" if len(at) == 2 else f"{len(at)} times"
            places = ", ".join(map(str, at[:-1])) + f" and {at[-1]}"
            raise PredictionsError(f"predictions file {path}: column {name!r} appears {times} (columns {places}); "
                                   "expected each column once: remove or rename the extra one"
                                   + ("s" if len(at) > 2 else ""))
    missing = [column for column in required if column not in names]
    if missing:
        close = [f"{name!r} to {column!r}" for column in missing for name in names
                 if name.strip().lower() == column]
        fix = f": rename {', '.join(close)}" if close else ""
        raise PredictionsError(f"predictions file {path} lacks required column(s) {missing}; "
                               f"found columns {list(names)}; expected {_expected(required)}{fix}")


def _expected(required: tuple[str, ...]) -> str:
    return "id, decision and optionally score" if "decision" in required else "id and prediction"


def _check_rows(rows: int, path: Path, max_rows: int) -> None:
    if rows > max_rows:
        raise PredictionsError(f"predictions file {path} has more than the limit of {max_rows:,} rows; expected "
                               "one row per benchmark id: drop rows for ids the benchmark does not have")


def _parquet_table(data: bytes, path: Path, required: tuple[str, ...], max_rows: int) -> pd.DataFrame:
    import pyarrow.parquet as pq

    if not data.startswith(b"PAR1"):
        what = next((w for magic, w, _ in MAGIC[1:] if data.startswith(magic)), "")
        if not what:
            head = data[:200].decode("utf-8", errors="replace")
            what = "CSV text" if "," in head and "\ufffd" not in head and "\x00" not in head else ""
        raise PredictionsError(f"predictions file {path} is {what + ', ' if what else ''}not a Parquet file (it does "
                               "not start with the Parquet marker PAR1); expected a Parquet file: name a CSV file .csv")
    if not data.endswith(b"PAR1") or len(data) < 12:
        raise PredictionsError(f"predictions file {path} is incomplete: it does not end with the Parquet marker "
                               "PAR1 (truncated?); expected a complete Parquet file: copy or write it again")
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        schema = parquet.schema_arrow
        _check_names(schema.names, path, required)
        _check_rows(parquet.metadata.num_rows, path, max_rows)
        optional = ("score",) if "decision" in required else ()
        wanted = [name for name in PARQUET_TYPES if name in schema.names and name in (*required, *optional)]
        for name in wanted:
            _check_type(name, schema.field(name).type, path)
        return parquet.read(columns=wanted).to_pandas(ignore_metadata=True)  # the file's pandas metadata is not ours
    except PredictionsError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged file fails in many ways
        raise PredictionsError(f"cannot parse predictions file {path} as Parquet: {type(exc).__name__}: {exc}; "
                               "expected a complete Parquet file: write it again") from exc


def _check_type(name: str, kind: pa.DataType, path: Path) -> None:
    import pyarrow as pa

    value = kind.value_type if pa.types.is_dictionary(kind) else kind
    numeric = pa.types.is_integer(value) or pa.types.is_floating(value)
    ok = {"id": pa.types.is_integer(value) or pa.types.is_string(value) or pa.types.is_large_string(value),
          "decision": numeric or pa.types.is_boolean(value)}.get(name, numeric)
    if not ok:
        expected, fix = PARQUET_TYPES[name]
        raise PredictionsError(f"predictions file {path}: column {name!r} has Parquet type {kind}; expected "
                               f"{expected}: {fix}")
