"""The plan: a profile checked against its benchmark, and the rows it judges.

Everything a profile names (benchmark hash, group columns, derived bands, sensitive
columns a model may see, survey weights) is checked here, before any model runs, so a
mistake costs nothing and is reported with the profile's field path.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .benchmark import Benchmark, BenchmarkCard, load_benchmark
from .catalog import benchmark_folder
from .errors import BenchmarkError, HarnessError, PredictionsError, ProfileError
from .metrics import METRICS
from .predictors import Predictions
from .profile import LoadedProfile, Profile
from .stats import AtomTable, GridSpec, build_atoms, build_regression_atoms
from .yamlio import line_of, load_yaml

MAX_GROUPS = 1_000  # distinct groups (combinations of a requirement's columns) in the rows judged

__all__ = [
    "Plan", "add_derived", "atoms_of", "check_columns", "check_pinned", "group_columns", "make_plan", "needs_score",
    "score_limits", "validate_scores",
]


PROBABILITY_METRICS = ("brier", "ece", "oe_ratio")  # need scores that are probabilities, in [0, 1]


@dataclass(frozen=True)
class Plan:
    loaded: LoadedProfile
    benchmark: Benchmark  # the rows judged (already subset to the split)
    split: str
    groups: pd.DataFrame  # every grouping column the requirements use, derived bands included

    @property
    def profile(self) -> Profile:
        return self.loaded.profile


def make_plan(loaded: LoadedProfile, *, split: str | None = None, benchmark: Path | None = None) -> Plan:
    """The checked plan; ``benchmark`` is a folder to judge instead of the profile's (a lab's sealed part)."""
    profile = loaded.profile
    folder = benchmark if benchmark is not None else locate_benchmark(loaded)[0]
    full = load_benchmark(folder, expected_id=profile.benchmark.id)
    sealed = full.card.sealed
    check_pinned(profile, full.sha256 if sealed is None else sealed.from_sha256)
    check_columns(loaded, full.card, list(full.frame.columns))
    chosen = split or profile.benchmark.split
    if chosen not in ("test", "development", "all"):
        raise ProfileError(f"split '{chosen}': expected one of test, development, all")
    if sealed is not None:
        _check_part(full, sealed.part, chosen)
    bench = full.subset(chosen)
    frame = bench.frame.copy()
    add_derived(profile, frame)
    columns = group_columns(profile)
    _check_group_counts(loaded, frame)
    return Plan(
        loaded=loaded,
        benchmark=bench,
        split=chosen,
        groups=frame[columns],
    )


def _problems(loaded: LoadedProfile, found: list[tuple[tuple[str | int, ...], str]]) -> ProfileError:
    """One error listing each problem with the profile's file, line and field path."""
    source = str(loaded.path or "<profile>")
    try:
        node = load_yaml(loaded.text, source=source, what="profile", error=ProfileError).node
    except HarnessError:
        node = None
    lines = []
    for loc, message in found:
        line = line_of(node, loc)
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        lines.append(f"{source}{f':{line}' if line else ''}: {field}: {message}")
    return ProfileError(f"{source}: {len(lines)} problem(s)\n" + "\n".join(lines), lines)


def locate_benchmark(loaded: LoadedProfile) -> tuple[Path, str]:
    """The profile's benchmark folder and where it was found; an unknown one is a problem of the profile."""
    try:
        return benchmark_folder(loaded)
    except BenchmarkError as exc:
        raise _problems(loaded, [(("benchmark", "id"), str(exc))]) from None
    except ProfileError as exc:
        if loaded.profile.benchmark.path is None:
            raise
        message = str(exc).removeprefix(f"{loaded.path}: benchmark.path: ")
        raise _problems(loaded, [(("benchmark", "path"), message)]) from None


def _check_group_counts(loaded: LoadedProfile, frame: pd.DataFrame) -> None:
    """A requirement may split the rows into at most MAX_GROUPS groups."""
    found = []
    counts: dict[tuple[str, ...], int] = {}  # requirements share groupings: each is counted once
    for i, req in enumerate(loaded.profile.requirements):
        key = tuple(req.groups)
        if key and key not in counts:
            counts[key] = len(frame[list(key)].drop_duplicates())
        if key and (count := counts[key]) > MAX_GROUPS:
            found.append((("requirements", i, "groups"), f"{count:,} groups in the rows judged; expected at most "
                          f"{MAX_GROUPS:,} (choose coarser columns or bands)"))
    if found:
        raise _problems(loaded, found)


def _check_part(full: Benchmark, part: str, chosen: str) -> None:
    """A sealed benchmark's public part has no test labels, its sealed part no development rows."""
    where = f"benchmark {full.id} at {full.root}"
    if part == "public" and chosen != "development":
        raise BenchmarkError(f"{where} is the public release of a sealed benchmark: it holds the development split "
                             f"with labels and the test split's inputs only, so it cannot judge the {chosen!r} "
                             "split; the test labels are in the sealed part, which a lab judges with `oversight "
                             "assess SUBMISSION --sealed DIR` (or run --split development)")
    if part == "sealed" and chosen != "test":
        raise BenchmarkError(f"{where} is the sealed part of a benchmark: it holds the test split only, so it "
                             f"cannot judge the {chosen!r} split; the development split is in the public release")


def check_pinned(profile: Profile, found: str) -> None:
    if found != profile.benchmark.sha256:
        raise BenchmarkError(
            f"benchmark '{profile.benchmark.id}': the profile pins SHA-256 {profile.benchmark.sha256}, "
            f"the benchmark on disk has {found}; the data or the profile changed"
        )


def atoms_of(profile: Profile, groups: pd.DataFrame, label: np.ndarray, preds: Predictions, *,
             weight: np.ndarray | None, cluster: np.ndarray | None) -> AtomTable:
    """The atom table of rows and their predictions, as the profile's task and grid say.

    ``weight`` and ``cluster`` are the benchmark's columns (or None); they become keys of the
    atoms only when a requirement is weighted or the bootstrap resamples clusters.
    """
    weight = weight if any(r.weighted for r in profile.requirements) else None
    cluster = cluster if profile.inference.bootstrap.unit == "cluster" else None
    if profile.task == "regression":
        return build_regression_atoms(groups, label, preds.value, weight=weight, cluster=cluster)
    opts = profile.inference
    return build_atoms(groups, label, preds.decision, score=preds.score if needs_score(profile) else None,
                       weight=weight, cluster=cluster, spec=GridSpec(opts.score_bins, tuple(opts.score_range)))


def needs_score(profile: Profile) -> bool:
    return any(METRICS[r.base_metric].needs_score for r in profile.requirements)


def group_columns(profile: Profile) -> list[str]:
    """Every column a requirement groups by, in first-use order."""
    return list(dict.fromkeys(c for r in profile.requirements for c in r.groups))


def add_derived(profile: Profile, frame: pd.DataFrame) -> None:
    """Add the profile's banded columns to ``frame`` in place."""
    for d in profile.derived:
        frame[d.name] = _band(frame[d.source], d.bins, d.labels)


def _band(values: pd.Series, bins: list[float], labels: list[str]) -> pd.Series:
    banded = pd.cut(pd.to_numeric(values, errors="coerce"), bins=bins, labels=labels, right=False)
    return banded.astype("string")


def check_columns(loaded: LoadedProfile, card: BenchmarkCard, data_columns: list[str]) -> None:
    """Every column the profile names exists in the benchmark with the role it needs."""
    profile = loaded.profile
    known = list(dict.fromkeys([*card.features, *card.sensitive, *card.slices]))
    derived = [d.name for d in profile.derived]
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if profile.task != card.task:
        problems.append((("task",), f"the profile's task is '{profile.task}' but benchmark '{card.id}' "
                         f"is for '{card.task}'"))
    for i, d in enumerate(profile.derived):
        if d.source not in data_columns:
            problems.append((("derived", i, "source"), f"unknown column '{d.source}'{_hint(d.source, known)}"))
    for i, name in enumerate(profile.model_inputs.allow_sensitive):
        if name not in card.sensitive:
            problems.append((("model_inputs", "allow_sensitive", i), f"'{name}' is not a sensitive column "
                             f"of benchmark '{card.id}'{_hint(name, list(card.sensitive))}"))
    for i, req in enumerate(profile.requirements):
        for j, col in enumerate(req.groups):
            if col not in known and col not in derived:
                problems.append((("requirements", i, "groups", j), f"unknown column '{col}' in benchmark "
                                 f"'{card.id}'{_hint(col, known + derived)}"))
        if req.weighted and card.weight is None:
            problems.append((("requirements", i, "weighted"), f"benchmark '{card.id}' declares no weight column"))
    if problems:
        raise _problems(loaded, problems)


def _hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return (f"; did you mean '{close[0]}'?" if close else ";") + f" valid choices: {', '.join(choices)}"


def score_limits(profile: Profile) -> tuple[float, float] | None:
    """The range every declared score must lie in: ``inference.score_range``, within [0, 1] for probabilities.

    None when no requirement uses scores, so a score column the profile ignores is not judged.
    """
    needing = [r.base_metric for r in profile.requirements if METRICS[r.base_metric].needs_score]
    if not needing:
        return None
    lo, hi = profile.inference.score_range
    if set(needing) & set(PROBABILITY_METRICS):
        return max(lo, 0.0), min(hi, 1.0)
    return lo, hi


def validate_scores(score: np.ndarray | None, profile: Profile, source: str) -> None:
    """Score metrics need scores; Brier, ECE and O/E need probabilities in [0, 1]."""
    needing = [r for r in profile.requirements if METRICS[r.base_metric].needs_score]
    if not needing:
        return
    if score is None:
        names = ", ".join(f"{r.id} ({r.base_metric})" for r in needing)
        raise PredictionsError(f"{source}: requirements {names} need scores; the predictions have none "
                               "(give a 'score' column or a model with predict_proba)")
    prob = [r for r in needing if r.base_metric in PROBABILITY_METRICS]
    bad = np.flatnonzero((score < 0) | (score > 1))
    if prob and bad.size:
        raise PredictionsError(f"{source}: requirement {prob[0].id} ({prob[0].base_metric}) needs probabilities "
                               f"in [0, 1]; {bad.size} scores are outside, e.g. row {bad[0]}: {score[bad[0]]!r}")
