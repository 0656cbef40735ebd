"""Safe YAML reading that remembers where every value came from.

A scenario file is read into plain Python data (dicts, lists, strings, numbers, dates)
together with a table from each value's path, such as ``("units", 2, "beds")``, to the
line it stood on. Validation errors can then name the line a planner has to fix.

Only YAML's standard tags are accepted: a Python object tag is an error, not code to
run. Duplicate keys, which plain YAML loaders silently resolve to the last one, are
errors. Anchors and aliases work, but a file whose aliases would expand into a huge
number of values ("billion laughs"), refer to themselves, or nest very deeply is
refused before anything is expanded, so a small hostile file fails in milliseconds.
Every fault, from a missing file to a stray tab, becomes an :class:`InputError` with
the file and, where there is one, the line.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from simulation.core.problems import InputError, Problem
from simulation.core.safetext import excerpt

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 5_000_000
"""Largest scenario file read; a scenario with long empirical lists is well under 1 MB."""
MAX_VALUES = 200_000
"""Most values a file may hold once anchors and aliases are expanded."""
MAX_DEPTH = 50
"""Deepest nesting of lists and mappings; a scenario needs fewer than ten levels."""

# libyaml's parser is an order of magnitude faster than the pure-Python one; both give
# the same nodes and line numbers.
_Loader: type[yaml.SafeLoader] = (
    yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader  # type: ignore[assignment]
)

_YAML_TAG = "tag:yaml.org,2002:"
_SAFE_SCALAR_TAGS = {
    _YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")
}


_SCALAR_KINDS = {
    _YAML_TAG + "int": "a whole number",
    _YAML_TAG + "float": "a number",
    _YAML_TAG + "bool": "true or false",
    _YAML_TAG + "null": "an empty value",
}


class LocatedData:
    """Plain data read from YAML, with the line of every mapping key and list item."""

    def __init__(self, data: Any, lines: dict[Path_, int], file: str):
        self.data = data
        self.lines = lines
        self.file = file

    def line_of(self, path: Path_) -> int | None:
        """Return the line of the longest prefix of ``path`` that the file contains."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def problem(self, path: Path_, message: str) -> Problem:
        """Build a problem located at ``path``."""
        return Problem(self.file, self.line_of(path), format_path(path), message)


def format_path(path: Path_) -> str:
    """Format a field path the way a planner reads it: ``units[2].beds``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _tag_name(tag: str) -> str:
    """A tag as written in YAML: ``!!python/object``, not ``tag:yaml.org,2002:python/...``."""
    return "!!" + tag[len(_YAML_TAG) :] if tag.startswith(_YAML_TAG) else tag


def _tag_problem(tag: str) -> str:
    return (
        f"YAML tag {_tag_name(tag)!r} is not allowed: a scenario holds plain values only "
        "(numbers, text, dates, true/false, lists and mappings)"
    )


class _Builder:
    """Turns a composed YAML node tree into data, recording lines and collecting faults.

    The tree has already been measured (:func:`_measure`), so it is known to be finite,
    shallow and of reasonable size when expanded.
    """

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")

    def fail(self, node: Node, path: Path_, message: str) -> None:
        self.problems.append(Problem(self.file, _line(node), format_path(path), message))

    def build(self, node: Node, path: Path_) -> Any:
        self.lines.setdefault(path, _line(node))
        if isinstance(node, MappingNode):
            if node.tag != _YAML_TAG + "map":
                self.fail(node, path, _tag_problem(node.tag))
                return None
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node, path)
                if key is None:
                    continue
                if key in result:
                    self.fail(
                        key_node,
                        (*path, key),
                        f"{key!r} is given twice here (also on line "
                        f"{self.lines[(*path, key)]}); keep only one",
                    )
                    continue
                self.lines[(*path, key)] = _line(key_node)
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, SequenceNode):
            if node.tag != _YAML_TAG + "seq":
                self.fail(node, path, _tag_problem(node.tag))
                return None
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def key(self, node: Node, path: Path_) -> str | None:
        """A mapping key as text: keys are field or item names, whatever they look like."""
        if node.tag == _YAML_TAG + "merge":
            self.fail(
                node,
                path,
                "YAML merge keys ('<<') are not supported; write the fields out, or build on "
                "another scenario with 'extends'",
            )
            return None
        if not isinstance(node, ScalarNode):
            self.fail(node, path, "a key must be a plain name, not a list or a mapping")
            return None
        if node.tag not in _SAFE_SCALAR_TAGS:
            self.fail(node, path, _tag_problem(node.tag))
            return None
        return str(node.value)

    def scalar(self, node: Node, path: Path_) -> Any:
        if node.tag not in _SAFE_SCALAR_TAGS:
            self.fail(node, path, _tag_problem(node.tag))
            return None
        if node.tag == _YAML_TAG + "str":
            return node.value
        try:
            return self.constructor.yaml_constructors[node.tag](self.constructor, node)
        except Exception as exc:  # any failure to read a value is the value's fault
            reason = f" ({exc})" if isinstance(exc, ValueError) else ""
            if node.tag == _YAML_TAG + "timestamp":
                message = f"{node.value!r} is not a valid date{reason}; expected YYYY-MM-DD"
            else:
                kind = _SCALAR_KINDS.get(node.tag, "a value")
                message = f"{node.value!r} cannot be read as {kind}"
            self.fail(node, path, message)
            return None


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _measure(root: Node, file: str) -> None:
    """Refuse a node tree whose aliases loop, nest too deeply or expand too far.

    Aliases make the tree a graph that shares nodes, so sizes and heights are computed
    once per node; nothing is expanded.
    """
    known: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)
    on_path: set[int] = set()

    def visit(node: Node, parent: Node) -> tuple[int, int]:
        key = id(node)
        if key in known:
            return known[key]
        if key in on_path:
            raise InputError(
                [
                    Problem(
                        file,
                        _line(parent),
                        "",
                        "an alias ('*name') is used inside the value it names, which would "
                        "make it endless; remove the loop",
                    )
                ]
            )
        on_path.add(key)
        size, height = 1, 1
        for child in _children(node):
            child_size, child_height = visit(child, node)
            size += child_size
            height = max(height, child_height + 1)
            if height > MAX_DEPTH:
                raise InputError([Problem(file, _line(node), "", _too_deep())])
        on_path.discard(key)
        known[key] = (size, height)
        return size, height

    size, _ = visit(root, root)
    if size <= MAX_VALUES:
        return
    where, line, biggest = "", _line(root), size
    if isinstance(root, MappingNode):
        key_node, value_node = max(root.value, key=lambda pair: known[id(pair[1])][0])
        where, line, biggest = str(key_node.value), _line(key_node), known[id(value_node)][0]
    raise InputError(
        [
            Problem(
                file,
                line,
                where,
                f"anchors and aliases ('&name', '*name') make this expand to {biggest:,} "
                f"values; a scenario needs far fewer (at most {MAX_VALUES:,})",
            )
        ]
    )


def _too_deep() -> str:
    return (
        f"lists and mappings are nested more than {MAX_DEPTH} levels deep; "
        "a scenario needs fewer than ten"
    )


def _scan(text: str, file: str) -> None:
    """Scan YAML events, stopping at too deep a nesting or too many values.

    Composing a deeply nested document recurses once per level (and libyaml's composer
    can crash the interpreter), so depth and size are checked on the flat event stream
    first, which also stops early in a file far too big to be a scenario.
    """
    depth = values = 0
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                values += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.NodeEvent):  # a scalar or an alias
                values += 1
            if depth > MAX_DEPTH or values > MAX_VALUES:
                mark = event.start_mark
                line = int(mark.line) + 1 if mark is not None else None
                message = _too_deep() if depth > MAX_DEPTH else _too_many()
                raise InputError([Problem(file, line, "", message)])
    finally:
        loader.dispose()


def _too_many() -> str:
    return (
        f"the file holds more than {MAX_VALUES:,} values; a scenario needs far fewer "
        "(is this the right file?)"
    )


_INDENTATION = "the indentation of this line does not fit the lines above it"
_SYNTAX_HINTS = (
    # (what the parser says, the same in plain words or None to keep it, a hint)
    (
        "mapping values are not allowed",
        "a ':' where none was expected",
        "put a value that contains ': ' in quotes, or check the indentation",
    ),
    ("expected ',' or '}'", None, "a '{' is not closed with '}', or a comma is missing"),
    ("expected ',' or ']'", None, "a '[' is not closed with ']', or a comma is missing"),
    (
        "expected ':'",
        "a line without ':'",
        "write each field as 'name: value'; quote text that runs onto the next line",
    ),
    ("expected key", _INDENTATION, "fields of one mapping must line up exactly"),
    ("'-' indicator", _INDENTATION, "fields of one mapping and items of one list line up exactly"),
    ("block end", _INDENTATION, "fields of one mapping and items of one list line up exactly"),
    ("undefined alias", None, "'*name' needs an anchor '&name' defined above it"),
    ("end of stream", None, "a quote or bracket is not closed"),
    ("cannot start any token", None, "put the value in quotes"),
)

_CONTEXTS = {
    "while parsing a flow mapping": "in the '{ }' that starts on line",
    "while parsing a flow sequence": "in the '[ ]' that starts on line",
    "while parsing a block mapping": "in the fields that start on line",
    "while parsing a block collection": "in the list that starts on line",
    "while scanning a quoted scalar": "in the quoted text that starts on line",
    "while scanning a simple key": "in the field name on line",
}


def _syntax_problem(exc: yaml.YAMLError, file: str) -> Problem:
    """A YAML syntax error in plain words, at the line where the parser gave up."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(file, None, "", f"YAML syntax error: {exc}")
    mark = exc.problem_mark or exc.context_mark
    if exc.context == "while scanning a simple key" and exc.context_mark is not None:
        mark = exc.context_mark  # a field name without ':' is the fault, not the line after
    line = int(mark.line) + 1 if mark is not None else None
    problem = (exc.problem or "invalid YAML").replace("did not find expected", "expected")
    hint = ""
    for fragment, plain, advice in _SYNTAX_HINTS:
        if fragment in problem:
            problem, hint = plain or problem, f"; {advice}"
            break
    message = f"YAML syntax error: {problem}"
    context, context_mark = exc.context, exc.context_mark
    if context and context_mark is not None and int(context_mark.line) + 1 != line:
        where = _CONTEXTS.get(context, f"{context} on line")
        message += f" ({where} {int(context_mark.line) + 1})"
    return Problem(file, line, "", message + hint)


def _tab_problems(text: str, file: str) -> list[Problem]:
    lines = [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and "\t" in line[: len(line) - len(line.lstrip(" \t"))]
    ]
    if not lines:
        return []
    shown = ", ".join(map(str, lines[:10])) + (f" and {len(lines) - 10} more" if lines[10:] else "")
    where = "" if len(lines) == 1 else f" (lines {shown})"
    return [Problem(file, lines[0], "", f"tab used for indentation{where}; indent with spaces")]


def parse_yaml(text: str, file: str) -> LocatedData:
    """Parse YAML text into :class:`LocatedData`; raise :class:`InputError` on any fault."""
    problems = _tab_problems(text, file)
    if problems:
        raise InputError(problems)
    try:
        _scan(text, file)
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise InputError([_syntax_problem(exc, file)]) from None
    if node is None:
        raise InputError(
            [Problem(file, None, "", "the file is empty (or only comments); expected a scenario")]
        )
    if not isinstance(node, MappingNode):
        what = "a list" if isinstance(node, SequenceNode) else f"the value '{excerpt(node.value)}'"
        raise InputError(
            [
                Problem(
                    file,
                    _line(node),
                    "",
                    f"expected a scenario: fields such as 'name: ...' at the top level, got {what}",
                )
            ]
        )
    _measure(node, file)
    builder = _Builder(file)
    data = builder.build(node, ())
    if builder.problems:
        raise InputError(builder.problems)
    return LocatedData(data, builder.lines, file)


NOT_REGULAR = "is not a regular file (a device, pipe or socket)"


def not_a_file(path: Path) -> str:
    """Why ``path`` cannot be read as a file: missing, a folder, or not a regular file."""
    try:
        if path.is_dir():
            return f"is a folder, not a file ({path})"
        if path.exists():
            return f"{NOT_REGULAR} ({path})"
    except OSError:
        pass
    return f"not found (looked for {path})"


def _not_found(path: Path) -> str:
    message = f"file not found (looked for {path.absolute()})"
    folder = path.parent
    try:
        siblings = [p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml")]
    except OSError:
        return message
    stems = {Path(name).stem: name for name in siblings}
    match = difflib.get_close_matches(path.stem, list(stems), n=1, cutoff=0.75)
    return message + (f"; did you mean {str(folder / stems[match[0]])!r}?" if match else "")


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(
            [Problem(name, None, "", "the file is saved as UTF-16 text; save it as UTF-8")]
        )
    if b"\x00" in raw:
        raise InputError(
            [Problem(name, None, "", "this is a binary file, not YAML text; expected a scenario")]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = raw[exc.start : exc.start + 1].hex()
        raise InputError(
            [
                Problem(
                    name,
                    line,
                    "",
                    f"the file is not UTF-8 text (byte 0x{byte} on this line, perhaps a "
                    "character such as £ or é saved by another program); save it as UTF-8",
                )
            ]
        ) from None


def read_yaml_file(path: str | Path) -> LocatedData:
    """Read and parse a YAML file, turning every file-system fault into a clear problem."""
    path = Path(path)
    name = str(path)
    try:
        if path.is_dir():
            raise InputError([Problem(name, None, "", "is a folder; expected a YAML file")])
        if path.exists() and not path.is_file():  # opening a pipe would wait for a writer
            raise InputError([Problem(name, None, "", f"{NOT_REGULAR}; expected a YAML file")])
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", _not_found(path))]) from None
    except PermissionError:
        raise InputError([Problem(name, None, "", "permission denied reading the file")]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError([Problem(name, None, "", f"cannot read the file: {reason}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(
            [
                Problem(
                    name,
                    None,
                    "",
                    f"the file is larger than {MAX_FILE_BYTES:,} bytes; a scenario file is far "
                    "smaller (is this the right file?)",
                )
            ]
        )
    return parse_yaml(_decode(raw, name), name)
