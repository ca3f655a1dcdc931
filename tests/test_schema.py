"""Schemas and reference docs come from the models, and the committed docs match them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.authoring.schema import DOCS, json_schema, reference_markdown
from harness.benchmark import BenchmarkCard, Label
from harness.cli import main
from harness.metrics import metric_names
from harness.profile import Profile, Requirement

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", sorted(DOCS))
def test_committed_docs_match_the_models(kind):
    committed = (ROOT / "docs" / DOCS[kind]).read_text(encoding="utf-8")
    assert committed == reference_markdown(kind), (
        f"docs/{DOCS[kind]} is out of date: run python -m harness.authoring.schema")


def test_profile_schema_has_every_field_and_the_metric_names():
    schema = json_schema("profile")
    assert set(schema["properties"]) == set(Profile.model_fields)
    req = schema["$defs"]["Requirement"]
    assert set(req["properties"]) == set(Requirement.model_fields)
    assert req["properties"]["metric"]["enum"] == metric_names()
    assert req["properties"]["rule"]["enum"] == ["point", "bound", "dual"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {n for n, f in Profile.model_fields.items() if f.is_required()}


def test_card_schema_has_every_field():
    schema = json_schema("card")
    assert set(schema["properties"]) == set(BenchmarkCard.model_fields)
    assert set(schema["$defs"]["Label"]["properties"]) == set(Label.model_fields)
    assert schema["title"] == "Benchmark card"


@pytest.mark.parametrize("args, kind", [([], "profile"), (["--card"], "card")])
def test_schema_command_prints_the_schema(args, kind):
    result = CliRunner().invoke(main, ["profile", "schema", *args], catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.output) == json_schema(kind)


def test_reference_gives_type_default_allowed_values_and_example():
    text = reference_markdown("profile")
    assert ("| `rule` | text | `point` | `point`, `bound`, `dual` | `dual` |") in text
    assert "# yaml-language-server: $schema=./profile.schema.json" in text
    card = reference_markdown("card")
    assert "| `test_share` | number | required | > 0.0; < 1.0 | `0.3` |" in card
