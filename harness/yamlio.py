"""The one YAML reader of the harness, for files written by people who may err or attack.

Profiles and benchmark cards come from parties the harness does not trust, so reading
one is bounded and every refusal is positioned: bytes are capped in size, decoded as
strict UTF-8 (the error names the byte offset, line and column), composed with a cap on
nesting depth and on the size of the tree once aliases are expanded (an alias bomb is
refused before anything walks it, and the message never echoes the expanded input),
duplicate mapping keys are refused with both lines, and values a tag cannot hold
(``!!int abc``, ``2026-02-30``) are errors at their line instead of escaping exceptions.
The node tree is kept so that validation errors can name lines.

Limits (documented in the README): ``MAX_BYTES`` 1 MB per file, ``MAX_DEPTH`` 32 levels
of nesting, ``MAX_NODES`` 20,000 nodes after alias expansion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.error import Mark, MarkedYAMLError

from .errors import InputError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Document", "line_of", "load_yaml", "read_capped"]

MAX_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_NODES = 20_000
Loc = tuple[str | int, ...]

_KINDS = {
    "tag:yaml.org,2002:int": "an integer",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:binary": "base64 binary data",
}


@dataclass(frozen=True)
class Document:
    """Parsed data with the node tree it came from (``node`` is None for an empty file)."""

    text: str
    data: Any
    node: yaml.Node | None


class _Refused(MarkedYAMLError):
    """A positioned refusal raised inside the loader; ``loc`` is filled in when known."""

    def __init__(self, mark: Mark | None, problem: str, loc: Loc | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.loc = loc


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Loader(yaml.SafeLoader):
    """SafeLoader that bounds depth and expansion and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        self._depth += 1
        self._composed += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(self.peek_event().start_mark, f"nesting deeper than {MAX_DEPTH} levels; "
                           f"expected at most {MAX_DEPTH}")
        if self._composed > MAX_NODES:
            raise _Refused(self.peek_event().start_mark, f"more than {MAX_NODES:,} values; "
                           f"expected at most {MAX_NODES:,}")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # unhashable keys are refused by the base constructor
            if first is not key_node:
                raise _Refused(key_node.start_mark, f"key {_shown(key)} appears twice, at "
                               f"{_at(first.start_mark)} and {_at(key_node.start_mark)}; expected each key once")
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except MarkedYAMLError:
            raise
        except Exception as exc:  # PyYAML's constructors raise ValueError, TypeError, AttributeError...
            raise _Refused(node.start_mark, _constructor_problem(node, exc)) from None


def _at(mark: Mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _constructor_problem(node: yaml.Node, exc: Exception) -> str:
    kind = _KINDS.get(node.tag, f"a {node.tag!r} value")
    if not isinstance(node, yaml.ScalarNode):
        return f"expected {kind}, found a {'list' if isinstance(node, yaml.SequenceNode) else 'mapping'}"
    if node.tag == "tag:yaml.org,2002:timestamp" and isinstance(exc, ValueError):
        return f"{_shown(node.value)} is not a date that exists ({exc}); expected a real calendar date"
    return f"{_shown(node.value)} is not {kind}"


def read_capped(path: Path, *, what: str, error: type[InputError], limit: int = MAX_BYTES) -> bytes:
    """The file's bytes, refusing (without reading it all) a file larger than ``limit``."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise error(f"{path}: the {what} is larger than {limit:,} bytes; expected at most {limit:,} bytes")
    return raw


def load_yaml(raw: bytes | str, *, source: str, what: str, error: type[InputError]) -> Document:
    """Decode, compose and construct one YAML document, or raise ``error`` naming the line."""
    if isinstance(raw, str):
        text = raw
        size = len(raw.encode("utf-8", errors="surrogatepass"))
    else:
        size = len(raw)
        text = _decode(raw, source=source, what=what, error=error)
    if size > MAX_BYTES:
        raise error(f"{source}: the {what} is larger than {MAX_BYTES:,} bytes; expected at most {MAX_BYTES:,} bytes")
    node: yaml.Node | None = None
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader refuses control characters here
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(node)
        data = None if node is None else loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise error(f"{source}:{line}: not valid YAML: character {exc.character:#06x} at line {line}, column "
                    f"{column} is not allowed; expected printable text") from None
    except yaml.YAMLError as exc:
        raise _positioned(exc, node, source=source, error=error) from None
    finally:
        if loader is not None:
            loader.dispose()
    return Document(text=text, data=data, node=node)


def _decode(raw: bytes, *, source: str, what: str, error: type[InputError]) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(f"{source}:{line}: the {what} is not valid UTF-8: byte 0x{raw[exc.start]:02x} at offset "
                    f"{exc.start} (line {line}, column {column}); expected text encoded as UTF-8") from None


def _positioned(exc: yaml.YAMLError, root: yaml.Node | None, *, source: str, error: type[InputError]) -> InputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{source}:{mark.line + 1}" if mark is not None else source
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context and problem.startswith("but "):  # PyYAML splits "expected X, but found Y" in two
        problem = f"{context}, {problem}"
    if isinstance(exc, _Refused):
        loc = exc.loc if exc.loc is not None else _path_to(root, mark)
        field = _loc_text(loc) if loc else None
        return error(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")
    return error(f"{where}: not valid YAML: {problem}")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a tree that aliases would expand beyond MAX_NODES nodes, or one that contains itself."""
    size: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            size[key] = min(1 + sum(size[id(c)] for c in _children(node)), MAX_NODES + 1)
            if size[key] > MAX_NODES:
                raise _Refused(node.start_mark, f"aliases expand to more than {MAX_NODES:,} values; "
                               f"expected at most {MAX_NODES:,}", loc=())
            continue
        if key in size:
            continue
        if key in active:
            raise _Refused(node.start_mark, "an alias refers to a value that contains it; expected a finite "
                           "tree", loc=())
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _path_to(root: yaml.Node | None, mark: Mark | None) -> Loc:
    """The field path of the value that starts at ``mark`` (first found), or () if none."""
    if root is None or mark is None:
        return ()
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    seen: set[int] = set()
    while stack:
        node, loc = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.start_mark.index == mark.index and loc:
            return loc
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*loc, i)) for i, child in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else "?"
                if key.start_mark.index == mark.index:
                    return (*loc, name)
                stack.append((value, (*loc, name)))
    return ()


def _loc_text(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def line_of(node: yaml.Node | None, loc: Loc) -> int | None:
    """Line (1-based) of the deepest node on the path ``loc`` that the tree holds."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pairs = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
            if not pairs:
                break
            node = pairs[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
