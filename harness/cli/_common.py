"""What every command shares: exit codes, the error guard, progress lines."""

from __future__ import annotations

import datetime as dt
import functools
import sys
import traceback
from typing import Any, Callable

import click

from ..errors import HarnessError

EXIT = {"compliant": 0, "non_compliant": 1, "inconclusive": 4}


def _guard(fn: Callable[..., int]) -> Callable[..., None]:
    """Map harness errors to exit codes; tracebacks only with --debug."""

    @click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
    @functools.wraps(fn)
    def wrapper(*args: Any, debug: bool = False, **kwargs: Any) -> None:
        try:
            code = fn(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except click.ClickException:
            raise  # usage errors: click prints them and exits 2
        except HarnessError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # a bug or an unexpected failure: still no traceback by default
            if debug:
                traceback.print_exc()
            click.echo(f"error: run failed: {type(exc).__name__}: {exc} (rerun with --debug for details)", err=True)
            sys.exit(3)
        sys.exit(code)

    return wrapper


def _progress(enabled: bool) -> Callable[[str], None] | None:
    if not enabled:
        return None
    start = dt.datetime.now()

    def say(msg: str) -> None:
        secs = (dt.datetime.now() - start).total_seconds()
        click.echo(f"  [{secs:6.1f}s] {msg}", err=True)

    return say
