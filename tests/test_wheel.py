"""The built wheel works outside the checkout: defaults read as package data, profiles by id."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from harness.benchmark import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "README.md", "harness", "benchmarks", "sector_profiles"]


@pytest.fixture(scope="session")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sources to build from, so the checkout gains no build/ or egg-info."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    return src


@pytest.fixture(scope="session")
def wheel(src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once per session."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "--wheel-dir", str(dist), str(src)], check=True, capture_output=True, timeout=300)
    return next(dist.glob("*.whl"))


@pytest.fixture(scope="session")
def venv(wheel: Path) -> Iterator[Path]:
    """A fresh venv with the wheel alone; its dependencies come from this test venv through a .pth file.

    Outside /tmp, which the sandbox replaces with its own empty /tmp (so a Python under /tmp cannot start there).
    """
    outside = "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
    home = Path(tempfile.mkdtemp(prefix="oversight-wheel-", dir=outside))
    try:
        yield _install(wheel, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _install(wheel: Path, home: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120)
    site = next(home.glob("lib/python*/site-packages"))
    (site / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(home / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    return home


def _oversight(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OVERSIGHT_BENCHMARKS", "OVERSIGHT_PROFILES")}
    return subprocess.run([str(venv / "bin" / "oversight"), *args], cwd=cwd, env={**env, "MLFLOW_TRACKING_URI": ""},
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_carries_every_package_and_the_default_profiles_and_benchmarks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(p.parent.relative_to(ROOT)) for p in (ROOT / "harness").rglob("__init__.py")}
    assert {f"{p}/__init__.py" for p in packages} <= names
    shipped = {f"harness/_data/{p.relative_to(ROOT)}" for d in ("benchmarks", "sector_profiles")
               for p in (ROOT / d).rglob("*") if p.is_file()}
    assert shipped <= names


def test_the_sdist_carries_the_top_level_profiles_and_benchmarks(src, tmp_path):
    import tarfile

    build = f"from setuptools import build_meta; build_meta.build_sdist({str(tmp_path)!r})"
    subprocess.run([sys.executable, "-c", build], cwd=src, check=True, capture_output=True, timeout=300)
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {str(p.relative_to(ROOT)) for d in ("benchmarks", "sector_profiles")
            for p in (ROOT / d).rglob("*") if p.is_file()} <= names


def test_installed_wheel_works_from_an_empty_folder(venv, tmp_path):
    here = tmp_path / "empty"
    here.mkdir()
    located = subprocess.run([str(venv / "bin" / "python"), "-c", "import harness; print(harness.__file__)"],
                             cwd=here, capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]})
    assert located.stdout.startswith(str(venv))
    listed = _oversight(venv, here, "profile", "list")
    assert listed.returncode == 0, listed.stderr
    assert {"health-mortality-risk@1", "hiring-aedt@1", "transport-acn-triage@1"} <= {
        line.split("\t")[0] for line in listed.stdout.splitlines()}
    assert all(line.split("\t")[1].startswith(str(venv)) for line in listed.stdout.splitlines())
    benches = _oversight(venv, here, "benchmark", "list")
    assert benches.returncode == 0 and "resume-audit-2004\t" in benches.stdout, benches.stderr
    valid = _oversight(venv, here, "profile", "validate", "hiring-aedt", "transport-acn-triage@1")
    assert valid.returncode == 0, valid.stderr
    assert valid.stdout.endswith("transport-acn-triage-v1.yaml: ok\n")

    bench = load_benchmark("resume-audit-2004")
    pd.DataFrame({"id": bench.ids, "decision": bench.frame["received_callback"]}).to_csv(here / "p.csv", index=False)
    for ref in ("hiring-aedt", "hiring-aedt@1"):
        ran = _oversight(venv, here, "run", "--profile", ref, "--predictions", "p.csv", "--no-tracking",
                         "--out", "out", "--json")
        assert ran.returncode in (0, 1, 4), ran.stderr
        assert '"profile": {"id": "hiring-aedt", "version": "1"' in ran.stdout



_PEEK = """
import subprocess, sys, tempfile
from importlib import resources
from pathlib import Path
from harness.sandbox.bwrap import command
card = Path(str(resources.files("harness") / "_data/benchmarks/resume-audit-2004/benchmark.yaml"))
assert card.is_file(), card
tmp = Path(tempfile.mkdtemp())
(tmp / "child.py").write_text("")
(tmp / "m.skops").write_text("")
(tmp / "scratch").mkdir()
argv = command(python=sys.executable, child=tmp / "child.py", model=tmp / "m.skops", scratch=tmp / "scratch",
               config="{}")
peek = ("import sys\\ntry:\\n    print(open(sys.argv[1]).read()[:3])\\n"
        "except OSError as e:\\n    print(type(e).__name__)")
import harness
for path in (card, Path(harness.__file__).parents[1] / "test-deps.pth"):
    ran = subprocess.run([*argv[:argv.index("--") + 1], sys.executable, "-I", "-c", peek, str(path)],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=60)
    print(ran.stdout.strip() or ran.stderr.strip())
"""


def test_the_sandboxed_model_cannot_read_the_benchmarks_shipped_in_the_installed_wheel(venv, tmp_path):
    from harness.sandbox import bwrap_problem

    if bwrap_problem():
        pytest.skip(bwrap_problem())
    ran = subprocess.run([str(venv / "bin" / "python"), "-c", _PEEK], cwd=tmp_path, capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"]}, timeout=120)
    # the card is hidden with the whole package; a file beside the package is readable (so the probe can see)
    assert ran.stdout.splitlines() == ["FileNotFoundError", sysconfig.get_paths()["purelib"][:3]], ran.stderr


def test_installed_wheel_runs_the_demo_from_an_empty_folder(venv, tmp_path):
    here = tmp_path / "demo"
    here.mkdir()
    ran = _oversight(venv, here, "demo", "--out", "out", "--no-tracking")
    assert ran.returncode == 0, ran.stderr
    bundles = sorted(p for p in (here / "out").iterdir() if (p / "manifest.json").is_file())
    assert len(bundles) == 3, ran.stdout
    checked = _oversight(venv, here, "verify", str(bundles[0]), "--no-tracking")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_ministry_authors_a_new_sector_outside_the_repo_with_the_installed_wheel(venv, tmp_path):
    """benchmark init, profile schema and init, validate, run on declared predictions, verify: all outside."""
    work = tmp_path / "ministry"
    (work / "data").mkdir(parents=True)
    shutil.copy2(ROOT / "benchmarks/resume-audit-2004/resume.csv.gz", work / "data/applicants.csv.gz")
    steps = [
        ("benchmark", "init", "data/applicants.csv.gz", "--id", "public-hiring", "--label", "received_callback",
         "--sensitive", "gender,race", "--out", "benchmarks/public-hiring"),
        ("benchmark", "validate", "benchmarks/public-hiring"),
    ]
    for args in steps:
        done = _oversight(venv, work, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    (work / "profiles").mkdir()
    schema = _oversight(venv, work, "profile", "schema")
    assert schema.returncode == 0 and '"$schema"' in schema.stdout
    (work / "profiles/profile.schema.json").write_text(schema.stdout)
    made = _oversight(venv, work, "profile", "init", "--benchmark", "benchmarks/public-hiring", "--sector",
                      "public hiring", "--out", "profiles/public-hiring.yaml")
    assert made.returncode == 0, made.stderr
    profile = work / "profiles/public-hiring.yaml"
    assert '  path: "../benchmarks/public-hiring"' in profile.read_text()

    vendor = tmp_path / "vendor"  # another folder: paths resolve against the profile, not the current directory
    vendor.mkdir()
    assert _oversight(venv, vendor, "profile", "validate", str(profile)).stdout == f"{profile}: ok\n"
    bench = load_benchmark(work / "benchmarks/public-hiring")
    pd.DataFrame({"id": bench.ids, "decision": bench.frame["received_callback"]}).to_csv(vendor / "p.csv",
                                                                                         index=False)
    ran = _oversight(venv, vendor, "run", "--profile", str(profile), "--predictions", "p.csv", "--no-tracking",
                     "--out", "out", "--json")
    assert ran.returncode in (0, 1, 4), ran.stderr
    assert str(vendor) not in (vendor / "out").joinpath(next(p.name for p in (vendor / "out").iterdir()
                                                              if p.is_dir() and not p.name.startswith(".")),
                                                         "summary.json").read_text()
    bundle = next(p for p in (vendor / "out").iterdir() if (p / "manifest.json").is_file())
    lost = _oversight(venv, vendor, "verify", str(bundle), "--no-tracking")  # the auditor must say where it is
    assert lost.returncode == 1 and "unknown benchmark 'public-hiring'" in lost.stdout, lost.stdout
    assert (f"(the run found it at {work / 'benchmarks/public-hiring'}, through benchmark.path of the profile; "
            "name its parent folder with --benchmarks or OVERSIGHT_BENCHMARKS)") in lost.stdout
    checked = _oversight(venv, vendor, "verify", str(bundle), "--no-tracking", "--benchmarks", str(work / "benchmarks"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
