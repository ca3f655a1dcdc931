"""What changed between two versions of a profile, requirement by requirement.

For a ministry publishing a new version and a vendor reading what it now has to meet:
every field of the profile and of each requirement (matched by id) whose value differs,
with a kind (threshold, rule, groups, interval, support, dates, benchmark pin, ...).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from ..profile import Profile, Requirement

_KINDS = {
    "threshold": "threshold", "null_threshold": "threshold", "rule": "rule", "on_breach": "rule",
    "blocking": "rule", "significance": "rule", "exclude_below_share": "groups", "groups": "groups",
    "interval": "interval", "min_support": "support", "effective_from": "dates", "enforcement_from": "dates",
    "benchmark": "benchmark pin", "inference": "inference", "version": "version", "metric": "metric", "of": "metric",
    "tolerance": "metric", "weighted": "metric", "model_inputs": "model inputs", "derived": "groups",
    "supersedes": "supersedes",
}


@dataclass(frozen=True)
class Change:
    """One field that differs; ``requirement`` is None for the profile's own fields."""

    requirement: str | None
    field: str
    kind: str
    old: Any
    new: Any


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    return {prefix: value}


def _dump(model: Profile | Requirement) -> dict[str, Any]:
    data = model.model_dump(mode="json", exclude={"requirements"})
    if isinstance(model, Requirement) and model.threshold is not None:
        data["threshold"] = model.threshold.text()  # 'min 0.8' rather than two fields, one of them null
    if isinstance(model, Profile) and model.supersedes is not None:
        data["supersedes"] = _ref(model.supersedes.id, model.supersedes.version)
    return _flatten(data, "")


def _changes(rid: str | None, old: Profile | Requirement, new: Profile | Requirement) -> list[Change]:
    before, after = _dump(old), _dump(new)
    out = []
    for field in [*before, *(f for f in after if f not in before)]:
        if before.get(field) != after.get(field):
            kind = _KINDS.get(field.split(".")[0], "text" if rid is None or field in ("title", "description",
                                                                                     "references") else "other")
            out.append(Change(rid, field, kind, before.get(field), after.get(field)))
    return out


def diff_profiles(old: Profile, new: Profile) -> list[Change]:
    """Profile fields first, then requirements in the new profile's order, then the removed ones."""
    changes = _changes(None, old, new)
    before = {r.id: r for r in old.requirements}
    after = {r.id: r for r in new.requirements}
    for req in new.requirements:
        if req.id in before:
            changes += _changes(req.id, before[req.id], req)
        else:
            changes.append(Change(req.id, "(requirement)", "added", None, _summary(req)))
    changes += [Change(r.id, "(requirement)", "removed", _summary(r), None)
                for r in old.requirements if r.id not in after]
    return changes


def _summary(req: Requirement) -> str:
    parts = [req.metric + (f" of {req.of}" if req.of else "")]
    if req.groups:
        parts.append(f"by {', '.join(req.groups)}")
    parts.append(f"{req.threshold.text()} ({req.rule}, on breach {req.on_breach})" if req.threshold else "reported")
    return " ".join(parts)


def _ref(pid: str, version: object) -> str:
    return f"{pid}@{version}"


def supersedes_link(old: Profile, new: Profile) -> str | None:
    """What NEW says it supersedes, against OLD; None when NEW says nothing."""
    link = new.supersedes
    if link is None:
        return None
    named = _ref(link.id, link.version)
    if named == _ref(old.id, old.version):
        return f"{_ref(new.id, new.version)} supersedes {named} from {new.effective_from.isoformat()}"
    return f"{_ref(new.id, new.version)} supersedes {named}, not {_ref(old.id, old.version)} (the old profile here)"


def _text(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str) and "\n" not in value:
        return value
    return json.dumps(value, ensure_ascii=False)  # lists, numbers, and text over several lines on one line


def render(old: Profile, new: Profile, changes: list[Change], fmt: str) -> str:
    """The changes as text lines or JSON."""
    link = supersedes_link(old, new)
    if fmt == "json":
        return json.dumps({"old": {"id": old.id, "version": old.version}, "new": {"id": new.id, "version": new.version},
                           "supersedes": link, "changes": [asdict(c) for c in changes]},
                          indent=2, ensure_ascii=False) + "\n"
    lines = [f"profile {old.id} version {old.version} -> {new.id} version {new.version}: "
             + (f"{len(changes)} change(s)" if changes else "no changes")]
    lines += [] if link is None else [f"link: {link}"]
    current: object = object()
    for change in changes:
        if change.requirement != current:
            current = change.requirement
            lines.append("profile" if current is None else f"requirement {current}")
        if change.field == "(requirement)":
            lines.append(f"  {change.kind}: {_text(change.new if change.kind == 'added' else change.old)}")
        else:
            lines.append(f"  {change.field} [{change.kind}]: {_text(change.old)} -> {_text(change.new)}")
    return "\n".join(lines) + "\n"
