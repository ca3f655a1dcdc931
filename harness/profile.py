"""Sector profiles: what a ministry requires, as validated, frozen data.

A profile is YAML read by the bounded loader of ``yamlio`` into frozen pydantic models
that forbid unknown fields, take no booleans for numbers and no infinities, and hold
every threshold inside the range its metric can take. Every problem is reported at
once, each with the file, the field path, the line, what was expected and what was
found, and a "did you mean" for misspelt names.

Limits: ``MAX_REQUIREMENTS`` requirements, ``MAX_GROUP_COLUMNS`` group columns per
requirement, ``MAX_DERIVED`` derived columns, bootstrap replicates and score grids as
declared on their fields; the file itself as ``yamlio`` bounds it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, SerializerFunctionWrapHandler, StrictBool,
                      StrictInt, StrictStr, ValidationError, field_validator, model_serializer, model_validator)

from .errors import ProfileError
from .metrics import METRICS, RELATIVE, metric_names
from .multiplicity import Adjust
from .profile_checks import profile_checks
from .yamlio import line_of, load_yaml, read_capped

__all__ = [
    "BenchmarkRef",
    "DerivedColumn",
    "Inference",
    "Profile",
    "ProfileVersion",
    "Requirement",
    "Significance",
    "Support",
    "Threshold",
    "load_profile",
]

IntervalMethod = Literal["wilson", "clopper_pearson", "katz_log", "bootstrap_percentile", "bootstrap_bca",
                         "bootstrap_t"]
Split = Literal["test", "development", "all"]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # finite; a boolean is not a number


def _not_a_count(value: object) -> object:
    """Pydantic reads a number as seconds since 1970: a date must be written as one."""
    if isinstance(value, (bool, int, float)):
        raise ValueError(f"expected a date written YYYY-MM-DD, found the number {value!r}")
    return value


Date = Annotated[dt.date, BeforeValidator(_not_a_count)]


def _not_a_boolean(value: object) -> object:
    """YAML's true and false are not the decisions 1 and 0."""
    if isinstance(value, bool):
        raise ValueError(f"expected the decision 0 or 1, found the boolean {str(value).lower()}")
    return value


Decision = Annotated[Literal[0, 1], BeforeValidator(_not_a_boolean)]

MAX_REQUIREMENTS = 200
MAX_GROUP_COLUMNS = 4
MAX_DERIVED = 20
# Metrics that describe who is selected or the data, not how well the model does: nothing to judge.
REPORT_ONLY = ("prevalence", "scoring_rate", "selection_rate")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Frozen):
    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _one_side(self) -> "Threshold":
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of 'min' or 'max'")
        return self

    @property
    def operator(self) -> Literal["min", "max"]:
        return "min" if self.min is not None else "max"

    @property
    def value(self) -> float:
        return self.min if self.min is not None else self.max  # type: ignore[return-value]

    def text(self) -> str:
        return f"{self.operator} {self.value:g}"


class Support(_Frozen):
    rows: StrictInt = Field(0, ge=0)
    positives: StrictInt = Field(0, ge=0)
    negatives: StrictInt = Field(0, ge=0)


class Significance(_Frozen):
    """A breach is flagged only when significant; ``adjust`` corrects the p-values across the requirement's
    group comparisons (Holm, Bonferroni or Benjamini-Hochberg), and flags then use the adjusted ones."""

    test: Literal["auto", "two_proportion_z", "fisher"] = "auto"
    alpha: Number = Field(0.05, gt=0, lt=1)
    small_n: StrictInt = Field(30, ge=1, description="below this group size 'auto' uses Fisher's exact test")
    # Across the requirement's group comparisons (see harness/multiplicity.py); flags use the adjusted p-values.
    adjust: Adjust = "none"


class Requirement(_Frozen):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str
    description: str = ""
    metric: str
    of: str | None = None
    groups: list[str] = []
    threshold: Threshold | None = None
    rule: Literal["point", "bound", "dual"] = "point"
    null_threshold: Number | None = None
    on_breach: Literal["fail", "flag"] = "fail"
    significance: Significance | None = None
    exclude_below_share: Number = Field(0.0, ge=0, lt=1)
    min_support: Support = Support()
    interval: IntervalMethod | None = None
    tolerance: Number | None = Field(None, gt=0)  # within_tolerance: |prediction - outcome| <= tolerance
    weighted: StrictBool = False
    blocking: StrictBool | None = None
    references: list[str] = []

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, name: str) -> str:
        if name not in METRICS and name not in RELATIVE:
            raise ValueError(f"unknown metric '{name}'{_did_you_mean(name, metric_names())}")
        return name

    @field_validator("groups")
    @classmethod
    def _distinct_groups(cls, groups: list[str]) -> list[str]:
        if len(groups) > MAX_GROUP_COLUMNS:
            raise ValueError(f"{len(groups)} group columns; expected at most {MAX_GROUP_COLUMNS} (each column "
                             "multiplies the groups, and intersections that small are rarely measurable)")
        twice = sorted({g for g in groups if groups.count(g) > 1})
        if twice:
            raise ValueError(f"column {twice[0]!r} is listed twice; expected each group column once")
        return groups

    @field_validator("of")
    @classmethod
    def _known_base(cls, name: str | None) -> str | None:
        if name is not None and name not in METRICS:
            raise ValueError(f"unknown base metric '{name}'{_did_you_mean(name, sorted(METRICS))}")
        return name

    @model_validator(mode="after")
    def _coherent(self) -> "Requirement":
        _check_metric(self)
        if self.threshold is not None and self.metric in REPORT_ONLY:
            raise ValueError(f"metric '{self.metric}' is reported, not judged: remove 'threshold', or judge "
                             f"its disparity with metric 'impact_ratio' or 'difference' (of: {self.metric})")
        if self.rule == "dual" and self.threshold is None:
            raise ValueError("rule 'dual' needs a 'threshold' (the point estimate's goal)")
        if self.rule == "dual" and self.null_threshold is None:
            raise ValueError("rule 'dual' needs 'null_threshold' (the bound's goal)")
        if self.rule != "dual" and self.null_threshold is not None:
            raise ValueError(f"'null_threshold' only applies to rule 'dual', found rule '{self.rule}'")
        if self.significance is not None and self.metric not in RELATIVE:
            raise ValueError(f"'significance' applies to {sorted(RELATIVE)}, found metric '{self.metric}'")
        if self.blocking and self.threshold is None:
            raise ValueError("a blocking requirement needs a 'threshold'")
        if (self.base_metric == "within_tolerance") != (self.tolerance is not None):
            raise ValueError("metric 'within_tolerance' needs 'tolerance' (the largest accepted |prediction - "
                             "outcome|)" if self.tolerance is None else
                             f"'tolerance' only applies to metric 'within_tolerance', found '{self.base_metric}'")
        return self

    @property
    def base_metric(self) -> str:
        return (self.of or "selection_rate") if self.metric in RELATIVE else self.metric

    @property
    def is_blocking(self) -> bool:
        return self.threshold is not None if self.blocking is None else self.blocking


def _check_metric(req: Requirement) -> None:
    if req.metric in RELATIVE:
        base = req.of or "selection_rate"
        if req.significance is not None and METRICS[base].kind != "proportion":
            raise ValueError(f"'significance' needs a proportion base metric, found '{base}'")
        if not req.groups:
            raise ValueError(f"metric '{req.metric}' compares groups: give 'groups'")
    elif req.of is not None:
        raise ValueError(f"'of' only applies to {sorted(RELATIVE)}, found metric '{req.metric}'")


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ";"
    return f"{hint} valid choices: {', '.join(choices)}"


class Bootstrap(_Frozen):
    replicates: StrictInt = Field(2000, ge=100, le=100_000)
    seed: StrictInt = Field(ge=0, lt=2**63)
    unit: Literal["row", "cluster"] = "row"  # cluster: resample the benchmark's units of analysis
    stratify: StrictBool = False  # keep each group's size fixed (groups of all requirement columns)
    # Replicates see scores on a grid of this many bins (point estimates keep inference.score_bins);
    # intervals of score metrics are then moved by the point estimate's change (see measurements.py).
    score_bins: StrictInt = Field(1_000, ge=10, le=1_000_000)

    @model_validator(mode="after")
    def _one_scheme(self) -> "Bootstrap":
        if self.unit == "cluster" and self.stratify:
            raise ValueError("choose either unit 'cluster' or 'stratify: true', not both")
        return self


class Inference(_Frozen):
    confidence: Number = Field(0.95, gt=0.5, lt=1)
    # Default interval of unweighted proportions; unset: Clopper-Pearson, or the bootstrap
    # when the bootstrap unit is 'cluster' (analytic intervals assume independent rows).
    interval: Literal["wilson", "clopper_pearson"] | None = None
    bootstrap: Bootstrap
    score_bins: StrictInt = Field(10_000, ge=10, le=1_000_000)  # exact below this many distinct scores
    score_range: tuple[Number, Number] = (0.0, 1.0)  # binned scores: equal-width bins over this range

    @model_validator(mode="after")
    def _range(self) -> "Inference":
        if self.score_range[0] >= self.score_range[1]:
            raise ValueError(f"score_range must increase, found {list(self.score_range)}")
        return self


class BenchmarkRef(_Frozen):
    """The benchmark judged: its id and pinned hash, and optionally its folder relative to the profile file."""

    id: str
    path: str | None = Field(default=None, min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    split: Split = "test"

    @model_serializer(mode="wrap")
    def _without_unset_path(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A profile without ``path`` reads back as written (its lines keep their numbers)."""
        data = handler(self)
        if data.get("path") is None:
            data.pop("path", None)
        return data


class DerivedColumn(_Frozen):
    """A banded copy of a numeric column: bins are edges, intervals closed on the left."""

    name: str
    source: str
    bins: list[Number] = Field(min_length=2, max_length=101)
    labels: list[str]

    @model_validator(mode="after")
    def _shape(self) -> "DerivedColumn":
        if len(self.labels) != len(self.bins) - 1:
            raise ValueError(f"{len(self.bins)} bin edges need {len(self.bins) - 1} labels, found {len(self.labels)}")
        if any(hi <= lo for lo, hi in zip(self.bins, self.bins[1:])):
            raise ValueError(f"bin edges must increase, found {self.bins}")
        return self


class ProfileVersion(_Frozen):
    """An earlier version of this profile that this one replaces from its ``effective_from``: from that
    date, a run against the earlier version says that this one is in force."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: StrictInt | StrictStr


class ModelInputs(_Frozen):
    allow_sensitive: list[str] = []


class Assessment(_Frozen):
    """A cap a lab's ledger enforces per vendor key: at most ``max_submissions`` assessed in ``per_days`` days."""

    max_submissions: StrictInt = Field(ge=1)
    per_days: StrictInt = Field(ge=1, le=3660)


class Profile(_Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: StrictInt | StrictStr
    title: str
    sector: str
    authority: str
    legal_basis: list[str] = Field(min_length=1)
    references: list[str] = []
    effective_from: Date
    enforcement_from: Date
    # The version this one replaces; the policy clock then tells which version is in force (harness/supersession.py).
    supersedes: ProfileVersion | None = None
    benchmark: BenchmarkRef
    task: Literal["binary_classification", "regression"]
    model_inputs: ModelInputs = ModelInputs()
    derived: list[DerivedColumn] = Field([], max_length=MAX_DERIVED)
    inference: Inference
    requirements: list[Requirement] = Field(min_length=1, max_length=MAX_REQUIREMENTS)
    # The decision that benefits the person (1 in hiring, 0 where 1 detains, flags or denies):
    # selection rates, their impact ratios and the four-fifths rule count this outcome.
    favourable_decision: Decision = 1
    # What a model's score is: a probability of the label, or only an order of the rows (a risk
    # points scale, a raw margin). Calibration metrics need probabilities; AUROC does not.
    score: Literal["probability", "rank"] = "probability"
    notes: str = ""
    assessment: Assessment | None = None  # third-party assessment (``oversight assess``): the submission cap

    def requirement(self, rid: str) -> Requirement:
        return next(r for r in self.requirements if r.id == rid)

    @model_serializer(mode="wrap")
    def _without_unset_supersedes(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A profile that supersedes nothing reads back as written (its lines keep their numbers)."""
        data = handler(self)
        if data.get("supersedes") is None:
            data.pop("supersedes", None)
        return data


class LoadedProfile(BaseModel):
    """A profile with where it came from: the path, its exact bytes and their SHA-256."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    profile: Profile
    path: Path | None
    text: str
    sha256: str


def load_profile(path: str | Path) -> LoadedProfile:
    path = Path(path)
    raw = read_capped(path, what="profile", error=ProfileError)
    text, profile = _parse(raw, source=str(path))
    return LoadedProfile(profile=profile, path=path, text=text, sha256=hashlib.sha256(raw).hexdigest())


def parse_profile(text: str | bytes, *, source: str = "<profile>") -> Profile:
    return _parse(text, source=source)[1]


def _parse(raw: str | bytes, *, source: str) -> tuple[str, Profile]:
    try:
        doc = load_yaml(raw, source=source, what="profile", error=ProfileError)
    except ProfileError as exc:
        raise ProfileError(str(exc), [str(exc)]) from None
    if not isinstance(doc.data, dict):
        kinds = {type(None): "null", str: "a string", list: "a list", int: "a number", float: "a number",
                 bool: "a boolean"}
        found = "an empty file" if doc.node is None else kinds.get(type(doc.data), type(doc.data).__name__)
        raise ProfileError(f"{source}:1: expected a mapping of profile fields, found {found}")
    try:
        profile = Profile.model_validate(doc.data)
        errors = profile_checks(profile)
    except ValidationError as exc:
        errors = exc.errors()
    if errors:
        problems = [_describe(err, doc.node, source) for err in errors]
        raise ProfileError(f"{source}: {len(problems)} problem(s)\n" + "\n".join(problems), problems) from None
    return doc.text, profile


def _describe(err: dict[str, Any], node: yaml.Node | None, source: str) -> str:
    loc = list(err["loc"])
    field = _field_path(loc)
    line = line_of(node, tuple(loc))
    where = f"{source}:{line}" if line else source
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        valid = _valid_fields(loc[:-1])
        return f"{where}: {field}: unknown field{_did_you_mean(str(loc[-1]), valid)}"
    if kind == "missing":
        return f"{where}: {field}: required field is missing"
    found = err.get("input")
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
        return f"{where}: {field or '(profile)'}: {msg}"
    if kind in ("too_long", "too_short"):
        return f"{where}: {field}: {msg}"
    shown = repr(found)
    return f"{where}: {field}: {msg}, found {shown if len(shown) <= 60 else shown[:57] + '...'}"


def _field_path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_MODELS: dict[str, type[BaseModel]] = {
    "": Profile,
    "requirements": Requirement,
    "threshold": Threshold,
    "min_support": Support,
    "significance": Significance,
    "inference": Inference,
    "bootstrap": Bootstrap,
    "benchmark": BenchmarkRef,
    "derived": DerivedColumn,
    "model_inputs": ModelInputs,
    "supersedes": ProfileVersion,
    "assessment": Assessment,
}


def _valid_fields(parent: list[Any]) -> list[str]:
    names = [p for p in parent if isinstance(p, str)]
    model = _MODELS.get(names[-1] if names else "", Profile)
    return sorted(model.model_fields)
