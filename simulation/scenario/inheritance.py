"""Scenario inheritance: ``extends: baseline.yaml`` and a deep merge of overrides.

A reinvestment scenario is usually the baseline with one thing changed, so a scenario
file may name a parent with ``extends`` (a path relative to the file) and give only
what differs. Merging rules:

- mappings merge key by key, recursively;
- lists of named things (places, units, community teams: items with a ``name``) merge
  by name: an item whose name the parent has is merged into the parent's item, a new
  name is added, and ``{name: X, remove: true}`` removes X;
- a mapping entry given as ``{remove: true}`` (for example a whole pathway) is removed;
- a distribution (a mapping with a ``distribution`` key) replaces the parent's whole:
  its parameters belong to its family, so a gamma's ``mean`` and ``sd`` never leak
  into a Weibull given in the child;
- anything else (numbers, text, other lists) replaces the parent's value.

Removing something the parent does not have, a circular chain of ``extends`` and a
missing parent file are errors that name the file and line. The merged data remembers
which file and line each value came from, so later validation errors point at the file
that has to change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulation.core.problems import InputError, Problem
from simulation.core.safetext import excerpt
from simulation.scenario.yamlsource import (
    LocatedData,
    Path_,
    format_path,
    not_a_file,
    read_yaml_file,
)

REMOVE = "remove"
DISTRIBUTION = "distribution"
MAX_DEPTH = 20


class MergedData(LocatedData):
    """Located data assembled from several files; each path knows its own file."""

    def __init__(self, data: Any, locations: dict[Path_, tuple[str, int]], file: str):
        super().__init__(data, {p: line for p, (_, line) in locations.items()}, file)
        self.locations = locations

    def problem(self, path: Path_, message: str) -> Problem:
        """Build a problem located at ``path`` in whichever file gave that value."""
        for end in range(len(path), -1, -1):
            where = self.locations.get(tuple(path[:end]))
            if where is not None:
                return Problem(where[0], where[1], format_path(path), message)
        return Problem(self.file, None, format_path(path), message)


def _is_named(item: Any) -> bool:
    # A name that is not text (a list, a mapping) is left for validation to report.
    return isinstance(item, dict) and isinstance(item.get("name"), str)


def _is_named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_named(item) for item in value)


def _where(src: LocatedData, path: Path_) -> tuple[str, int] | None:
    """The file and line a value at ``path`` of ``src`` came from."""
    if isinstance(src, MergedData):
        return src.locations.get(path)
    line = src.lines.get(path)
    return (src.file, line) if line is not None else None


def _removal(value: Any) -> bool:
    return isinstance(value, dict) and value.get(REMOVE) is True


class _Merger:
    def __init__(self) -> None:
        self.locations: dict[Path_, tuple[str, int]] = {}

    def locate(self, out_path: Path_, *candidates: tuple[LocatedData, Path_]) -> None:
        """Record where ``out_path`` came from: the first candidate that has a location."""
        for src, path in candidates:
            where = _where(src, path)
            if where is not None:
                self.locations[out_path] = where
                return

    def copy(self, value: Any, src: LocatedData, src_path: Path_, out_path: Path_) -> Any:
        self.locate(out_path, (src, src_path))
        if isinstance(value, dict):
            return {
                k: self.copy(v, src, (*src_path, k), (*out_path, k))
                for k, v in value.items()
                if k != REMOVE
            }
        if isinstance(value, list):
            return [self.copy(v, src, (*src_path, i), (*out_path, i)) for i, v in enumerate(value)]
        return value

    def merge(
        self,
        base: Any,
        base_src: LocatedData,
        base_path: Path_,
        over: Any,
        over_src: LocatedData,
        over_path: Path_,
        out_path: Path_,
    ) -> Any:
        if isinstance(base, dict) and isinstance(over, dict) and DISTRIBUTION not in over:
            self.locate(out_path, (over_src, over_path), (base_src, base_path))
            result: dict[Any, Any] = {}
            for key, value in base.items():
                if key in over:
                    if _removal(over[key]):
                        continue
                    result[key] = self.merge(
                        value,
                        base_src,
                        (*base_path, key),
                        over[key],
                        over_src,
                        (*over_path, key),
                        (*out_path, key),
                    )
                else:
                    result[key] = self.copy(value, base_src, (*base_path, key), (*out_path, key))
            for key, value in over.items():
                if key in base:
                    continue
                if _removal(value):
                    raise InputError(
                        [
                            over_src.problem(
                                (*over_path, key),
                                f"cannot remove {key!r}: the parent scenario has no such entry "
                                f"(it has: {', '.join(map(str, base)) or 'none'})",
                            )
                        ]
                    )
                result[key] = self.copy(value, over_src, (*over_path, key), (*out_path, key))
            return result
        if (
            _is_named_list(base)
            and isinstance(over, list)
            and all(_is_named(item) for item in over)
        ):
            return self.merge_named(base, base_src, base_path, over, over_src, over_path, out_path)
        return self.copy(over, over_src, over_path, out_path)

    def merge_named(
        self,
        base: list[dict[str, Any]],
        base_src: LocatedData,
        base_path: Path_,
        over: list[dict[str, Any]],
        over_src: LocatedData,
        over_path: Path_,
        out_path: Path_,
    ) -> list[Any]:
        self.locate(out_path, (over_src, over_path), (base_src, base_path))
        overrides: dict[Any, tuple[int, dict[str, Any]]] = {}
        for i, item in enumerate(over):
            overrides[item["name"]] = (i, item)
        names = [item["name"] for item in base]
        result: list[Any] = []
        for i, item in enumerate(base):
            slot = (*out_path, len(result))
            if item["name"] in overrides:
                j, override = overrides[item["name"]]
                if _removal(override):
                    continue
                result.append(
                    self.merge(
                        item, base_src, (*base_path, i), override, over_src, (*over_path, j), slot
                    )
                )
            else:
                result.append(self.copy(item, base_src, (*base_path, i), slot))
        for j, item in enumerate(over):
            if item["name"] in names:
                continue
            if _removal(item):
                raise InputError(
                    [
                        over_src.problem(
                            (*over_path, j, "name"),
                            f"cannot remove {item['name']!r}: the parent scenario has no such item "
                            f"(it has: {', '.join(map(str, names))})",
                        )
                    ]
                )
            result.append(self.copy(item, over_src, (*over_path, j), (*out_path, len(result))))
        return result


def resolve(source: LocatedData, chain: tuple[Path, ...] = ()) -> LocatedData:
    """Resolve ``extends`` in ``source`` (recursively), returning the merged data."""
    data = source.data
    if "extends" not in data:
        return source
    parent_name = data["extends"]
    here = Path(source.file).resolve()
    if not isinstance(parent_name, str) or not parent_name.strip():
        raise InputError([source.problem(("extends",), "expected the path of a scenario file")])
    try:
        parent_path = (Path(source.file).parent / parent_name).resolve()
    except (OSError, RuntimeError):  # a symbolic link that points back at itself
        raise InputError(
            [
                source.problem(
                    ("extends",),
                    f"parent scenario {excerpt(parent_name)!r} cannot be followed: its "
                    "symbolic links form a loop",
                )
            ]
        ) from None
    chain = (*chain, here)
    if parent_path in chain:
        cycle = " -> ".join(p.name for p in (*chain, parent_path))
        raise InputError([source.problem(("extends",), f"circular extends: {cycle}")])
    if len(chain) > MAX_DEPTH:
        raise InputError(
            [source.problem(("extends",), f"extends is nested more than {MAX_DEPTH} deep")]
        )
    if not parent_path.is_file():
        raise InputError(
            [
                source.problem(
                    ("extends",),
                    f"parent scenario {parent_name!r} {not_a_file(parent_path)}",
                )
            ]
        )
    relative = Path(source.file).parent / parent_name
    parent = resolve(read_yaml_file(relative), chain)
    child = LocatedData(
        {k: v for k, v in data.items() if k != "extends"}, source.lines, source.file
    )
    merger = _Merger()
    merged = merger.merge(parent.data, parent, (), child.data, child, (), ())
    return MergedData(merged, merger.locations, source.file)


def source_files(path: str | Path) -> list[Path]:
    """Every file a scenario is built from: itself, its ``extends`` chain, ``budget_from``.

    Absolute paths, each once, in the order they are met; a file that cannot be read is
    still listed (the manifest records that it had no hash). For tracing results to the
    exact text that produced them.
    """
    found: list[Path] = []
    try:
        pending = [Path(path).resolve()]
    except (OSError, RuntimeError):
        return [Path(path)]
    while pending:
        current = pending.pop(0)
        if current in found:
            continue
        found.append(current)
        try:
            data = read_yaml_file(current).data
        except InputError:
            continue
        money = data.get("money")
        for name in (
            data.get("extends"),
            money.get("budget_from") if isinstance(money, dict) else None,
        ):
            if isinstance(name, str) and name.strip():
                try:
                    pending.append((current.parent / name).resolve())
                except (OSError, RuntimeError):  # a loop of symbolic links: not a file
                    found.append(current.parent / name)
    return found
