"""``oversight ledger show / verify / mirror``: what a ministry, a lab and an auditor see, and the exit codes."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.conformity.ledger import append_entry, read_ledger
from harness.evidence.signing import generate_keys, load_signer

from conftest import free_port, harness_env

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.timezone.utc)
VENDOR_A, VENDOR_B = "a" * 64, "b" * 64


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _ledger(path: Path, key: Path, profile_id: str, *, start: int = 0) -> Path:
    signer = load_signer(key)
    for n, (vendor, version) in enumerate(((VENDOR_A, "1"), (VENDOR_B, "1"), (VENDOR_A, "2"), (VENDOR_A, "2"))):
        append_entry(path, submission_sha256=f"{n:064x}", manifest_sha256=f"{n + 100:064x}", profile_id=profile_id,
                     profile_version=version, profile_sha256="c" * 64, vendor_key=vendor,
                     verdict="compliant" if n == 3 else "non_compliant", lab_private_key=signer,
                     now=T0 + dt.timedelta(days=start + n))
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lab")
    key, pub = generate_keys(root, name="lab")
    profile_id = f"ledger-test-{secrets.token_hex(3)}"  # its own experiment on the shared server
    return {"key": key, "pub": pub, "ledger": _ledger(root / "ledger.jsonl", key, profile_id), "profile": profile_id}


@pytest.fixture
def copy(lab, tmp_path) -> Path:
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(lab["ledger"].read_bytes())
    return path


def _drop(path: Path, index: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:index] + lines[index + 1:]), encoding="utf-8")
    return lines


def test_show_lists_every_attempt_per_vendor(lab):
    res = run("ledger", "show", "--ledger", str(lab["ledger"]))
    assert res.exit_code == 0, res.output
    p = lab["profile"]
    assert res.stdout == (
        f"ledger {lab['ledger']}: 4 entries, 4 shown (chain and signatures not checked here: see `oversight ledger "
        "verify`)\n"
        f"vendor {VENDOR_A}: 3 attempt(s)\n"
        f"  position 0    2026-11-01T09:00:00+00:00  {p} v1  non_compliant\n"
        f"  position 2    2026-11-03T09:00:00+00:00  {p} v2  non_compliant\n"
        f"  position 3    2026-11-04T09:00:00+00:00  {p} v2  compliant\n"
        f"vendor {VENDOR_B}: 1 attempt(s)\n"
        f"  position 1    2026-11-02T09:00:00+00:00  {p} v1  non_compliant\n")


def test_show_filters_by_vendor_and_profile_and_prints_json(lab):
    res = run("ledger", "show", "--ledger", str(lab["ledger"]), "--vendor", "bbbbbbbb", "--json")
    assert res.exit_code == 0, res.output
    shown = json.loads(res.stdout)
    assert (shown["entries"], shown["shown"], shown["verified"]) == (4, 1, False)
    assert [v["vendor_key"] for v in shown["vendors"]] == [VENDOR_B]
    assert shown["vendors"][0]["attempts"][0] == read_ledger(lab["ledger"])[1].as_dict()
    res = run("ledger", "show", "--ledger", str(lab["ledger"]), "--profile", "other")
    assert res.stdout.splitlines()[0].startswith(f"ledger {lab['ledger']}: 4 entries, 0 shown")


def test_show_refuses_a_bad_vendor_a_missing_file_and_a_torn_line(lab, tmp_path):
    res = run("ledger", "show", "--ledger", str(lab["ledger"]), "--vendor", "AB")
    assert res.exit_code == 2
    assert ("Invalid value for '--vendor': 'AB': expected a vendor key fingerprint, or at least its first 8 of 64 "
            "lowercase hex digits") in res.stderr
    res = run("ledger", "show", "--ledger", str(tmp_path / "absent.jsonl"))
    assert (res.exit_code, res.stderr) == (2, f"error: {tmp_path / 'absent.jsonl'}: no such ledger file\n")
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(lab["ledger"].read_bytes()[:-10])
    res = run("ledger", "show", "--ledger", str(torn))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: {torn}: not a readable ledger: line 4: torn last line: ")


def test_verify_says_intact_and_what_it_cannot_see(lab):
    res = run("ledger", "verify", "--ledger", str(lab["ledger"]), "--public-key", str(lab["pub"]))
    assert (res.exit_code, res.stdout) == (0, "intact: 4 entries\nnote: entries removed from the end show only "
                                              "against --expect or --tracking-uri\n")


def test_verify_names_each_discrepancy_and_exits_1(lab, copy):
    lines = _drop(copy, 1)
    last = json.loads(lines[3])["entry_sha256"]
    res = run("ledger", "verify", "--ledger", str(copy), "--public-key", str(lab["pub"]), "--expect", f"4:{last}")
    assert res.exit_code == 1
    assert res.stdout == (f"NOT INTACT: 2 discrepancy(ies) in {copy}\n"
                          "  - entry removed: position 1 is missing, between position 0 (line 1) and position 2 "
                          "(line 2)\n"
                          f"  - entry removed: position 4 (entry_sha256 {last}) is known, but the ledger ends at "
                          "position 3\n")
    res = run("ledger", "verify", "--ledger", str(copy), "--public-key", str(lab["pub"]), "--json")
    found = json.loads(res.stdout)
    assert (res.exit_code, found["intact"], [f["kind"] for f in found["findings"]]) == (1, False, ["removed"])


def test_verify_refuses_a_malformed_expect(lab):
    res = run("ledger", "verify", "--ledger", str(lab["ledger"]), "--public-key", str(lab["pub"]), "--expect", "4")
    assert res.exit_code == 2
    assert f"Invalid value for '--expect': '4': expected POSITION:SHA256, such as 4:{'0' * 64}" in res.stderr


def test_verify_exits_1_through_the_command_line(lab, copy):
    _drop(copy, 0)
    cmd = [sys.executable, "-m", "harness.cli", "ledger", "verify", "--ledger", str(copy), "--public-key",
           str(lab["pub"])]
    proc = subprocess.run(cmd, env=harness_env(), capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr) == (1, "")
    assert proc.stdout == (f"NOT INTACT: 1 discrepancy(ies) in {copy}\n  - entry removed: position 0 is missing; "
                           "the ledger starts at position 1 (line 1)\n")


def test_repair_through_the_command_line(lab, copy):
    data = copy.read_bytes()
    copy.write_bytes(data + data.splitlines(keepends=True)[0][:40])
    res = run("ledger", "repair", "--ledger", str(copy))
    assert res.exit_code == 0, res.output
    aside = next(copy.parent.glob("ledger.jsonl.torn-*"))
    assert res.stdout == f"repaired {copy}: its torn last line (40 bytes) is kept in {aside}; 4 entries remain\n"
    assert copy.read_bytes() == data
    res = run("ledger", "repair", "--ledger", str(copy))
    assert res.stdout == f"nothing to repair: the last line of {copy} is complete (4 entries)\n"
    _drop(copy, 2)
    res = run("ledger", "repair", "--ledger", str(copy))
    assert (res.exit_code, res.stderr) == (3, f"error: {copy}: refusing to repair: entry removed: position 2 is "
                                              "missing, between position 1 (line 2) and position 3 (line 3); only a "
                                              "torn last line is repaired\n")


# --- the MLflow mirror ----------------------------------------------------------


@pytest.fixture(scope="module")
def mirrored(lab, mlflow_server) -> str:
    res = run("ledger", "mirror", "--ledger", str(lab["ledger"]), "--tracking-uri", mlflow_server)
    assert res.exit_code == 0, res.output
    assert res.stdout == (f"mirrored {lab['ledger']} into MLflow at {mlflow_server}: 4 new run(s), "
                          "0 already there\n")
    return mlflow_server


def _runs(uri: str, profile_id: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(f"oversight-ledger/{profile_id}")
    return client.search_runs([experiment.experiment_id], order_by=["tags.`oversight.ledger.position` ASC"])


def test_mirroring_logs_one_tagged_run_per_entry_once(lab, mirrored):
    again = run("ledger", "mirror", "--ledger", str(lab["ledger"]), "--tracking-uri", mirrored)
    assert again.stdout == f"mirrored {lab['ledger']} into MLflow at {mirrored}: 0 new run(s), 4 already there\n"
    runs = _runs(mirrored, lab["profile"])
    entries = read_ledger(lab["ledger"])
    assert len(runs) == 4
    for run_, entry in zip(runs, entries):
        tags = run_.data.tags
        assert run_.info.status == "FINISHED"
        assert (tags["oversight.ledger.position"], tags["oversight.ledger.previous_sha256"],
                tags["oversight.ledger.entry_sha256"], tags["oversight.ledger.vendor_key"],
                tags["oversight.ledger.verdict"], tags["oversight.ledger.id"]) == (
            str(entry.position), entry.previous_sha256, entry.entry_sha256, entry.vendor_key, entry.verdict,
            entries[0].entry_sha256)


def test_verify_against_the_mirror_names_a_last_entry_removed_from_the_file(lab, mirrored, copy):
    res = run("ledger", "verify", "--ledger", str(copy), "--public-key", str(lab["pub"]), "--tracking-uri", mirrored)
    assert (res.exit_code, res.stdout) == (0, f"intact: 4 entries\nchecked against the MLflow mirror at {mirrored}\n")
    last = read_ledger(copy)[-1].entry_sha256
    _drop(copy, 3)
    res = run("ledger", "verify", "--ledger", str(copy), "--public-key", str(lab["pub"]), "--tracking-uri", mirrored)
    assert res.exit_code == 1
    assert res.stdout == (f"NOT INTACT: 1 discrepancy(ies) in {copy}\n  - entry removed: position 3 (entry_sha256 "
                          f"{last}) is known, but the ledger ends at position 2\n")


def test_verify_names_a_mirrored_entry_edited_in_mlflow(lab, mirrored, tmp_path):
    from mlflow.tracking import MlflowClient

    path = _ledger(tmp_path / "second.jsonl", lab["key"], lab["profile"], start=10)  # a second ledger, same experiment
    assert run("ledger", "mirror", "--ledger", str(path), "--tracking-uri", mirrored).exit_code == 0
    runs = [r for r in _runs(mirrored, lab["profile"])
            if r.data.tags["oversight.ledger.id"] == read_ledger(path)[0].entry_sha256]
    assert len(runs) == 4
    MlflowClient(tracking_uri=mirrored).set_tag(runs[2].info.run_id, "oversight.ledger.verdict", "compliant")
    res = run("ledger", "verify", "--ledger", str(path), "--public-key", str(lab["pub"]), "--tracking-uri", mirrored)
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert lines[0] == f"NOT INTACT: 2 discrepancy(ies) in {path}"
    assert lines[1].startswith(f"  - MLflow run {runs[2].info.run_id} (mirrored position 2): its content hashes to ")
    assert lines[2] == (f"  - MLflow run {runs[2].info.run_id} (mirrored position 2): it is not lab key "
                        f"{read_ledger(path)[2].lab_key}'s Ed25519 signature of the entry")
    # the first ledger's check is not disturbed by the second one's runs in the same experiment
    res = run("ledger", "verify", "--ledger", str(lab["ledger"]), "--public-key", str(lab["pub"]),
              "--tracking-uri", mirrored)
    assert res.exit_code == 0, res.output


def test_verify_against_a_mirror_without_this_ledger_says_so(lab, mirrored, tmp_path):
    path = _ledger(tmp_path / "never.jsonl", lab["key"], lab["profile"], start=20)
    res = run("ledger", "verify", "--ledger", str(path), "--public-key", str(lab["pub"]), "--tracking-uri", mirrored)
    assert res.exit_code == 1
    assert res.stdout == (f"NOT INTACT: 1 discrepancy(ies) in {path}\n  - the MLflow mirror at {mirrored} holds no "
                          "entry of this ledger, so entries removed from its end cannot be seen (mirror it with "
                          "`oversight ledger mirror`)\n")


def test_mirroring_refuses_a_damaged_ledger_and_an_unreachable_server(lab, copy):
    _drop(copy, 1)
    res = run("ledger", "mirror", "--ledger", str(copy), "--tracking-uri", "sqlite:////nonexistent/never.db")
    assert (res.exit_code, res.stderr) == (3, f"error: {copy}: refusing to mirror a damaged ledger: entry removed: "
                                              "position 1 is missing, between position 0 (line 1) and position 2 "
                                              "(line 2)\n")
    uri = f"http://127.0.0.1:{free_port()}"
    res = run("ledger", "verify", "--ledger", str(lab["ledger"]), "--public-key", str(lab["pub"]), "--tracking-uri",
              uri, "--tracking-timeout", "1")
    assert res.exit_code == 3
    assert res.stderr == (f"error: MLflow at {uri} is not reachable: cannot connect to 127.0.0.1:{uri.rsplit(':', 1)[1]}"
                          " within 1 s (Connection refused)\n")
