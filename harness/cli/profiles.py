"""Commands for sector profiles: ``oversight profile ...``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import HarnessError, ProfileError
from ._common import _guard


@click.group()
def profile() -> None:
    """Work with sector profiles."""


@profile.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_guard
def validate(paths: tuple[Path, ...]) -> int:
    """Check profiles: 'ok' per file, or every problem with file, field path and line."""
    from ..plan import make_plan
    from ..profile import load_profile

    failed = False
    for path in paths:
        try:
            make_plan(load_profile(path))
            click.echo(f"{path}: ok")
        except HarnessError as exc:
            failed = True
            lines = exc.problems if isinstance(exc, ProfileError) else [str(exc)]
            for line in lines:
                click.echo(line if line.startswith(str(path)) else f"{path}: {line}", err=True)
    return 2 if failed else 0
