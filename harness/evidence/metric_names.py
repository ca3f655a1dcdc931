"""MLflow metric names for measurements: readable, valid everywhere MLflow runs, and reversible.

MLflow accepts only word characters, ``_ - . /``, space (and ``:`` except on Windows) in
a metric name, and no ``.`` or ``..`` path segment; its UI groups charts into sections by
the part of a name before the last ``/``. So a measurement is logged as

- ``<requirement>.<metric>/<group>``: the value, one section per requirement, one chart per group;
- ``detail/<requirement>.<metric>.<group>.<field>``: ``ci_low``, ``ci_high`` and ``n``, all in
  one ``detail`` section, so the value charts stay uncluttered.

A group is escaped with ``_`` as the escape character: ``_`` itself becomes ``__``, the
`` × `` between the parts of an intersection becomes ``_x_``, a few symbols get a name
(``80+`` becomes ``80_plus_``) and any other character outside the word characters, ``-``
and space becomes ``_u<hex code point>_``. ``unescape_group`` reverses it exactly, and
``parse_metric_key`` takes a name apart again.
"""

from __future__ import annotations

import re

__all__ = ["DETAIL", "FIELDS", "escape_group", "metric_key", "parse_metric_key", "unescape_group"]

DETAIL = "detail"
FIELDS = ("value", "ci_low", "ci_high", "n")
_CROSS = " × "
_NAMED = {"+": "plus", "×": "times", "<": "lt", ">": "gt", "≤": "le", "≥": "ge", "=": "eq", "/": "slash",
          ".": "dot", ",": "comma", ":": "colon", "%": "pct", "&": "and", "(": "lparen", ")": "rparen"}
_BY_NAME = {name: char for char, name in _NAMED.items()}
_VERBATIM = re.compile(r"[^\W_]|[- ]")
_ESCAPE = re.compile(r"_(_|x_|(?:%s)_|u[0-9a-f]{4,6}_)" % "|".join(_BY_NAME))


def escape_group(group: str) -> str:
    """A group as it may appear in an MLflow metric name (see the module docstring)."""
    out = []
    for part in group.split(_CROSS):
        chars = []
        for char in part:
            if _VERBATIM.fullmatch(char):
                chars.append(char)
            elif char == "_":
                chars.append("__")
            elif char in _NAMED:
                chars.append(f"_{_NAMED[char]}_")
            else:
                chars.append(f"_u{ord(char):04x}_")
        out.append("".join(chars))
    return "_x_".join(out)


def unescape_group(escaped: str) -> str:
    """The group ``escape_group`` was given."""

    def back(match: re.Match[str]) -> str:
        code = match.group(1)[:-1]
        if match.group(1) == "_":
            return "_"
        if code == "x":
            return _CROSS
        return _BY_NAME[code] if code in _BY_NAME else chr(int(code[1:], 16))

    return _ESCAPE.sub(back, escaped)


def metric_key(requirement: str, metric: str, group: str, field: str) -> str:
    """The MLflow metric name of one field of one measurement: ``H3-race.impact_ratio/black``."""
    if field == "value":
        return f"{requirement}.{metric}/{escape_group(group)}"
    return f"{DETAIL}/{requirement}.{metric}.{escape_group(group)}.{field}"


def parse_metric_key(key: str) -> tuple[str, str, str, str] | None:
    """(requirement, metric, group, field) of a name ``metric_key`` made; None for any other name."""
    if key.startswith(f"{DETAIL}/"):
        rest, _, field = key[len(DETAIL) + 1:].rpartition(".")
        rest, _, group = rest.rpartition(".")
    else:
        rest, _, group = key.partition("/")
        field = "value"
    requirement, _, metric = rest.rpartition(".")
    if not (requirement and metric and group and field in FIELDS) or "/" in group:
        return None
    return requirement, metric, unescape_group(group), field
