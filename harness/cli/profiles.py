"""Commands for sector profiles: ``oversight profile ...``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import HarnessError, ProfileError
from ._common import _guard


@click.group()
def profile() -> None:
    """Work with sector profiles."""


_DIRS = click.option("--profiles", "profile_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
                     help="A folder of profiles to search, before OVERSIGHT_PROFILES and the defaults (repeatable).")
_BENCH = click.option("--benchmarks", "benchmark_dirs", multiple=True,
                      type=click.Path(file_okay=False, path_type=Path),
                      help="A folder of benchmark folders to search, before OVERSIGHT_BENCHMARKS and the defaults "
                           "(repeatable).")


@profile.command("list")
@_DIRS
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
@_DIRS
@_BENCH
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

    path: str | Path = ref
    try:
        path = profile_path(ref)
        make_plan(load_profile(path))
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
