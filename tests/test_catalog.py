"""Profiles and benchmarks found where their authors keep them, through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "sector_profiles" / "hiring" / "hiring-aedt-v1.yaml"


def _ministry(tmp_path: Path, bench_id: str = "my-bench") -> Path:
    """A ministry's folder: benchmarks/<id> (a copy of the résumé audit) and profiles/ naming it by path."""
    bench = tmp_path / "ministry" / "benchmarks" / bench_id
    shutil.copytree(ROOT / "benchmarks" / "resume-audit-2004", bench)
    card = bench / "benchmark.yaml"
    card.write_text(card.read_text(encoding="utf-8").replace("id: resume-audit-2004", f"id: {bench_id}", 1),
                    encoding="utf-8")
    profiles = tmp_path / "ministry" / "profiles"
    profiles.mkdir()
    text = PROFILE.read_text(encoding="utf-8").replace("  id: resume-audit-2004\n",
                                                       f"  id: {bench_id}\n  path: ../benchmarks/{bench_id}\n")
    (profiles / "mine.yaml").write_text(text.replace("id: hiring-aedt", "id: ministry-hiring", 1), encoding="utf-8")
    return tmp_path / "ministry"


def test_benchmark_path_is_relative_to_the_profile_not_the_current_folder(tmp_path, monkeypatch):
    ministry = _ministry(tmp_path)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["profile", "validate", str(ministry / "profiles" / "mine.yaml")])
    assert (res.exit_code, res.stderr) == (0, "")


def test_a_missing_benchmark_path_is_named_with_its_line(tmp_path):
    ministry = _ministry(tmp_path)
    shutil.rmtree(ministry / "benchmarks" / "my-bench")
    path = ministry / "profiles" / "mine.yaml"
    res = CliRunner().invoke(main, ["profile", "validate", str(path)])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [f"{path}:22: benchmark.path: no benchmark.yaml in "
                                       f"{ministry / 'benchmarks' / 'my-bench'} ('../benchmarks/my-bench', "
                                       "relative to the profile's folder)"]


def test_profiles_and_benchmarks_by_id_from_the_options_and_the_environment(tmp_path, monkeypatch):
    ministry = _ministry(tmp_path)
    res = CliRunner().invoke(main, ["profile", "list", "--profiles", str(ministry / "profiles")])
    assert res.stdout.splitlines()[0] == (f"ministry-hiring@1\t{ministry / 'profiles' / 'mine.yaml'}\t"
                                          f"--profiles {ministry / 'profiles'}")
    monkeypatch.setenv("OVERSIGHT_BENCHMARKS", str(ministry / "benchmarks"))
    res = CliRunner().invoke(main, ["benchmark", "list"])
    assert res.stdout.splitlines()[0] == (f"my-bench\t{ministry / 'benchmarks' / 'my-bench'}\t"
                                          f"OVERSIGHT_BENCHMARKS {ministry / 'benchmarks'}")
    monkeypatch.setenv("OVERSIGHT_PROFILES", str(ministry / "profiles"))
    res = CliRunner().invoke(main, ["profile", "validate", "ministry-hiring@1"])
    assert (res.exit_code, res.stdout) == (0, f"{ministry / 'profiles' / 'mine.yaml'}: ok\n")


def test_a_benchmark_id_found_in_two_places_is_refused_naming_both(tmp_path, monkeypatch):
    ministry = _ministry(tmp_path, "resume-audit-2004")
    profile = tmp_path / "p.yaml"
    shutil.copy(PROFILE, profile)
    res = CliRunner().invoke(main, ["profile", "validate", str(profile), "--benchmarks",
                                    str(ministry / "benchmarks")])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        f"{profile}:21: benchmark.id: benchmark 'resume-audit-2004' is found in 2 places: "
        f"{ministry / 'benchmarks' / 'resume-audit-2004'} (--benchmarks {ministry / 'benchmarks'}); "
        f"{ROOT / 'benchmarks' / 'resume-audit-2004'} (installed defaults); keep one, or name the file"]


def test_an_unknown_profile_id_and_a_missing_search_folder_are_refused(tmp_path):
    res = CliRunner().invoke(main, ["run", "--profile", "hiring-aedx", "--predictions", "p.csv", "--no-tracking"])
    assert (res.exit_code, res.stderr) == (2, "error: profile 'hiring-aedx': no such profile (searched: installed "
                                              "defaults); did you mean 'hiring-aedt'? 'oversight profile list' shows "
                                              "every profile found\n")
    res = CliRunner().invoke(main, ["benchmark", "list", "--benchmarks", str(tmp_path / "nowhere")])
    assert (res.exit_code, res.stderr) == (2, f"error: --benchmarks {tmp_path / 'nowhere'}: no such folder\n")


def test_a_run_records_where_the_benchmark_was_found_and_an_auditor_verifies_it_by_id(tmp_path, monkeypatch):
    import json

    import pandas as pd

    from harness.benchmark import load_benchmark

    ministry = _ministry(tmp_path)
    bench = load_benchmark(ministry / "benchmarks" / "my-bench")
    preds = tmp_path / "p.csv"
    pd.DataFrame({"id": bench.ids, "decision": bench.frame["received_callback"]}).to_csv(preds, index=False)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["run", "--profile", "ministry-hiring", "--profiles", str(ministry / "profiles"),
                                    "--predictions", str(preds), "--no-tracking", "--out", "out", "--json"])
    assert res.exit_code in (0, 1, 4), res.stderr
    (bundle,) = (tmp_path / "out").iterdir()
    inputs = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["inputs"]["benchmark"]
    assert inputs["found"] == {"where": "benchmark.path of the profile",
                               "folder": str(ministry / "benchmarks" / "my-bench")}
    assert inputs["sha256"] == bench.sha256
    res = CliRunner().invoke(main, ["verify", str(bundle), "--no-tracking"])
    assert res.exit_code == 1  # the auditor's machine does not know the benchmark: not verified, never a pass
    assert ("  - profile.yaml or benchmark: <profile>: 1 problem(s)" in res.stdout
            and "benchmark.id: unknown benchmark 'my-bench' (searched: installed defaults);" in res.stdout), res.stdout
    res = CliRunner().invoke(main, ["verify", str(bundle), "--no-tracking", "--benchmarks",
                                    str(ministry / "benchmarks")])
    assert (res.exit_code, res.stdout.splitlines()[-1]) == (0, "verified"), res.stdout


def test_the_card_at_benchmark_path_must_carry_the_profiles_benchmark_id(tmp_path):
    ministry = _ministry(tmp_path)
    card = ministry / "benchmarks" / "my-bench" / "benchmark.yaml"
    card.write_text(card.read_text(encoding="utf-8").replace("id: my-bench", "id: other-bench", 1), encoding="utf-8")
    path = ministry / "profiles" / "mine.yaml"
    res = CliRunner().invoke(main, ["profile", "validate", str(path)])
    assert (res.exit_code, res.stderr) == (2, f"{path}: {card}:1: id: expected 'my-bench' (the profile's "
                                              "benchmark.id), found 'other-bench'\n")
