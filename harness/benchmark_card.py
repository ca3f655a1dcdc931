"""The benchmark card's model: what a ``benchmark.yaml`` may say, and the column roles it must keep apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["BenchmarkCard", "DataFile", "DroppedColumn", "Label", "Loc", "SealRecord", "Source", "SplitSpec",
           "label_values"]

Loc = tuple[str | int, ...]
Text = Annotated[str, Field(min_length=1)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataFile(_Frozen):
    path: Text
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    format: Literal["csv", "parquet"]
    rows: Annotated[int, Field(gt=0, strict=True)]

    @field_validator("path")
    @classmethod
    def _inside_folder(cls, value: str) -> str:
        pure = PurePosixPath(value)
        if pure.is_absolute() or ".." in pure.parts or "\\" in value:
            raise ValueError("expected a path relative to the card's folder, without '..'")
        return value


class Label(_Frozen):
    column: Text
    positive: int | str | None = None  # binary classification: the value that counts as 1

    @field_validator("positive", mode="before")
    @classmethod
    def _int_or_text(cls, value: object) -> object:
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("expected an integer or a string (the label value that counts as 1)")
        return value


class DroppedColumn(_Frozen):
    column: Text
    reason: Text


class SplitSpec(_Frozen):
    unit: Literal["row", "cluster"]
    test_share: Annotated[float, Field(gt=0.0, lt=1.0, strict=True, allow_inf_nan=False)]
    salt: Text


class Source(_Frozen):
    name: Text
    url: Text
    retrieved_from: Text


class SealRecord(_Frozen):
    """One part of a sealed benchmark (``oversight benchmark seal``): the vendors' or the lab's.

    ``from_sha256`` is the full benchmark's SHA-256, which profiles pin, so one profile judges
    every form; ``commitment`` is the SHA-256 of the sealed part's data file (test rows and labels).
    """

    part: Literal["public", "sealed"]
    from_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    commitment: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    test_inputs: DataFile | None = None  # the public part's test rows, without labels

    @model_validator(mode="after")
    def _inputs_in_public_part(self) -> SealRecord:
        if (self.part == "public") != (self.test_inputs is not None):
            raise ValueError("expected test_inputs in the public part and only there")
        return self


class BenchmarkCard(_Frozen):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    version: Annotated[int, Field(ge=1, strict=True)]
    title: Text
    task: Literal["binary_classification", "regression"]
    description: Text
    files: Annotated[tuple[DataFile, ...], Field(min_length=1)]
    id_column: str | None
    label: Label
    features: Annotated[tuple[str, ...], Field(min_length=1)]
    sensitive: tuple[str, ...]
    slices: tuple[str, ...]
    weight: str | None
    cluster: str | None
    dropped: tuple[DroppedColumn, ...]
    split: SplitSpec
    source: Source
    citation: Text
    licence: Text
    labels: dict[str, dict[str, Text]] = {}
    """Readable names of a sensitive or slice column's values, ``{column: {code: label}}``:
    reports, tables and JSON show them next to the codes; the evidence keeps the codes."""

    @field_validator("labels", mode="before")
    @classmethod
    def _codes_as_text(cls, value: object) -> object:
        """Codes as the group names read them (``1`` and ``"1"`` are the same code)."""
        if not isinstance(value, dict):
            return value
        out: dict[object, object] = {}
        for column, codes in value.items():
            if not isinstance(codes, dict):
                out[column] = codes
                continue
            for code in codes:
                if isinstance(code, bool) or not isinstance(code, (int, str)):
                    raise ValueError(f"column {column!r}: code {code!r} is a {type(code).__name__}; expected an "
                                     "integer or a string (quote codes such as yes, no, 1.5)")
            out[column] = {str(code): label for code, label in codes.items()}
        return out
    sealed: SealRecord | None = None

    @model_validator(mode="after")
    def _check_roles(self) -> BenchmarkCard:
        named = self.named_columns()
        details = [
            InitErrorDetails(type=PydanticCustomError("column_role", "{text}", {"text": text}),
                             loc=loc, input=named.get(loc))
            for loc, text in _role_problems(self)
        ]
        if details:
            raise ValidationError.from_exception_data("BenchmarkCard", details)
        return self

    def named_columns(self) -> dict[Loc, str]:
        """Every column the card names, keyed by where it names it."""
        named: dict[Loc, str] = {("label", "column"): self.label.column}
        for field in ("id_column", "weight", "cluster"):
            if (value := getattr(self, field)) is not None:
                named[(field,)] = value
        for field in ("features", "sensitive", "slices"):
            named.update({(field, i): name for i, name in enumerate(getattr(self, field))})
        named.update({("dropped", i, "column"): d.column for i, d in enumerate(self.dropped)})
        return named


def _role_problems(card: BenchmarkCard) -> Iterator[tuple[Loc, str]]:
    label, dropped = card.label.column, {d.column for d in card.dropped}
    seen: set[tuple[str, str]] = set()
    for loc, name in card.named_columns().items():
        field = str(loc[0])
        if (field, name) in seen:
            yield loc, f"column {name!r} is listed twice in {field}; expected each column once"
        seen.add((field, name))
        if name == label and field != "label":
            yield loc, f"{name!r} is the label column (label.column); expected it not in {field}"
        elif name in dropped and field != "dropped":
            yield loc, f"column {name!r} is in dropped; expected a dropped column nowhere else"
        if field == "sensitive" and name in card.features:
            yield loc, (f"column {name!r} is also in features; expected a column either always "
                        "visible (features) or visible where a profile allows (sensitive)")
    grouping = (*card.sensitive, *card.slices)
    for column in card.labels:
        if column not in grouping:
            yield ("labels", column), (f"column {column!r} is not a sensitive or slice column; expected labels "
                                       f"only for the columns groups are made of ({', '.join(grouping) or 'none'})")
    if card.split.unit == "cluster" and card.cluster is None:
        yield ("split", "unit"), "expected a cluster column for unit 'cluster'; found cluster: null"
    if card.task == "binary_classification" and card.label.positive is None:
        yield ("label", "positive"), "expected the label value that counts as 1 for task 'binary_classification'"
    if card.task == "regression" and card.label.positive is not None:
        yield ("label", "positive"), (f"task 'regression' has a numeric outcome, not a positive class; "
                                      f"found positive: {card.label.positive!r}")


def label_values(card: BenchmarkCard, frame: pd.DataFrame) -> np.ndarray:
    """The label of each row: 0/1 (int8) for classification, the outcome (float64) for regression."""
    column = frame[card.label.column]
    if card.task == "regression":
        return pd.to_numeric(column).to_numpy(dtype=np.float64)
    return (column == card.label.positive).to_numpy(dtype=np.int8)
