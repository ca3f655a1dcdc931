"""What every command shares: exit codes, the error guard, the model's log."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import click

from ..errors import HarnessError

PROFILE_DIRS = click.option(
    "--profiles", "profile_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
    help="A folder of profiles to search by id, before OVERSIGHT_PROFILES and the defaults (repeatable).")
BENCHMARK_DIRS = click.option(
    "--benchmarks", "benchmark_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
    help="A folder of benchmark folders to search by id, before OVERSIGHT_BENCHMARKS and the defaults (repeatable).")

EXIT = {"compliant": 0, "non_compliant": 1, "inconclusive": 4}


class _Quiet(Exception):
    """Our stdout is closed or its reader went away: exit with ``code``, saying nothing more."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def emit(text: str, *, code: int) -> None:
    """Print the command's result; if stdout is gone, end quietly with ``code`` (no traceback)."""
    try:
        if sys.stdout is None or sys.stdout.closed:
            raise BrokenPipeError
        click.echo(text)
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        _silence_stdout()
        raise _Quiet(code) from None


def _guard(fn: Callable[..., int]) -> Callable[..., None]:
    """Map harness errors to exit codes; tracebacks only with --debug."""

    @click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
    @functools.wraps(fn)
    def wrapper(*args: Any, debug: bool = False, **kwargs: Any) -> None:
        click.get_current_context().meta["debug"] = debug
        try:
            code = fn(*args, **kwargs)
        except _Quiet as quiet:
            sys.exit(quiet.code)
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(3)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except click.ClickException:
            raise  # usage errors: click prints them and exits 2
        except HarnessError as exc:
            if debug:
                traceback.print_exc()
                _show_model_log(getattr(exc, "model_log", ""))
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except Exception as exc:  # a bug or an unexpected failure: still no traceback by default
            if debug:
                traceback.print_exc()
            click.echo(f"error: run failed: {type(exc).__name__}: {exc} (rerun with --debug for details)", err=True)
            sys.exit(3)
        sys.exit(code)

    return wrapper


def _show_model_log(log: str) -> None:
    if log.strip():
        click.echo("--- model output (stdout and stderr) ---", err=True)
        click.echo(log.rstrip("\n"), err=True)
        click.echo("--- end of model output ---", err=True)
