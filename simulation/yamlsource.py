"""Safe YAML reading that remembers where every value came from.

A scenario file is read into plain Python data (dicts, lists, strings, numbers, dates)
together with a table from each value's path, such as ``("units", 2, "beds")``, to the
line it stood on. Validation errors can then name the line a planner has to fix.

Only YAML's standard tags are accepted: a Python object tag is an error, not code to
run. Duplicate keys, which plain YAML loaders silently resolve to the last one, are
errors. Anchors and aliases work, but expanding them is capped so that a small file
cannot turn into millions of values ("billion laughs").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from simulation.problems import InputError, Problem

Path_ = tuple[str | int, ...]

MAX_FILE_BYTES = 5_000_000
MAX_VALUES = 200_000

_SAFE_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
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


class _Builder:
    """Turns a composed YAML node tree into data, recording lines and counting values."""

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[Path_, int] = {}
        self.count = 0
        self.constructor = yaml.SafeLoader("")

    def fail(self, node: Node | None, field: Path_, message: str) -> InputError:
        line = node.start_mark.line + 1 if node is not None else None
        return InputError([Problem(self.file, line, format_path(field), message)])

    def build(self, node: Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise self.fail(
                node,
                path,
                f"the file expands to more than {MAX_VALUES:,} values "
                "(anchors and aliases nested too deeply?); a scenario needs far fewer",
            )
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self.fail(key_node, path, "YAML merge keys ('<<') are not supported")
                key = self.build_scalar(key_node, path)
                if not isinstance(key, str | int):
                    raise self.fail(key_node, path, "keys must be plain names")
                if key in result:
                    raise self.fail(
                        key_node,
                        (*path, key),
                        f"duplicate key {key!r} (first given on line {self.lines[(*path, key)]})",
                    )
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}")
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.build_scalar(node, path)

    def build_scalar(self, node: Node, path: Path_) -> Any:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, path, "keys must be plain names, not lists or mappings")
        if node.tag not in _SAFE_SCALAR_TAGS:
            raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}; plain values only")
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            raise self.fail(node, path, f"cannot read value {node.value!r}: {exc}") from None


def parse_yaml(text: str, file: str) -> LocatedData:
    """Parse YAML text into :class:`LocatedData`; raise :class:`InputError` on any fault."""
    if "\t" in text:
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.lstrip(" ")
            if stripped.startswith("\t"):
                raise InputError(
                    [Problem(file, number, "", "tab used for indentation; indent with spaces")]
                )
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = mark.line + 1 if mark is not None else None
        what = exc.problem or "invalid YAML"
        raise InputError([Problem(file, at, "", f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file, None, "", f"YAML syntax error: {exc}")]) from None
    if node is None:
        raise InputError([Problem(file, None, "", "the file is empty; expected a scenario")])
    builder = _Builder(file)
    data = builder.build(node, ())
    if not isinstance(data, dict):
        raise InputError(
            [
                Problem(
                    file, node.start_mark.line + 1, "", "expected a mapping of fields at top level"
                )
            ]
        )
    return LocatedData(data, builder.lines, file)


def read_yaml_file(path: str | Path) -> LocatedData:
    """Read and parse a YAML file, turning every file-system fault into a clear problem."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise InputError([Problem(name, None, "", "is a folder; expected a YAML file")])
        if size > MAX_FILE_BYTES:
            raise InputError(
                [
                    Problem(
                        name,
                        None,
                        "",
                        f"file is {size:,} bytes; a scenario file is expected to be under "
                        f"{MAX_FILE_BYTES:,}",
                    )
                ]
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Problem(name, None, "", "file not found")]) from None
    except PermissionError:
        raise InputError([Problem(name, None, "", "permission denied reading the file")]) from None
    except OSError as exc:
        raise InputError([Problem(name, None, "", f"cannot read file: {exc.strerror}")]) from None
    if b"\x00" in raw:
        raise InputError([Problem(name, None, "", "binary file; expected YAML text")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(name, None, "", f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")]
        ) from None
    return parse_yaml(text, name)
