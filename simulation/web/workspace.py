"""The workspace: the one folder the web page reads and writes.

A workspace holds ordinary files, so that what the page makes runs from the command
line too::

    <workspace>/examples/    the shipped scenarios, copied in on first start (read only here)
    <workspace>/scenarios/   the planner's own scenarios, one YAML file each
    <workspace>/results/     results folders, as ``pathways run --out`` writes them
    <workspace>/jobs.sqlite  the job store (:mod:`simulation.web.jobs`)

Every file a scenario names (``extends``, ``money.budget_from``, ``census``) must lie
inside the workspace: a reference that leaves it (``extends: ../../x.yaml``,
``census: /etc/passwd``) is a problem of that field, found before the file is read.
Scenario names become file names only when they are plain lower-case words
(:data:`NAME_PATTERN`), so no name from a form or an upload can reach another folder.
"""

from __future__ import annotations

import fcntl
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from simulation.core.problems import InputError, Problem
from simulation.scenario.loading import load_scenario, load_scenario_text
from simulation.scenario.schema import Scenario
from simulation.scenario.yamlsource import LocatedData, parse_yaml, read_yaml_file
from simulation.store.staging import atomic_create, atomic_write

EXAMPLES = "examples"
SCENARIOS = "scenarios"
RESULTS = "results"
JOBS = "jobs.sqlite"
LOCK = ".serve.lock"

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
"""A scenario name the page accepts: it is also the file's name, so no dots or slashes."""

NAME_RULE = "use 1 to 60 lower-case letters, digits, '-' or '_', starting with a letter or digit"

MAX_SCENARIO_BYTES = 256 * 1024
"""The largest scenario file accepted from a form or an upload."""

REFERENCES: tuple[tuple[str, ...], ...] = (("extends",), ("money", "budget_from"), ("census",))
"""The fields that name other files."""


def shipped_scenarios() -> Path | None:
    """The ``scenarios/`` folder beside the package, in a source checkout or image."""
    folder = Path(__file__).resolve().parents[2] / "scenarios"
    return folder if folder.is_dir() else None


class WorkspaceBusy(Exception):
    """Another ``pathways serve`` is running jobs from this workspace."""


@dataclass(frozen=True)
class Entry:
    """A scenario file in the library."""

    name: str
    path: Path
    shipped: bool
    description: str
    problem: str | None


class Workspace:
    """The workspace folder (see module doc); created, with the examples, on first use."""

    def __init__(self, root: str | Path, examples: Path | None = None):
        self.root = Path(root).resolve()
        self.examples = self.root / EXAMPLES
        self.scenarios = self.root / SCENARIOS
        self.results = self.root / RESULTS
        self.jobs = self.root / JOBS
        for folder in (self.root, self.scenarios, self.results):
            folder.mkdir(parents=True, exist_ok=True)
        source = examples if examples is not None else shipped_scenarios()
        if not self.examples.is_dir() and source is not None:
            staging = self.root / f".{EXAMPLES}.copying"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(
                source, staging, ignore=shutil.ignore_patterns("*.md", ".*", "__pycache__")
            )
            staging.rename(self.examples)
        self.examples.mkdir(exist_ok=True)

    def hold(self) -> TextIO:
        """Hold the workspace's lock while jobs run from it; :class:`WorkspaceBusy` if held.

        Two servers over one workspace would run the same job twice. The lock is the
        operating system's: it goes with the process, however that ends.
        """
        handle = open(self.root / LOCK, "w", encoding="utf-8")  # noqa: SIM115 - held open
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise WorkspaceBusy(
                f"another pathways serve is running jobs from {self.root}; stop it first, "
                "or give another --workspace"
            ) from None
        return handle

    # -- names and paths -------------------------------------------------------------

    def inside(self, path: Path) -> bool:
        """Whether ``path`` (symbolic links followed) lies inside the workspace."""
        return path.resolve().is_relative_to(self.root)

    def scenario_path(self, name: str) -> Path:
        """The file of a scenario in the library; ``KeyError`` if there is none."""
        if NAME_PATTERN.match(name):
            for folder in (self.scenarios, self.examples):
                path = folder / f"{name}.yaml"
                if path.is_file() and self.inside(path):
                    return path
        raise KeyError(name)

    def is_shipped(self, path: Path) -> bool:
        """Whether a scenario file is one of the shipped examples (not editable here)."""
        return path.resolve().parent == self.examples.resolve()

    def relative(self, path: Path) -> str:
        """A workspace file's path as the page and the job store name it."""
        return path.resolve().relative_to(self.root).as_posix()

    def names(self) -> list[str]:
        """Every scenario's name, the planner's own first, without loading any."""
        return [
            path.stem
            for folder in (self.scenarios, self.examples)
            for path in sorted(folder.glob("*.yaml"))
            if NAME_PATTERN.match(path.stem) and self.inside(path)
        ]

    def library(self) -> list[Entry]:
        """Every scenario, the planner's own first, each with its first problem if any."""
        entries = []
        for folder in (self.scenarios, self.examples):
            for path in sorted(folder.glob("*.yaml")):
                if not NAME_PATTERN.match(path.stem) or not self.inside(path):
                    continue
                problem, description = None, ""
                try:
                    scenario = self.load(path)
                    description = scenario.description
                except InputError as error:
                    problem = self.shown(error.problems[0])
                entries.append(Entry(path.stem, path, self.is_shipped(path), description, problem))
        return entries

    def shown(self, problem: Problem) -> str:
        """A problem as the page shows it: workspace files relative to the workspace.

        Its file, and any path to a workspace file in its message (a parent scenario
        looked for), lose the server's folders: a planner sees ``scenarios/mine.yaml``.
        """
        file = Path(problem.file)
        if file.is_absolute():
            inside = self.inside(file)
            problem = replace(problem, file=self.relative(file) if inside else file.name)
        root = str(self.root.resolve())
        return str(problem).replace(root + "/", "")

    # -- checking and loading --------------------------------------------------------

    def reference_problems(self, source: LocatedData) -> list[Problem]:
        """Problems of references in ``source`` that leave the workspace, or do not exist.

        Follows ``extends`` and ``money.budget_from`` through their files (each checked
        before it is read), so that no file outside the workspace is ever opened.
        """
        problems: list[Problem] = []
        pending: list[LocatedData] = [source]
        seen: set[Path] = set()
        while pending and not problems:
            current = pending.pop()
            folder = Path(current.file).parent
            for field, value in _references(current.data):
                target = folder / value
                if not self.inside(target):
                    problems.append(
                        current.problem(
                            field,
                            f"{value!r} is outside the workspace; name a file in the "
                            f"workspace, relative to this file (for example "
                            f"../{EXAMPLES}/baseline.yaml)",
                        )
                    )
                    continue
                resolved = target.resolve()
                if field != ("census",) and resolved.is_file() and resolved not in seen:
                    seen.add(resolved)
                    pending.append(read_yaml_file(target))
        return problems

    def load(self, path: Path) -> Scenario:
        """Load a workspace scenario file, refusing references that leave the workspace."""
        if not self.inside(path):
            raise InputError([Problem(str(path), None, "", "is outside the workspace")])
        problems = self.reference_problems(read_yaml_file(path))
        if problems:
            raise InputError(problems)
        return load_scenario(path)

    def check_text(self, text: str, path: Path) -> Scenario:
        """Validate YAML text as if it were the file ``path``; nothing is written.

        Raises :class:`InputError` with the same problems ``pathways validate`` gives,
        plus any reference that leaves the workspace.
        """
        if len(text.encode("utf-8")) > MAX_SCENARIO_BYTES:
            raise InputError(
                [
                    Problem(
                        path.name,
                        None,
                        "",
                        f"the file is larger than {MAX_SCENARIO_BYTES // 1024} KB; a scenario "
                        "is a few KB of YAML",
                    )
                ]
            )
        problems = self.reference_problems(parse_yaml(text, str(path)))
        if problems:
            raise InputError(problems)
        return load_scenario_text(text, str(path))

    def save(self, name: str, text: str, new: bool = False) -> Path:
        """Validate and write the planner's scenario ``name``; nothing is written if invalid.

        The scenario's own ``name`` must be the file's name, so that a results folder
        and the file it came from share it. ``new``: only if no scenario of that name
        exists, decided as the file is made (two requests racing cannot both make it).
        """
        if not NAME_PATTERN.match(name):
            raise InputError([Problem("name", None, "", name_problem(name))])
        path = self.scenarios / f"{name}.yaml"
        scenario = self.check_text(text, path)
        if scenario.name != name:
            raise InputError(
                [
                    Problem(
                        path.name,
                        None,
                        "name",
                        f"the scenario is named {scenario.name!r} but saved as {name!r}; "
                        "give both the same name",
                    )
                ]
            )
        if (self.examples / f"{name}.yaml").is_file():
            raise InputError(
                [
                    Problem(
                        path.name,
                        None,
                        "name",
                        f"{name!r} is the name of a shipped example; choose another",
                    )
                ]
            )
        if not new:
            atomic_write(path, text.encode("utf-8"))
            return path
        try:
            atomic_create(path, text.encode("utf-8"))
        except FileExistsError:
            raise InputError(
                [Problem("name", None, "", f"a scenario named {name!r} exists")]
            ) from None
        return path

    def dependants(self, name: str) -> list[str]:
        """The planner's scenarios built on ``name``, through ``extends`` or ``budget_from``.

        At any depth (a scenario that extends one that extends ``name``), found from each
        file's own references: no file outside the workspace is read.
        """
        target = self.scenario_path(name).resolve()
        named: dict[Path, set[Path]] = {}
        for path in sorted(self.scenarios.glob("*.yaml")):
            if not NAME_PATTERN.match(path.stem) or not self.inside(path):
                continue
            try:
                data = read_yaml_file(path).data
            except InputError:
                continue
            targets = set()
            for field, value in _references(data):
                if field != ("census",):
                    try:
                        targets.add((path.parent / value).resolve())
                    except (OSError, RuntimeError):  # a loop of symbolic links
                        continue
            named[path.resolve()] = targets
        found: set[Path] = set()
        frontier = {target}
        while frontier:
            frontier = {
                p for p, targets in named.items() if targets & frontier and p not in found
            } - {target}
            found |= frontier
        return sorted(p.stem for p in found)

    def delete(self, name: str) -> None:
        """Remove one of the planner's scenarios (never a shipped example).

        Refused (:class:`InputError`) while other scenarios are built on it.
        """
        path = self.scenario_path(name)
        if self.is_shipped(path):
            raise KeyError(name)
        built_on = self.dependants(name)
        if built_on:
            raise InputError(
                [
                    Problem(
                        name,
                        None,
                        "",
                        f"{', '.join(built_on)} {'is' if len(built_on) == 1 else 'are'} built "
                        "on it (extends it or takes its budget); delete or change "
                        f"{'that' if len(built_on) == 1 else 'those'} first",
                    )
                ]
            )
        path.unlink()


def _references(data: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """Each field of :data:`REFERENCES` that a scenario's own data sets, with the file named."""
    for field in REFERENCES:
        value: Any = data if isinstance(data, dict) else {}
        for key in field:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str) and value.strip():
            yield field, value


def name_problem(name: str) -> str:
    """Why ``name`` cannot name a scenario in the library."""
    shown = name if len(name) <= 80 else name[:77] + "..."
    return f"{shown!r} cannot be a scenario's name here: {NAME_RULE}"


def upload_name(filename: str | None, text: str) -> str:
    """The library name of an uploaded file: its ``name`` field, else the file's stem."""
    try:
        data = parse_yaml(text, filename or "upload").data
    except InputError:
        data = None
    name = data.get("name") if isinstance(data, dict) else None
    if isinstance(name, str):
        return name
    return Path(filename or "").stem
