"""Checks across the fields of a profile that validated field by field.

Each check returns errors in pydantic's shape (``loc``, ``type``, ``msg``) so that the
profile module reports them like any other, with field path and line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .metrics import CALIBRATION, METRICS, RELATIVE, value_range

if TYPE_CHECKING:
    from .profile import Profile

__all__ = ["profile_checks", "version_key"]


def profile_checks(profile: Profile) -> list[dict[str, Any]]:
    return (_range_checks(profile) + _task_checks(profile) + _score_checks(profile) + _independence_checks(profile)
            + _supersedes_checks(profile))


def version_key(version: object) -> tuple[int, int, str]:
    """Versions in the catalogue's order: whole numbers by value, after every text version; text by text."""
    text = str(version)
    return (1, int(text), "") if text.isdigit() else (0, 0, text)


def _supersedes_checks(profile: Profile) -> list[dict[str, Any]]:
    """A profile supersedes an earlier version of itself, never another profile or a later version."""
    old = profile.supersedes
    if old is None:
        return []
    errors = []
    if old.id != profile.id:
        errors.append(_error(("supersedes", "id"), f"'{old.id}' is another profile's id; expected '{profile.id}' "
                             "(a version supersedes an earlier version of the same profile)"))
    if version_key(old.version) >= version_key(profile.version):
        errors.append(_error(("supersedes", "version"), f"version {old.version} is not earlier than this profile's "
                             f"version {profile.version}; expected an earlier version (whole numbers count up, "
                             "and come after text versions)"))
    return errors


def _range_checks(profile: Profile) -> list[dict[str, Any]]:
    """Thresholds a metric can reach, null goals on the easier side, distinct derived names."""
    errors = []
    for i, req in enumerate(profile.requirements):
        low, high = value_range(req.metric, req.base_metric)
        span = ("(-inf" if low is None else f"[{low:g}") + ", " + ("inf)" if high is None else f"{high:g}]")
        name = req.metric if req.metric not in RELATIVE else f"{req.metric} of {req.base_metric}"
        values = [] if req.threshold is None else [(("threshold", req.threshold.operator), req.threshold.value)]
        values += [] if req.null_threshold is None else [(("null_threshold",), req.null_threshold)]
        for loc, value in values:
            if (low is not None and value < low) or (high is not None and value > high):
                errors.append(_error(("requirements", i, *loc), f"{value:g} is outside the values metric "
                                     f"'{name}' can take; expected a value in {span}"))
        if req.threshold is not None and req.null_threshold is not None:
            goal, null = req.threshold.value, req.null_threshold
            if (null > goal) if req.threshold.operator == "min" else (null < goal):
                side = "at or below" if req.threshold.operator == "min" else "at or above"
                errors.append(_error(("requirements", i, "null_threshold"), f"{null:g} is stricter than the goal "
                                     f"({req.threshold.text()}); expected the bound's goal {side} {goal:g}"))
    if profile.enforcement_from < profile.effective_from:
        errors.append(_error(("enforcement_from",), f"{profile.enforcement_from} is before effective_from "
                             f"{profile.effective_from}; expected enforcement on or after the date the profile "
                             "takes effect"))
    ids = [r.id for r in profile.requirements]
    for i, rid in enumerate(ids):
        if rid in ids[:i]:
            errors.append(_error(("requirements", i, "id"), f"requirement id '{rid}' is used twice (first at "
                                 f"requirements[{ids.index(rid)}]); expected each id once"))
    names = [d.name for d in profile.derived]
    for i, name in enumerate(names):
        if name in names[:i]:
            errors.append(_error(("derived", i, "name"), f"derived column '{name}' is defined twice; expected "
                                 "each name once"))
    return errors


def _task_checks(profile: Profile) -> list[dict[str, Any]]:
    """Every metric must belong to the profile's task; regression has no positive class."""
    errors = []
    for i, req in enumerate(profile.requirements):
        task = METRICS[req.base_metric].task
        if task != profile.task:
            field = "of" if req.metric in RELATIVE else "metric"
            hint = " (give 'of' with a regression metric)" if field == "of" and req.of is None else ""
            errors.append(_error(("requirements", i, field), f"metric '{req.base_metric}' is for task '{task}', "
                                 f"but the profile's task is '{profile.task}'{hint}"))
        if profile.task == "regression" and (req.min_support.positives or req.min_support.negatives):
            errors.append(_error(("requirements", i, "min_support"), "a regression outcome has no positives or "
                                 "negatives; give min_support.rows only"))
    return errors


def _score_checks(profile: Profile) -> list[dict[str, Any]]:
    """Calibration compares scores with observed rates, so a rank score cannot be calibrated."""
    if profile.score != "rank":
        return []
    on_ranks = ", ".join(sorted(m for m, info in METRICS.items() if info.needs_score and m not in CALIBRATION))
    return [_error(("requirements", i, "of" if req.metric in RELATIVE else "metric"),
                   f"metric '{req.base_metric}' reads scores as probabilities, but the profile's score is 'rank'; "
                   f"expected a metric that works on ranks ({on_ranks}) or 'score: probability'")
            for i, req in enumerate(profile.requirements) if req.base_metric in CALIBRATION]


def _independence_checks(profile: Profile) -> list[dict[str, Any]]:
    """Methods that assume independent rows cannot serve a profile that resamples clusters."""
    if profile.inference.bootstrap.unit != "cluster":
        return []
    why = ("assumes independent rows, but inference.bootstrap.unit is 'cluster' (rows of one unit are "
           "correlated, so it would be too narrow)")
    errors = []
    if profile.inference.interval is not None:
        errors.append(_error(("inference", "interval"), f"'{profile.inference.interval}' {why}; remove it "
                             "(proportions then use the cluster bootstrap)"))
    for i, req in enumerate(profile.requirements):
        if req.interval in ("wilson", "clopper_pearson", "katz_log"):
            errors.append(_error(("requirements", i, "interval"), f"'{req.interval}' {why}; use "
                                 "'bootstrap_percentile' or 'bootstrap_bca'"))
        if req.significance is not None and req.significance.test == "fisher":
            errors.append(_error(("requirements", i, "significance", "test"), f"'fisher' {why}; use 'auto' "
                                 "(a cluster-robust two-proportion z test)"))
    return errors


def _error(loc: tuple[Any, ...], msg: str) -> dict[str, Any]:
    return {"loc": loc, "type": "value_error", "msg": msg}
