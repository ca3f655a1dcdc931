"""How the command line shows progress on stderr: bars on a terminal, timestamped lines elsewhere.

stdout carries only the command's result (the table or the JSON object), so progress never
mixes with what a pipe reads; ``--quiet`` shows none.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

import click

from ..progress import Messages, Reporter, counted, estimate

__all__ = ["Bars", "reporter_for", "timestamped"]

_REDRAW = 0.1  # seconds between two drawings of a bar


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 60 else f"{int(value // 60)} min {int(value % 60):02d} s"


class Bars:
    """One bar per stage, redrawn in place with ``\\r``: count, elapsed time and an estimate of the rest."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic, width: int | None = None) -> None:
        self.stream, self.clock = stream, clock
        self.width = width or shutil.get_terminal_size(fallback=(80, 24)).columns
        self._stages: dict[str, tuple[int | None, str, float]] = {}  # total, unit, start
        self._shown: str | None = None  # the stage whose bar is on the current line
        self._done: dict[str, int] = {}
        self._drawn = 0.0

    def started(self, stage: str, total: int | None, unit: str) -> None:
        self._end_line()
        self._stages[stage] = (total, unit, self.clock())
        self._done[stage] = 0
        self._draw(stage)

    def advanced(self, stage: str, done: int) -> None:
        if stage not in self._stages:
            return
        self._done[stage] = done
        if self.clock() - self._drawn >= _REDRAW:
            self._draw(stage)

    def finished(self, stage: str, *, done: int, seconds: float, completed: bool) -> None:
        if stage not in self._stages:
            return
        self._done[stage] = done
        self._draw(stage, tail=f"{'done' if completed else 'stopped'} in {_seconds(seconds)}")
        self._end_line()
        del self._stages[stage], self._done[stage]

    def note(self, message: str) -> None:
        self._end_line()
        self._write(f"  {message}\n")

    def _draw(self, stage: str, *, tail: str | None = None) -> None:
        total, unit, start = self._stages[stage]
        done, elapsed = self._done[stage], self.clock() - start
        if tail is None:
            left = estimate(done, total, elapsed)
            tail = _seconds(elapsed) + (f", about {_seconds(left)} left" if left else "")
        count, bar = counted(done, total, unit), ""
        room = 20 if self.width >= 110 else 10 if self.width >= 80 else 0  # the same width all along
        if total and room >= 10:
            filled = room * min(done, total) // total
            bar = f"[{'#' * filled}{'.' * (room - filled)}]  "
        text = f"  {stage}  {bar}{count}  {tail}"
        self._write("\r" + text[: self.width - 1].ljust(self.width - 1))
        self._shown, self._drawn = stage, self.clock()

    def _end_line(self) -> None:
        if self._shown is not None:
            self._write("\n")
            self._shown = None

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def timestamped(stream: TextIO) -> Callable[[str], None]:
    """``say(message)`` writing ``HH:MM:SS [elapsed] message`` lines (UTC) to ``stream``."""
    start = time.monotonic()

    def say(message: str) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        click.echo(f"{now:%H:%M:%S} [{time.monotonic() - start:6.1f}s] {message}", file=stream)

    return say


def reporter_for(*, quiet: bool, as_json: bool, stream: TextIO | None = None) -> Reporter | None:
    """No progress with ``--quiet``; bars on a terminal; timestamped lines on a pipe, a file, or with ``--json``."""
    if quiet:
        return None
    stream = stream or sys.stderr
    if not as_json and stream.isatty():
        return Bars(stream)
    return Messages(timestamped(stream))
