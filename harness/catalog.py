"""Where profiles and benchmarks are found: the author's folders first, then the installed defaults.

A ministry keeps its profiles and benchmarks in folders of its own; a vendor installs the
harness and points it at them. A benchmark is found, in this order of authority, through a
profile's ``benchmark.path`` (relative to the profile file, never the current directory), or
by id in the folders of ``--benchmarks`` and ``OVERSIGHT_BENCHMARKS``, then among the defaults
shipped with the package. Profiles by id likewise (``--profiles``, ``OVERSIGHT_PROFILES``). An
id found in two folders is refused rather than guessed, so that the party being judged cannot
slip its own copy in front of the ministry's.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import BenchmarkError, InputError, ProfileError
from .yamlio import load_yaml, read_capped

if TYPE_CHECKING:
    from .profile import LoadedProfile

__all__ = ["BENCHMARKS_ENV", "PROFILES_ENV", "Entry", "benchmark_entries", "benchmark_folder", "find_benchmark",
           "find_profile", "installed", "profile_entries", "profile_path", "search"]

BENCHMARKS_ENV = "OVERSIGHT_BENCHMARKS"
PROFILES_ENV = "OVERSIGHT_PROFILES"
CARD = "benchmark.yaml"
INSTALLED = "installed defaults"
Kind = Literal["benchmarks", "sector_profiles"]

_extra: ContextVar[dict[str, tuple[Path, ...]]] = ContextVar("oversight_catalog", default={})


@dataclass(frozen=True)
class Entry:
    """One profile or benchmark found: its id, version (profiles), file or folder, and which search path."""

    id: str
    version: str
    path: Path
    where: str


def installed(kind: Kind) -> Path:
    """The defaults shipped with the package: ``harness/_data/<kind>`` in a wheel, the checkout's folder otherwise."""
    packaged = resources.files("harness") / "_data" / kind
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / kind


@contextlib.contextmanager
def search(*, benchmarks: Sequence[Path] = (), profiles: Sequence[Path] = ()) -> Iterator[None]:
    """Within this block, ``--benchmarks``/``--profiles`` folders are searched before the environment's."""
    token = _extra.set({"benchmarks": tuple(benchmarks), "sector_profiles": tuple(profiles)})
    try:
        yield
    finally:
        _extra.reset(token)


def _folders(kind: Kind) -> list[tuple[str, Path]]:
    option, env = ("--benchmarks", BENCHMARKS_ENV) if kind == "benchmarks" else ("--profiles", PROFILES_ENV)
    found = [(f"{option} {d}", Path(d)) for d in _extra.get().get(kind, ())]
    found += [(f"{env} {d}", Path(d)) for d in os.environ.get(env, "").split(os.pathsep) if d]
    for where, folder in found:
        if not folder.is_dir():
            raise InputError(f"{where}: no such folder")
    return [*found, (INSTALLED, installed(kind))]


def _searched(kind: Kind) -> str:
    return ", ".join(where for where, _ in _folders(kind))


def _unique(what: str, name: str, hits: list[Entry], error: type[InputError]) -> Entry:
    places = list(dict.fromkeys((h.path.resolve(), h.where) for h in hits))  # in search order
    if len(places) > 1:
        listed = "; ".join(f"{path} ({where})" for path, where in places)
        raise error(f"{what} {name!r} is found in {len(places)} places: {listed}; keep one, or name the file")
    return hits[0]


def _hint(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(known)), n=1)
    return f"; did you mean {close[0]!r}?" if close else ";"


# -- benchmarks ---------------------------------------------------------------------------------

def benchmark_entries() -> list[Entry]:
    """Every benchmark folder in the search path, in search order."""
    found = []
    for where, folder in _folders("benchmarks"):
        for card in sorted(folder.glob(f"*/{CARD}")):
            found.append(Entry(card.parent.name, "", card.parent, where))
    return found


def find_benchmark(bench_id: str) -> Path:
    """The folder of the benchmark with this id; refused when unknown or found in two places."""
    entries = benchmark_entries()
    hits = [e for e in entries if e.id == bench_id]
    if not hits:
        raise BenchmarkError(f"unknown benchmark {bench_id!r} (searched: {_searched('benchmarks')})"
                             f"{_hint(bench_id, [e.id for e in entries])} 'oversight benchmark list' shows "
                             "every benchmark found")
    return _unique("benchmark", bench_id, hits, BenchmarkError).path


def benchmark_folder(loaded: LoadedProfile) -> tuple[Path, str]:
    """The profile's benchmark folder and where it was found (``benchmark.path`` or the search path)."""
    ref = loaded.profile.benchmark
    if ref.path is None or loaded.path is None:
        # a profile without a file (a bundle's copy, a Profile built in Python) has no folder for
        # benchmark.path: the id is looked up instead, and the pinned SHA-256 still decides what is judged
        folder = find_benchmark(ref.id)
        where = next(e.where for e in benchmark_entries() if e.path == folder and e.id == ref.id)
        return folder.resolve(), where
    folder = (Path(loaded.path).resolve().parent / ref.path).resolve()
    if not (folder / CARD).is_file():
        raise ProfileError(f"{loaded.path}: benchmark.path: no {CARD} in {folder} "
                           f"({ref.path!r}, relative to the profile's folder)")
    return folder, "benchmark.path of the profile"


# -- profiles -----------------------------------------------------------------------------------

def _head(path: Path) -> tuple[str, str] | None:
    """A profile file's id and version, read without validating the rest (None if it is not one)."""
    try:
        data = load_yaml(read_capped(path, what="profile", error=ProfileError), source=str(path),
                         what="profile", error=ProfileError).data
    except ProfileError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or "version" not in data:
        return None
    return data["id"], str(data["version"])


def profile_entries() -> list[Entry]:
    """Every profile file (``*.yaml``, ``*.yml``, in subfolders too) in the search path, in search order."""
    found = []
    for where, folder in _folders("sector_profiles"):
        files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        for path in files:
            if (head := _head(path)) is not None:
                found.append(Entry(head[0], head[1], path, where))
    return found


def _newest(version: str) -> tuple[int, int, str]:
    return (1, int(version), "") if version.isdigit() else (0, 0, version)


def find_profile(ref: str) -> Path:
    """The file of profile ``ID`` (its newest version) or ``ID@VERSION``."""
    wanted, _, version = ref.partition("@")
    entries = profile_entries()
    same_id = [e for e in entries if e.id == wanted]
    if not same_id:
        raise InputError(f"profile {wanted!r}: no such profile (searched: {_searched('sector_profiles')})"
                         f"{_hint(wanted, [e.id for e in entries])} 'oversight profile list' shows every "
                         "profile found")
    chosen = version or max((e.version for e in same_id), key=_newest)
    hits = [e for e in same_id if e.version == chosen]
    if not hits:
        versions = ", ".join(sorted({e.version for e in same_id}, key=_newest))
        raise InputError(f"profile {wanted!r}: no version {version!r}; found: {versions}")
    return _unique("profile", f"{wanted}@{chosen}", hits, InputError).path


def profile_path(ref: str | Path) -> Path:
    """A profile named by file, or by id (``ID`` or ``ID@VERSION``) through the catalogue."""
    text = str(ref)
    path = Path(ref)
    if path.is_file() or text.endswith((".yaml", ".yml")) or "/" in text or os.sep in text:
        return path
    return find_profile(text)
