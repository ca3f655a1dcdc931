"""JSON Schemas of profiles and benchmark cards, and the reference docs, from the pydantic models.

One source, so that the schema an editor checks against, the reference a ministry reads and
the validator the harness runs cannot disagree; ``tests/test_schema.py`` fails when the
committed docs drift from what :func:`reference_markdown` renders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml

from ..benchmark import BENCHMARKS_DIR, CARD_NAME, BenchmarkCard
from ..metrics import METRICS, metric_names
from ..profile import Profile

Kind = Literal["profile", "card"]
REPO = Path(__file__).resolve().parents[2]
PROFILES_DIR = REPO / "sector_profiles"
DOCS = {"profile": "profile-reference.md", "card": "benchmark-card.md"}
_TITLES = {"profile": "Sector profile reference", "card": "Benchmark card reference"}
_SCHEMA_URL = {"profile": "profile.schema.json", "card": "benchmark-card.schema.json"}


def json_schema(kind: Kind) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a profile or a card, with metric names as enums."""
    if kind == "card":
        schema = BenchmarkCard.model_json_schema()
    else:
        schema = Profile.model_json_schema()
        req = schema["$defs"]["Requirement"]["properties"]
        req["metric"]["enum"] = metric_names()
        req["of"] = {"anyOf": [{"enum": sorted(METRICS)}, {"type": "null"}], "default": None, "title": "Of"}
    schema["title"] = "Benchmark card" if kind == "card" else "Sector profile"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text(kind: Kind) -> str:
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


def _examples(kind: Kind) -> list[Any]:
    """The shipped documents of this kind, parsed, in a stable order."""
    paths = (sorted(BENCHMARKS_DIR.glob(f"*/{CARD_NAME}")) if kind == "card"
             else sorted(PROFILES_DIR.glob("*/*.yaml")))
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in paths]


def _ref_of(node: dict[str, Any]) -> str | None:
    """The model a property holds (directly, optionally, or as list items), if any."""
    for option in [node, *node.get("anyOf", [])]:
        if "$ref" in option:
            return str(option["$ref"]).rsplit("/", 1)[-1]
        if "$ref" in option.get("items", {}):
            return str(option["items"]["$ref"]).rsplit("/", 1)[-1]
    return None


def _collect(data: Any, model: str, schema: dict[str, Any], found: dict[tuple[str, str], Any]) -> None:
    if not isinstance(data, dict):
        return
    props = (schema if model == "" else schema["$defs"][model])["properties"]
    for key, value in data.items():
        if key not in props:
            continue
        found.setdefault((model, key), value)
        if (sub := _ref_of(props[key])) is not None:
            for item in value if isinstance(value, list) else [value]:
                _collect(item, sub, schema, found)


def _type_text(node: dict[str, Any]) -> str:
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in node:
        return " or ".join(_type_text(option) for option in node["anyOf"])
    if "enum" in node:
        return "text" if all(isinstance(v, str) for v in node["enum"]) else "one of the allowed values"
    kind = node.get("type")
    if kind == "array":
        if "prefixItems" in node:
            return "[" + ", ".join(_type_text(i) for i in node["prefixItems"]) + "]"
        return f"list of {_type_text(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"mapping of text to {_type_text(node['additionalProperties'])}"
    if node.get("format") == "date":
        return "date (YYYY-MM-DD)"
    return {"null": "null", "string": "text", "integer": "integer", "number": "number",
            "boolean": "true or false"}.get(str(kind), "any")


_LIMITS = (("minimum", ">= {}"), ("exclusiveMinimum", "> {}"), ("maximum", "<= {}"),
           ("exclusiveMaximum", "< {}"), ("minLength", "at least {} characters"),
           ("minItems", "at least {} items"), ("maxItems", "at most {} items"), ("pattern", "matches `{}`"))


def _limit(key: str, value: Any, text: str) -> str:
    if value == 1 and key == "minLength":
        return "not empty"
    return text.format(value).replace("at least 1 items", "at least 1 item")


def _allowed(node: dict[str, Any]) -> str:
    parts: list[str] = []
    for option in [node, *node.get("anyOf", [])]:
        if "enum" in option:
            parts.append(", ".join(f"`{v}`" for v in option["enum"]))
        parts += [_limit(key, option[key], text) for key, text in _LIMITS if key in option]
    return "; ".join(parts)


def _cell(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    text = text.removesuffix("...").strip().replace("\n", " ")
    text = text if len(text) <= 70 else text[:67] + "..."
    return f"`{text}`".replace("|", "\\|") if text else ""


def _table(model: str, node: dict[str, Any], examples: dict[tuple[str, str], Any]) -> list[str]:
    required = set(node.get("required", []))
    lines = ["| field | type | default | allowed values | example |", "|---|---|---|---|---|"]
    for name, prop in node["properties"].items():
        default = "required" if name in required else _cell(prop.get("default"))
        example = _cell(examples[(model, name)]) if (model, name) in examples else ""
        lines.append(f"| `{name}` | {_type_text(prop)} | {default} | {_allowed(prop)} | {example} |")
    return lines


def reference_markdown(kind: Kind) -> str:
    """Every field of every model of a profile or a card: type, default, allowed values, example."""
    schema = json_schema(kind)
    examples: dict[tuple[str, str], Any] = {}
    for document in _examples(kind):
        _collect(document, "", schema, examples)
    top = "Profile" if kind == "profile" else "BenchmarkCard"
    source = "sector_profiles/" if kind == "profile" else "benchmarks/"
    lines = [f"# {_TITLES[kind]}", "",
             "Generated from the harness's own models by `harness/authoring/schema.py`; do not edit by hand",
             f"(`python -m harness.authoring.schema` rewrites it). Examples are the first value found in `{source}`.",
             "", "Editors that use the YAML language server check a file as it is typed when its first line is",
             "", "```yaml", f"# yaml-language-server: $schema=./{_SCHEMA_URL[kind]}", "```", "",
             f"with the schema written by `oversight profile schema{' --card' if kind == 'card' else ''}"
             f" > {_SCHEMA_URL[kind]}` next to the file.",
             "Unknown fields are refused everywhere.", "", f"## {top}", ""]
    lines += _table("", schema, examples)
    for name, node in sorted(schema["$defs"].items()):
        lines += ["", f"## {name}", ""]
        if node.get("description"):
            lines += [node["description"], ""]
        lines += _table(name, node, examples)
    return "\n".join(lines) + "\n"


def write_docs(folder: Path = REPO / "docs") -> list[Path]:
    """Rewrite both reference docs; the paths written."""
    written = []
    for kind, name in DOCS.items():
        path = folder / name
        path.write_text(reference_markdown(kind), encoding="utf-8")  # type: ignore[arg-type]
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_docs():
        print(written_path)
