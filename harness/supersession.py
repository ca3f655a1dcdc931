"""Which version of a profile is in force on a date, and the ``supersedes`` link between versions.

A ministry publishes version 2 of a profile beside version 1; from version 2's
``effective_from`` on, version 1 is superseded. The versions a run knows of are the ones in
the catalogue (``--profiles``, ``OVERSIGHT_PROFILES``, the installed defaults): a profile is
superseded on a date when a newer version of the same id there is effective on that date,
whether or not that version says ``supersedes:``. The newest such version is the one in force.

A run against a superseded version is still evidence for the version it judged (the
thresholds it names were applied as written); its banner, JSON, summary and MLflow tag
``oversight.policy.superseded_by`` say which version is in force instead, so that nobody
reads it as evidence against the current rules. A newer version in the catalogue that does
not load is an error, not a version skipped: otherwise a broken file would hide that a
profile is superseded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .catalog import find_profile, profile_entries
from .errors import ProfileError
from .profile import LoadedProfile, Profile, load_profile
from .profile_checks import version_key
from .verdict import Successor
from .yamlio import line_of, load_yaml

__all__ = ["check_supersedes", "contradicted_successor", "in_force_successor", "recorded_successor"]


def check_supersedes(loaded: LoadedProfile) -> None:
    """The version a profile supersedes, when the catalogue holds it, must take effect earlier."""
    ref = loaded.profile.supersedes
    if ref is None or not any(e.id == ref.id and e.version == str(ref.version) for e in profile_entries()):
        return  # not published where this run looks: nothing to compare with
    path = find_profile(f"{ref.id}@{ref.version}")  # refused when found in two places
    old = _load(path, f"supersedes: {ref.id}@{ref.version}")
    new_date = loaded.profile.effective_from
    if old.profile.effective_from >= new_date:
        raise _problem(loaded, ("supersedes",), f"{ref.id}@{ref.version} ({path}) takes effect on "
                       f"{old.profile.effective_from.isoformat()}, not before this version's effective_from "
                       f"{new_date.isoformat()}; expected the superseded version to take effect earlier")


def in_force_successor(profile: Profile, as_of: dt.date) -> Successor | None:
    """The newest version of the same id in the catalogue that is newer and effective on ``as_of``."""
    mine = version_key(profile.version)
    newer = {e.version for e in profile_entries() if e.id == profile.id and version_key(e.version) > mine}
    for version in sorted(newer, key=version_key, reverse=True):
        path = find_profile(f"{profile.id}@{version}")
        later = _load(path, f"the version of {profile.id} in force on {as_of.isoformat()}")
        if later.profile.effective_from <= as_of:
            return Successor(profile.id, version, later.profile.effective_from, later.sha256)
    return None


def contradicted_successor(profile: Profile, summary: dict[str, Any]) -> str | None:
    """For an auditor: why the catalogue searched now contradicts what a bundle recorded as in force, or None.

    A run records the newest version its own catalogue held; a vendor who left the ministry's
    newer version out of its search path would record its own version as in force. A successor
    the auditor's catalogue lacks contradicts nothing (the run knew of more versions, not fewer).
    """
    policy = summary.get("policy") if isinstance(summary.get("policy"), dict) else {}
    try:
        as_of = dt.date.fromisoformat(str(policy.get("as_of")))
    except ValueError:
        return None  # a malformed date is reported where the summary is recomputed
    now = in_force_successor(profile, as_of)
    recorded = recorded_successor(summary)
    if now is None or now == recorded:
        return None
    said = "none (in force)" if recorded is None else f"{recorded.id}@{recorded.version}"
    return (f"summary.json policy.superseded_by: the bundle records {said}, but in the catalogue searched now "
            f"{now.id}@{now.version} (SHA-256 {now.sha256}) is in force on {as_of.isoformat()}, since "
            f"{now.effective_from.isoformat()}")


def recorded_successor(summary: dict[str, Any]) -> Successor | None:
    """The successor a bundle's summary recorded at run time (None when absent or malformed)."""
    record = summary.get("policy", {}).get("superseded_by") if isinstance(summary.get("policy"), dict) else None
    if not isinstance(record, dict):
        return None
    try:
        return Successor(str(record["id"]), str(record["version"]), dt.date.fromisoformat(record["effective_from"]),
                         str(record["sha256"]))
    except (KeyError, TypeError, ValueError):
        return None


def _load(path: Any, purpose: str) -> LoadedProfile:
    try:
        return load_profile(path)
    except ProfileError as exc:
        raise ProfileError(f"{purpose}: {path} does not load, so it cannot be compared: {exc}",
                           [f"{purpose}: {path} does not load: {line}" for line in exc.problems]) from None


def _problem(loaded: LoadedProfile, loc: tuple[str, ...], message: str) -> ProfileError:
    source = str(loaded.path or "<profile>")
    try:
        line = line_of(load_yaml(loaded.text, source=source, what="profile", error=ProfileError).node, loc)
    except ProfileError:
        line = None
    text = f"{source}{f':{line}' if line else ''}: {'.'.join(loc)}: {message}"
    return ProfileError(text, [text])
