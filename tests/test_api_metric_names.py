"""MLflow metric names: readable, accepted by MLflow's own validation, and reversible."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.utils.validation import _validate_metric_name

from harness.evidence.metric_names import escape_group, metric_key, parse_metric_key, unescape_group

GROUPS = ["black", "80+", "f × black", "a_b", "_x_", "Médecin", "≥65", "1.5", "a/b", "日本", "\U0001F600", "u00e9",
          "plus_", "..", "Black or African American", "x"]


@pytest.mark.parametrize(("group", "escaped"), [
    ("80+", "80_plus_"), ("f × black", "f_x_black"), ("a_b", "a__b"), ("≥65", "_ge_65"), ("1.5", "1_dot_5"),
    ("a/b", "a_slash_b"), ("Médecin", "Médecin"), ("\U0001F600", "_u1f600_"), ("Black or African American",
                                                                             "Black or African American"),
])
def test_groups_are_escaped_readably(group, escaped):
    assert escape_group(group) == escaped


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("field", ["value", "ci_low", "ci_high", "n"])
def test_every_name_is_valid_in_mlflow_and_reads_back(group, field):
    key = metric_key("D6-age.v2", "sensitivity", group, field)
    _validate_metric_name(key)
    assert parse_metric_key(key) == ("D6-age.v2", "sensitivity", group, field)
    assert unescape_group(escape_group(group)) == group


def test_the_layout_puts_values_in_a_section_per_requirement_and_details_in_one():
    assert metric_key("D6-age", "sensitivity", "80+", "value") == "D6-age.sensitivity/80_plus_"
    assert metric_key("D6-age", "sensitivity", "80+", "ci_low") == "detail/D6-age.sensitivity.80_plus_.ci_low"
    assert parse_metric_key("blocking_failures") is None
    with pytest.raises(MlflowException):  # what the old names lost the metric to avoid
        _validate_metric_name("D6-age.sensitivity.80+")
