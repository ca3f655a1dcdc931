"""A commented starting profile for a benchmark, checked as ``oversight profile validate`` checks it.

It judges only what a ministry has no number for yet by reporting it (no threshold), except
the four-fifths impact ratio, which it flags without failing; every goal is for the author to set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path

from ..benchmark import Benchmark, load_benchmark
from ..errors import ProfileError
from ..profile import LoadedProfile, parse_profile

TODO = "TODO"


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _req(rid: str, title: str, metric: str, groups: list[str], extra: list[str]) -> list[str]:
    lines = [f"  - id: {rid}", f"    title: {_q(title)}", f"    metric: {metric}"]
    if groups:
        lines.append(f"    groups: [{', '.join(_q(g) for g in groups)}]")
    return lines + [f"    {line}" for line in extra]


_GOAL = ["# threshold: {min: 0.80}   # TODO: the goal; without a threshold this is reported, not judged",
         "# rule: bound               # judge the lower confidence bound instead of the estimate"]


def _requirements(bench: Benchmark) -> list[str]:
    card, lines = bench.card, ["requirements:"]
    if card.task == "regression":
        lines += _req("P1-mae", "Mean absolute error", "mae", [],
                      ["# threshold: {max: 1.0}   # TODO: the largest accepted error, in the label's units"])
        for column in card.sensitive:
            lines += _req(f"G-mae-{_slug(column)}", f"Mean absolute error by {column}", "mae", [column], [])
        return lines
    lines += _req("P1-sensitivity", "Sensitivity: share of positives the system finds", "sensitivity", [],
                  [*_GOAL, "min_support: {positives: 30}"])
    lines += _req("P2-specificity", "Specificity: share of negatives the system clears", "specificity", [], _GOAL)
    for column in card.sensitive:
        slug = _slug(column)
        lines += _req(f"G-selection-{slug}", f"Selection rate by {column}", "selection_rate", [column], [])
        lines += _req(f"G-sensitivity-{slug}", f"Sensitivity by {column}", "sensitivity", [column],
                      ["min_support: {positives: 30}   # groups with fewer positives are not measured"])
        lines += _req(f"G-impact-{slug}", f"Impact ratio of selection rates by {column}", "impact_ratio", [column], [
            "of: selection_rate",
            "threshold: {min: 0.80}   # the four-fifths rule (29 CFR 1607.4(D)); TODO: confirm",
            "on_breach: flag          # a breach is reported, not failed; 'fail' makes it count",
            "significance: {test: auto, alpha: 0.05}   # flag only a statistically significant gap",
            "exclude_below_share: 0.02   # groups under 2% of rows are reported, not compared"])
    return lines


def _year_later(day: dt.date) -> dt.date:
    return day.replace(year=day.year + 1, day=28 if (day.month, day.day) == (2, 29) else day.day)


def profile_text(bench: Benchmark, *, path: str | None, sector: str, today: dt.date) -> str:
    """The starting profile's YAML, naming the benchmark by id (and ``path``, its folder), pinning its SHA-256."""
    card = bench.card
    seed = int(hashlib.sha256(f"{sector}:{card.id}".encode()).hexdigest()[:8], 16)
    unit = "cluster" if card.cluster else "row"
    lines = [
        "# yaml-language-server: $schema=./profile.schema.json",
        f"# Starting profile written by 'oversight profile init' for benchmark {card.id} (sector {sector}).",
        f"# Replace every {TODO}, set the goals the ministry requires, then run 'oversight profile validate'.",
        "# Every field is described in docs/profile-reference.md ('oversight profile schema' for editors).",
        f"id: {_slug(f'{sector}-{card.id}') or 'profile'}", "version: 1",
        f"title: {_q(TODO + ': what the profile judges')}", f"sector: {_q(sector)}",
        f"authority: {_q(TODO + ': the ministry or standards body that issues it')}",
        "legal_basis:", f"  - {_q(TODO + ': the act and article that require the evaluation')}",
        f"effective_from: {today.isoformat()}   # {TODO}: the date the profile takes effect",
        f"enforcement_from: {_year_later(today)}   # {TODO}: the date breaches have consequences (on or after effective_from)",
        "benchmark:",
        f"  id: {_q(card.id)}",
        *([] if path is None else [f"  path: {_q(path)}   # the benchmark's folder, relative to this file"]),
        f"  sha256: {bench.sha256}   # pins the exact data", "  split: test   # judge on the held-out rows",
        f"task: {card.task}",
        "model_inputs:",
        "  allow_sensitive: []   # sensitive columns the model may see: " + (", ".join(card.sensitive) or "none"),
        "inference:", "  confidence: 0.95",
        f"  bootstrap: {{replicates: 2000, seed: {seed}, unit: {unit}}}"
        + ("   # resample the card's clusters" if card.cluster else ""),
        *_requirements(bench),
    ]
    return "\n".join(lines) + "\n"


def init_profile(ref: str, *, sector: str, out: Path | None = None, today: dt.date | None = None) -> str:
    """The starting profile for benchmark ``ref`` (an id on the search path, a folder or a card path), validated.

    A benchmark named by id is found again by id; one named by its folder gets ``benchmark.path``,
    relative to the folder the profile is written to (``out``'s, else the current one).
    """
    from ..plan import make_plan

    if not sector.strip():
        raise ProfileError("--sector: expected a sector name, found an empty string")
    by_id = "/" not in ref and "\\" not in ref and not Path(ref).exists()
    bench = load_benchmark(ref if by_id else Path(ref))
    home = (out.parent if out is not None else Path.cwd()).resolve()
    path = None if by_id else Path(os.path.relpath(bench.root, home)).as_posix()
    text = profile_text(bench, path=path, sector=sector, today=today or dt.date.today())
    profile = parse_profile(text, source="<starting profile>")
    make_plan(LoadedProfile(profile=profile, path=home / (out.name if out else "profile.yaml"), text=text,
                            sha256=hashlib.sha256(text.encode()).hexdigest()))
    return text
