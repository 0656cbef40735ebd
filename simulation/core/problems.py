"""Problems with user input, and the error that carries them.

A planner's mistake is never a traceback. Every check that can fail on user input
(a scenario file, a command-line value) records a :class:`Problem` naming the file,
the line, the field and what was expected; loading collects all of them and raises one
:class:`InputError`, which the CLI prints one line per problem before exiting with
status 2. Nothing in this module touches the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulation.core.safetext import printable


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        # One line, with any control character from the input shown as an escape, so
        # that a YAML key or CSV header cannot repaint the terminal or forge a line.
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        return printable(f"{where}:{field} {self.message}", keep_newlines=False)


class InputError(Exception):
    """Raised when user input is invalid; holds every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
