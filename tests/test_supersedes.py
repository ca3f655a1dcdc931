"""supersedes: the link between versions, the version in force on a date, and how a run says so."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.evidence.tracking import expected_run
from harness.evidence.verify import verify_bundle
from harness.profile import parse_profile
from harness.verdict import Successor, policy_clock

ROOT = Path(__file__).resolve().parents[1]
V1 = ROOT / "sector_profiles/hiring/hiring-aedt-v1.yaml"
V1_TEXT = V1.read_text(encoding="utf-8")
V2_DATES = "effective_from: 2026-06-01\nenforcement_from: 2027-06-01\nsupersedes: {id: hiring-aedt, version: 1}\n"


def _version(folder: Path, version: int, *, dates: str = V2_DATES, name: str = "") -> Path:
    """The shipped hiring profile as another version, with other dates, in ``folder``."""
    start, end = V1_TEXT.index("effective_from:"), V1_TEXT.index("benchmark:")
    text = V1_TEXT[:start].replace("version: 1", f"version: {version}") + dates + V1_TEXT[end:]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"hiring-aedt-v{version}.yaml")
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def _run_v1(tmp: Path, predictions: Path, as_of: str, *extra: str):
    return run("run", "--profile", V1, "--profiles", tmp / "published", "--predictions", predictions,
               "--no-tracking", "--out", tmp / "out", "--as-of", as_of, *extra)


@pytest.fixture(scope="module")
def superseded(tmp_path_factory, callbacks_csv) -> tuple[dict, Path, Path]:
    tmp = tmp_path_factory.mktemp("superseded")
    v2 = _version(tmp / "published", 2)
    res = _run_v1(tmp, callbacks_csv, "2026-09-01", "--json")
    assert res.exit_code == 1, res.output
    return json.loads(res.stdout), next((tmp / "out").iterdir()), v2


def _successor_record(v2: Path) -> dict:
    import hashlib

    return {"id": "hiring-aedt", "version": "2", "effective_from": "2026-06-01",
            "sha256": hashlib.sha256(v2.read_bytes()).hexdigest()}


def test_a_run_against_a_superseded_version_says_so_in_its_json(superseded):
    doc, _, v2 = superseded
    assert doc["policy"] == {
        "as_of": "2026-09-01", "in_force": False, "superseded_by": _successor_record(v2),
        "message": "advisory; sanctions start on 2027-01-22; superseded by hiring-aedt v2, in force since 2026-06-01"}
    assert (doc["policy_status"], doc["verdict"], doc["conformant"]) == ("grace_period", "non_compliant", True)


def test_summary_reports_and_mlflow_tag_name_the_version_in_force(superseded):
    _, bundle, v2 = superseded
    summary = json.loads((bundle / "summary.json").read_text(encoding="utf-8"))
    assert summary["policy"]["superseded_by"] == _successor_record(v2) and summary["policy"]["in_force"] is False
    assert "superseded by hiring-aedt v2, in force since 2026-06-01" in (bundle / "report.md").read_text()
    assert "superseded by hiring-aedt v2, in force since 2026-06-01" in (bundle / "report.html").read_text()
    tags = expected_run(summary, pd.DataFrame(columns=["requirement", "group"]),
                        pd.DataFrame(columns=["blocking", "status"]), "0" * 64).tags
    assert tags["oversight.policy.superseded_by"] == "hiring-aedt@2"


def test_a_superseded_bundle_verifies_against_the_successor_it_recorded(superseded):
    _, bundle, _ = superseded
    result = verify_bundle(bundle, tracking=False)
    assert result.problems == ()
    assert any("recomputed from the stored profile" in c for c in result.checks)


def test_an_auditor_whose_catalogue_agrees_sees_no_problem(superseded):
    _, bundle, v2 = superseded
    res = run("verify", bundle, "--no-tracking", "--profile", V1, "--profiles", v2.parent)
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[-1] == "verified"


def test_an_auditor_is_told_of_a_newer_version_the_run_left_out(tmp_path, callbacks_csv):
    (tmp_path / "published").mkdir()
    res = _run_v1(tmp_path, callbacks_csv, "2026-09-01", "--json")
    assert json.loads(res.stdout)["policy"]["in_force"] is True  # this run's catalogue holds version 1 only
    v2 = _version(tmp_path / "ministry", 2)
    bundle = next((tmp_path / "out").iterdir())
    res = run("verify", bundle, "--no-tracking", "--profile", V1, "--profiles", v2.parent)
    sha = _successor_record(v2)["sha256"]
    assert res.exit_code == 1
    assert res.stdout.splitlines()[-2:] == [
        "NOT VERIFIED: 1 problem(s)",
        f"  - summary.json policy.superseded_by: the bundle records none (in force), but in the catalogue searched "
        f"now hiring-aedt@2 (SHA-256 {sha}) is in force on 2026-09-01, since 2026-06-01"]


def test_the_banner_says_which_version_is_in_force(tmp_path, callbacks_csv):
    _version(tmp_path / "published", 2)
    res = _run_v1(tmp_path, callbacks_csv, "2026-09-01")
    lines = res.stdout.splitlines()
    assert res.exit_code == 1
    assert lines[3] == "SUPERSEDED: hiring-aedt v2 is in force on 2026-09-01 (since 2026-06-01); this verdict is for v1"


def test_before_the_newer_version_takes_effect_the_older_is_in_force(tmp_path, callbacks_csv):
    _version(tmp_path / "published", 2)
    res = _run_v1(tmp_path, callbacks_csv, "2026-05-31", "--json")
    doc = json.loads(res.stdout)
    assert (doc["policy"]["in_force"], doc["policy"]["superseded_by"]) == (True, None)
    summary = json.loads((next((tmp_path / "out").iterdir()) / "summary.json").read_text(encoding="utf-8"))
    tags = expected_run(summary, pd.DataFrame(columns=["requirement", "group"]),
                        pd.DataFrame(columns=["blocking", "status"]), "0" * 64).tags
    assert "oversight.policy.superseded_by" not in tags


def test_a_newer_version_that_does_not_load_stops_the_run(tmp_path, callbacks_csv):
    broken = _version(tmp_path / "published", 2)
    broken.write_text(broken.read_text(encoding="utf-8").replace("task: binary_classification\n", ""),
                      encoding="utf-8")
    res = _run_v1(tmp_path, callbacks_csv, "2026-09-01")
    assert res.exit_code == 2
    top = _line(broken, "id: hiring-aedt")  # a missing field is reported at the mapping's first line
    assert res.stderr == (f"error: the version of hiring-aedt in force on 2026-09-01: {broken} does not load, so it "
                          f"cannot be compared: {broken}: 1 problem(s)\n{broken}:{top}: task: required field is "
                          "missing\n")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_policy_clock_without_and_with_a_successor():
    profile = parse_profile(V1_TEXT)
    newer = Successor("hiring-aedt", "2", dt.date(2026, 6, 1), "f" * 64)
    alone = policy_clock(profile, dt.date(2027, 3, 1))
    assert alone.record() == {"status": "enforced", "as_of": "2027-03-01", "message": "enforced since 2027-01-22",
                              "in_force": True, "superseded_by": None}
    clock = policy_clock(profile, dt.date(2027, 3, 1), superseded_by=newer)
    assert (clock.status, clock.in_force) == ("enforced", False)
    assert clock.message == "enforced since 2027-01-22; superseded by hiring-aedt v2, in force since 2026-06-01"
    assert policy_clock(profile, dt.date(2026, 1, 1)).in_force is False  # not yet effective


# --- validation of the link ---------------------------------------------------------------------

def _line(path: Path, text: str) -> int:
    return next(i + 1 for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()) if text in line)


@pytest.mark.parametrize("link,field,message", [
    ("{id: hiring-other, version: 1}", "supersedes.id",
     "'hiring-other' is another profile's id; expected 'hiring-aedt' (a version supersedes an earlier version of "
     "the same profile)"),
    ("{id: hiring-aedt, version: 2}", "supersedes.version",
     "version 2 is not earlier than this profile's version 2; expected an earlier version (whole numbers count "
     "up, and come after text versions)"),
    ("{id: hiring-aedt, version: 3}", "supersedes.version",
     "version 3 is not earlier than this profile's version 2; expected an earlier version (whole numbers count "
     "up, and come after text versions)"),
])
def test_a_link_to_another_profile_or_a_later_version_is_refused(tmp_path, link, field, message):
    path = _version(tmp_path, 2, dates=V2_DATES.replace("{id: hiring-aedt, version: 1}", link))
    res = run("profile", "validate", path)
    assert res.exit_code == 2
    assert res.stderr.strip() == f"{path}:{_line(path, 'supersedes:')}: {field}: {message}"


def test_the_superseded_version_must_take_effect_earlier(tmp_path):
    early = V2_DATES.replace("2026-06-01", "2026-01-22")  # the same day as version 1
    path = _version(tmp_path, 2, dates=early)
    res = run("profile", "validate", path)
    assert res.exit_code == 2
    assert res.stderr.strip() == (
        f"{path}:{_line(path, 'supersedes:')}: supersedes: hiring-aedt@1 ({V1}) takes effect on 2026-01-22, not "
        "before this version's effective_from 2026-01-22; expected the superseded version to take effect earlier")


def test_a_well_linked_version_validates_and_a_link_to_an_unpublished_version_is_not_checked(tmp_path):
    ok = _version(tmp_path / "a", 2)
    assert (run("profile", "validate", ok).exit_code, run("profile", "validate", ok).stdout) == (0, f"{ok}: ok\n")
    elsewhere = _version(tmp_path / "b", 3, dates=V2_DATES.replace("version: 1", "version: 2"))
    assert run("profile", "validate", elsewhere).exit_code == 0  # version 2 is not in the catalogue searched


def test_profile_diff_shows_the_link(tmp_path):
    v2 = _version(tmp_path, 2)
    res = run("profile", "diff", V1, v2)
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[:6] == [
        "profile hiring-aedt version 1 -> hiring-aedt version 2: 4 change(s)",
        "link: hiring-aedt@2 supersedes hiring-aedt@1 from 2026-06-01",
        "profile",
        "  version [version]: 1 -> 2",
        "  effective_from [dates]: 2026-01-22 -> 2026-06-01",
        "  enforcement_from [dates]: 2027-01-22 -> 2027-06-01",
    ]
    assert res.stdout.splitlines()[6] == "  supersedes [supersedes]: (unset) -> hiring-aedt@1"
    doc = json.loads(run("profile", "diff", V1, v2, "--format", "json").stdout)
    assert doc["supersedes"] == "hiring-aedt@2 supersedes hiring-aedt@1 from 2026-06-01"
    v3 = _version(tmp_path, 3, dates=V2_DATES.replace("version: 1", "version: 2"))
    assert run("profile", "diff", V1, v3).stdout.splitlines()[1] == (
        "link: hiring-aedt@3 supersedes hiring-aedt@2, not hiring-aedt@1 (the old profile here)")
