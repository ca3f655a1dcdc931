"""Progress of the long stages, told to whoever listens; the engine never prints.

A stage (reading and hashing the benchmark, predicting, chunks, bootstrap replicates,
writing the evidence bundle) reports its total and its count as it goes to the
``Reporter`` of the block it runs in. ``harness.evaluate`` opens that block with
``reporting``; the code of a stage only calls ``stage``, so no signature between the entry
point and the bootstrap loop carries a reporter. Without a reporter a stage costs a
counter. The command line draws bars or writes timestamped lines (``harness.cli._progress``);
a Python caller may pass a plain ``callable(message)`` instead (``Messages``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, runtime_checkable

from .errors import InputError

__all__ = ["Messages", "Reporter", "Stage", "as_reporter", "counted", "estimate", "note", "reporting", "stage"]


@runtime_checkable
class Reporter(Protocol):
    """Receives the events of stages and free-standing notes; must not raise."""

    def started(self, stage: str, total: int | None, unit: str) -> None: ...

    def advanced(self, stage: str, done: int) -> None: ...

    def finished(self, stage: str, *, done: int, seconds: float, completed: bool) -> None: ...

    def note(self, message: str) -> None: ...


_CURRENT: ContextVar[Reporter | None] = ContextVar("harness_progress", default=None)


class Stage:
    """One stage's counter; ``advance`` may be called from several threads."""

    def __init__(self, name: str, total: int | None, unit: str, reporter: Reporter | None) -> None:
        self.name, self.total, self.unit = name, total, unit
        self.done = 0
        self.started = time.monotonic()
        self._reporter = reporter
        self._lock = threading.Lock()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            done = self.done
        if self._reporter is not None:
            self._reporter.advanced(self.name, done)


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Within this block, stages report to ``reporter`` (None: to nobody)."""
    token = _CURRENT.set(reporter)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def stage(name: str, *, total: int | None, unit: str) -> Iterator[Stage]:
    """A long stage of ``total`` ``unit``s (None when unknown); ``finished`` says whether it ran to its end."""
    reporter = _CURRENT.get()
    current = Stage(name, total, unit, reporter)
    if reporter is not None:
        reporter.started(name, total, unit)
    completed = False
    try:
        yield current
        completed = True
    finally:
        if reporter is not None:
            reporter.finished(name, done=current.done, seconds=time.monotonic() - current.started,
                              completed=completed)


def note(message: str) -> None:
    """A one-off message for the block's reporter (what was verified, where the bundle went)."""
    reporter = _CURRENT.get()
    if reporter is not None:
        reporter.note(message)


def estimate(done: int, total: int | None, seconds: float) -> float | None:
    """Seconds left at the rate so far; None before the first unit or without a total."""
    if not total or done <= 0 or seconds <= 0:
        return None
    return max(0.0, seconds * (total - done) / done)


def counted(done: int, total: int | None, unit: str) -> str:
    """``450/1,000 replicates``, or ``450 replicates`` without a total."""
    return f"{done:,}/{total:,} {unit}" if total is not None else f"{done:,} {unit}"


class Messages:
    """A ``Reporter`` that tells each stage as sentences to ``say``: at its start, at most every
    ``interval`` seconds while it runs (count and estimate), and at its end."""

    def __init__(self, say: Callable[[str], None], *, interval: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.say, self.interval, self.clock = say, interval, clock
        self._open: dict[str, tuple[int | None, str, float, float]] = {}  # total, unit, start, last said
        self._lock = threading.Lock()

    def started(self, stage: str, total: int | None, unit: str) -> None:
        now = self.clock()
        self._open[stage] = (total, unit, now, now)
        self.say(f"{stage}: started" + (f", {total:,} {unit}" if total is not None else ""))

    def advanced(self, stage: str, done: int) -> None:
        with self._lock:
            if stage not in self._open:
                return
            total, unit, start, last = self._open[stage]
            now = self.clock()
            if now - last < self.interval or (total is not None and done >= total):
                return
            self._open[stage] = (total, unit, start, now)
        left = estimate(done, total, now - start)
        self.say(f"{stage}: {counted(done, total, unit)}" + (f", about {left:.0f} s left" if left is not None else ""))

    def finished(self, stage: str, *, done: int, seconds: float, completed: bool) -> None:
        total, unit, _start, _last = self._open.pop(stage, (None, "", 0.0, 0.0))
        state = "done" if completed else "stopped"
        self.say(f"{stage}: {state}, {counted(done, total, unit)} in {seconds:.1f} s")

    def note(self, message: str) -> None:
        self.say(message)


def as_reporter(progress: Reporter | Callable[[str], None] | None) -> Reporter | None:
    """A ``Reporter`` as it is, a plain callable wrapped in ``Messages``, None for nobody."""
    if progress is None or isinstance(progress, Reporter):
        return progress
    if callable(progress):
        return Messages(progress)
    raise InputError(f"progress must be a callable taking a message or a harness.progress.Reporter, "
                    f"found {type(progress).__name__}")
