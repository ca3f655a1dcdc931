"""Commands for sector profiles: ``oversight profile ...``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import HarnessError, ProfileError
from ._common import BENCHMARK_DIRS, PROFILE_DIRS, _guard, emit


@click.group()
def profile() -> None:
    """Work with sector profiles."""




@profile.command("list")
@PROFILE_DIRS
@_guard
def list_profiles(profile_dirs: tuple[Path, ...]) -> int:
    """Every profile found by id: id, version, file and which folder of the search path holds it."""
    from ..catalog import profile_entries, search

    with search(profiles=profile_dirs):
        for e in profile_entries():
            click.echo(f"{e.id}@{e.version}\t{e.path}\t{e.where}")
    return 0


@profile.command("validate")
@click.argument("refs", nargs=-1, required=True)
@PROFILE_DIRS
@BENCHMARK_DIRS
@_guard
def validate(refs: tuple[str, ...], profile_dirs: tuple[Path, ...], benchmark_dirs: tuple[Path, ...]) -> int:
    """Check profiles: 'ok' per file, or every problem with file, field path and line.

    Every file is checked, whatever happens to the others; the exit code is the worst seen
    (2 invalid input, 3 a failure of the harness itself).
    """
    from ..catalog import search

    code = 0
    with search(profiles=profile_dirs, benchmarks=benchmark_dirs):
        for ref in refs:
            code = max(code, _validate_one(ref))
    return code


def _validate_one(ref: str) -> int:
    """0 when the profile named by ``ref`` (a file or an id) validates; else print its problems and say how bad."""
    from ..catalog import profile_path
    from ..plan import make_plan
    from ..profile import load_profile
    from ..supersession import check_supersedes

    path: str | Path = ref
    try:
        path = profile_path(ref)
        loaded = load_profile(path)
        make_plan(loaded)
        check_supersedes(loaded)
        click.echo(f"{path}: ok")
        return 0
    except HarnessError as exc:
        lines = exc.problems if isinstance(exc, ProfileError) else [str(exc)]
        for line in lines:
            click.echo(line if line.startswith(str(path)) else f"{path}: {line}", err=True)
        return exc.exit_code
    except Exception as exc:  # a bug: report it for this file and go on with the next
        click.echo(f"{path}: run failed: {type(exc).__name__}: {exc} (rerun with --debug for details)", err=True)
        return 3


@profile.command("schema")
@click.option("--card", is_flag=True, help="The schema of benchmark cards instead of profiles.")
@_guard
def schema(card: bool) -> int:
    """Print the JSON Schema of profiles (or, with --card, of benchmark cards).

    Save it next to a YAML file and start the file with
    '# yaml-language-server: $schema=./profile.schema.json' to have editors check it as typed.
    """
    from ..authoring.schema import schema_text

    emit(schema_text("card" if card else "profile").rstrip("\n"), code=0)
    return 0


@profile.command("init")
@click.option("--benchmark", "ref", required=True, help="A shipped benchmark id, a benchmark folder or its card.")
@click.option("--sector", required=True, help="The sector the profile is for (e.g. health).")
@click.option("--out", type=click.Path(path_type=Path), help="Write to this file (never overwritten) "
              "instead of printing.")
@_guard
def init(ref: str, sector: str, out: Path | None) -> int:
    """A commented starting profile for a benchmark, checked as 'profile validate' checks it."""
    from ..authoring.profile_init import init_profile

    text = init_profile(ref, sector=sector, out=out)
    if out is None:
        emit(text.rstrip("\n"), code=0)
        return 0
    try:
        with out.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ProfileError(f"{out} exists; expected a new file (nothing was written)") from None
    except OSError as exc:
        raise ProfileError(f"cannot write {out}: {exc.strerror or exc}") from None
    emit(f"wrote {out}: replace every TODO, then run 'oversight profile validate {out}'", code=0)
    return 0


@profile.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@_guard
def diff(old: Path, new: Path, fmt: str) -> int:
    """What changed from OLD to NEW, requirement by requirement (thresholds, rules, groups, dates, pin, ...)."""
    from ..authoring.profile_diff import diff_profiles, render
    from ..profile import load_profile

    before, after = load_profile(old).profile, load_profile(new).profile
    emit(render(before, after, diff_profiles(before, after), fmt).rstrip("\n"), code=0)
    return 0
