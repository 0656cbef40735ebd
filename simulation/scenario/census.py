"""The census file: the patients already in the system when a run starts, read and checked.

A ward's handover board lists who is in each bed, since when, and who is waiting; a
census is that board for the whole footprint on the scenario's start date. Starting from
it replaces an empty start plus a long warm-up: for adult secure care, with stays of
years, it is the only credible start. A census is a CSV file with one row per patient;
the scenario names it (``census: file.csv``, relative to the scenario file) and the
loader reads and checks it here, reporting each bad row with its line and column.
:func:`simulation.model.censusstart.start_census` then places the patients into a fresh
model when it starts (day 0; with a warm-up as well, the census is the state at the
start of the warm-up, a better start than empty, and the warm-up is discarded as usual):

- ``in_bed`` / ``out_of_area``: in a bed since ``since_date``; the rest of the stay is
  drawn from the service's length of stay conditional on the stay so far (one uniform
  from the stream ``census.residual.<pathway>.<service>``), or is over if
  ``ready_date`` is given (a delayed discharge waiting for ``discharge_to``);
- ``waiting``: on the waiting list since ``since_date``, the oldest first; the time
  already waited counts towards the maximum wait before out of area;
- ``assessment``: referred on ``since_date`` and not yet assessed;
- ``community`` / ``diverted``: on a community team's caseload since ``since_date``,
  after a step-down from a bed or as a diversion; the rest of the episode is drawn
  conditional on its length so far;
- ``discharged``: left the pathway on ``since_date`` (home, or at the end of a community
  episode) and not yet referred again: still within the readmission window, such a
  patient is readmitted with the chance that remains, ``p (1 - e/w) / (1 - p e/w)``
  after ``e`` days of a window ``w``, at a time uniform over the rest of the window.
  Without them a run would see no readmissions until its own discharges came round.

A unit holding more census patients than the scenario gives it beds (or a team more
than its places) is not refused: the scenario has cut capacity below the census, and
the model treats the cut as a closure on the start date, taking effect as the patients
leave. A census naming units or teams the scenario lacks (a unit the scenario removed)
is refused with one problem per name and one saying what to do.

Everything else about a census patient (route after the stay, readmission, ...) is
drawn as for any referral, from streams named ``<pathway>.census.*``. This module only
reads and checks the file; it knows nothing of SimPy or the model.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast, get_args

from simulation.core.problems import InputError, Problem
from simulation.core.safetext import excerpt, write_rows
from simulation.scenario import explain
from simulation.scenario.schema import (
    PRIORITIES,
    CensusPatient,
    CensusStatus,
    Priority,
    Scenario,
)
from simulation.scenario.yamlsource import LocatedData

STATUSES: tuple[CensusStatus, ...] = get_args(CensusStatus)
"""Where a census patient is on the start date."""

COLUMNS = (
    "patient_id",
    "pathway",
    "service",
    "home_place",
    "status",
    "priority",
    "unit",
    "team",
    "since_date",
    "ready_date",
    "discharge_to",
    "sex",
    "stream",
    "age_band",
)
"""The census file's columns, in the order written. ``sex``, ``stream`` and ``age_band``
are the patient mix's attributes: blank (or absent) means unknown, drawn from the mix
(for a patient in a bed, among the values its unit takes)."""
REQUIRED_COLUMNS = ("pathway", "service", "home_place", "status", "since_date")
"""Columns that must be present; the others may be left out, and are blank if so."""

CHECKED_AGAINST = ("start_date", "places", "units", "community_teams", "pathways")
"""The scenario fields a census is checked against (its dates, names, beds and places):
a copy of the scenario that changes one of them has its census checked again."""

HOME = "home"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_IN_A_BED = ("in_bed", "out_of_area")
_ON_A_CASELOAD = ("community", "diverted")
_EXTRA = "\0extra"


# -- reading and checking -----------------------------------------------------------------
def parse_date(text: str) -> dt.date | None:
    """A date written as YYYY-MM-DD, or None."""
    if not _DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


@dataclass
class CsvTable:
    """A CSV file's header and its non-blank rows as ``(line, {column: text})``."""

    file: str
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]

    def extra_cells(self, row: dict[str, str]) -> str | None:
        """How many cells a row has beyond the header, if it has too many."""
        return row.get(_EXTRA)


def read_csv(path: str | Path) -> CsvTable:
    """Read a CSV file as text cells, stripped; the header is line 1.

    Raises :class:`InputError` for a file that cannot be read as CSV text.
    """
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        message = f"cannot read the file ({exc.strerror or exc})"
        raise InputError([Problem(name, None, "", message)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = "not UTF-8 text; save the file as CSV (UTF-8)"
        raise InputError([Problem(name, line, "", message)]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
        rows: list[tuple[int, dict[str, str]]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            record = dict(zip(header, (c.strip() for c in cells), strict=False))
            if len(cells) > len(header):
                record[_EXTRA] = f"{len(cells)} cells but the header has {len(header)} columns"
            rows.append((reader.line_num, record))
    except StopIteration:
        raise InputError(
            [Problem(name, None, "", "the file is empty; expected a header row")]
        ) from None
    except csv.Error as exc:
        raise InputError([Problem(name, reader.line_num, "", f"not valid CSV: {exc}")]) from None
    return CsvTable(name, header, rows)


def column_problems(
    file: str, header: list[str], columns: tuple[str, ...], required: tuple[str, ...]
) -> list[Problem]:
    """Unknown, repeated and missing columns of a header (line 1)."""
    problems = []
    expected = f"expected: {', '.join(columns)}"
    unknown = [column for column in header if column not in columns]
    if unknown:
        # One problem however many: a file that is not a census at all (a scenario, a
        # system file) is said to be so once, quoting a short piece of its first line.
        first = excerpt(unknown[0], 40)
        hint = explain.suggest(unknown[0][:100], columns)
        more = len(unknown) - 1
        also = f" and {more} more unknown column{'s' if more != 1 else ''}" if more else ""
        problems.append(Problem(file, 1, first, f"unknown column{hint}{also} ({expected})"))
    for i, column in enumerate(header):
        if column in columns and column in header[:i]:
            problems.append(Problem(file, 1, column, "the column appears twice"))
    missing = [column for column in required if column not in header]
    if missing:
        rest = missing[1:]
        also = f", and {len(rest)} more: {', '.join(rest)}" if rest else ""
        problems.append(Problem(file, 1, missing[0], f"missing column{also} ({expected})"))
    return problems


class _RowChecker:
    """Checks census rows against the scenario, collecting every problem."""

    def __init__(self, file: str, scenario: Scenario):
        self.file = file
        self.scenario = scenario
        self.places = [p.name for p in scenario.places]
        self.units = {u.name: u for u in scenario.units}
        self.teams = {t.name: t for t in scenario.community_teams}
        self.problems: list[Problem] = []
        self.missing: dict[tuple[str, str], list[int]] = {}
        """Unit, team and place names the scenario lacks, with the lines that name them."""
        self.late: dict[str, list[tuple[int, dt.date]]] = {}
        """Date columns' lines and dates on or after the start (one problem for them all)."""

    def fail(self, line: int, column: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, column, message))

    def choice(self, line: int, column: str, value: str, allowed: list[str]) -> bool:
        if value in allowed:
            return True
        if column in ("unit", "team") and value and value not in {*self.units, *self.teams}:
            self.missing.setdefault((column, value), []).append(line)
            return False
        if column == "home_place" and value:
            self.missing.setdefault((column, value), []).append(line)
            return False
        if not allowed:
            self.fail(line, column, f"{value!r} cannot be used: the scenario has none to choose")
        elif not value:
            self.fail(line, column, f"blank; expected one of {', '.join(allowed)}")
        else:
            hint = explain.suggest(value, allowed)
            self.fail(
                line, column, f"unknown {value!r}{hint} (expected one of {', '.join(allowed)})"
            )
        return False

    def days_before_start(self, line: int, column: str, text: str) -> float | None:
        date = parse_date(text)
        if date is None:
            self.fail(line, column, f"expected a date as YYYY-MM-DD, got '{excerpt(text)}'")
            return None
        start = self.scenario.start_date
        if date >= start:
            self.late.setdefault(column, []).append((line, date))
            return None
        return float((start - date).days)

    def check(self, line: int, row: dict[str, str]) -> CensusPatient | None:
        before = len(self.problems)
        if _EXTRA in row:
            self.fail(line, "", row[_EXTRA])
        pathway, service = row.get("pathway", ""), row.get("service", "")
        status = row.get("status", "")
        known_status = self.choice(line, "status", status, list(STATUSES))
        services: list[str] = []
        teams: list[str] = []
        if self.choice(line, "pathway", pathway, list(self.scenario.pathways)):
            services = list(self.scenario.pathways[pathway].services)
            teams = [t for t, spec in self.teams.items() if spec.pathway == pathway]
            if not self.choice(line, "service", service, services):
                services = []
        self.choice(line, "home_place", row.get("home_place", ""), self.places)
        priority = row.get("priority", "") or None
        if priority is not None:
            self.choice(line, "priority", priority, list(PRIORITIES))
        since = self.days_before_start(line, "since_date", row.get("since_date", ""))
        unit = row.get("unit", "") or None
        team = row.get("team", "") or None
        if known_status:
            self._where(line, status, pathway, service, unit, team, bool(services), teams)
        ready: float | None = None
        ready_text = row.get("ready_date", "")
        if ready_text:
            if known_status and status not in _IN_A_BED:
                self.fail(
                    line,
                    "ready_date",
                    f"given for a patient {status}; only a patient in a bed is ready for discharge",
                )
            else:
                ready = self.days_before_start(line, "ready_date", ready_text)
                if ready is not None and since is not None and ready > since:
                    self.fail(
                        line,
                        "ready_date",
                        "before since_date (the admission); a patient is ready for discharge "
                        "only after being admitted",
                    )
        discharge_to = row.get("discharge_to", "") or None
        if discharge_to is not None:
            if not ready_text:
                self.fail(
                    line,
                    "discharge_to",
                    "given without ready_date; only a patient ready for discharge has a "
                    "destination",
                )
            elif services:
                destinations = [HOME, *(s for s in services if s != service), *teams]
                self.choice(line, "discharge_to", discharge_to, destinations)
        attributes = self._attributes(line, row, pathway, unit, status)
        if len(self.problems) > before or since is None:
            return None
        return CensusPatient(
            line=line,
            patient_id=row.get("patient_id", "") or f"line {line}",
            pathway=pathway,
            service=service,
            home_place=row["home_place"],
            status=cast(CensusStatus, status),
            priority=cast(Priority | None, priority),
            unit=unit,
            team=team,
            since_days=since,
            ready_days=ready,
            discharge_to=discharge_to,
            sex=attributes[0],
            stream=attributes[1],
            age_band=attributes[2],
        )

    def _attributes(
        self, line: int, row: dict[str, str], pathway: str, unit: str | None, status: str
    ) -> tuple[str | None, str | None, str | None]:
        """Sex, stream and age band, each one the pathway's mix draws and the unit takes."""
        spec = self.scenario.pathways.get(pathway)
        found: list[str | None] = []
        for column, field, unit_field in (
            ("sex", "sex", "sex"),
            ("stream", "streams", "streams"),
            ("age_band", "age_bands", "age_bands"),
        ):
            value = row.get(column, "") or None
            found.append(value)
            if value is None or spec is None:
                continue
            drawn = list(getattr(spec.patient_mix, field))
            if not drawn:
                self.fail(
                    line,
                    column,
                    f"{value!r} given, but pathways.{pathway}.patient_mix has no {field}; "
                    "leave the column blank or give the shares",
                )
                continue
            if not self.choice(line, column, value, drawn):
                continue
            spec_unit = self.units.get(unit) if unit is not None and status == "in_bed" else None
            if spec_unit is not None:
                takes = getattr(spec_unit, unit_field)
                refused = (
                    takes != "any" and value != takes
                    if column == "sex"
                    else (bool(takes) and value not in takes)
                )
                if refused:
                    self.fail(
                        line,
                        column,
                        f"{spec_unit.name} does not take {column.replace('_', ' ')} {value!r} "
                        f"(it takes {takes if isinstance(takes, str) else ', '.join(takes)})",
                    )
        return found[0], found[1], found[2]

    def _where(
        self,
        line: int,
        status: str,
        pathway: str,
        service: str,
        unit: str | None,
        team: str | None,
        service_known: bool,
        teams: list[str],
    ) -> None:
        """The unit of a patient in a bed, the team of one on a caseload, and nothing else."""
        if status == "in_bed":
            own = [
                u.name for u in self.units.values() if (u.pathway, u.service) == (pathway, service)
            ]
            if unit is None:
                self.fail(
                    line, "unit", f"blank; a patient in_bed needs the unit ({', '.join(own)})"
                )
            elif service_known:
                self.choice(line, "unit", unit, own)
        elif unit is not None:
            self.fail(
                line, "unit", f"given for a patient {status}; only in_bed patients have a unit"
            )
        if status in _ON_A_CASELOAD:
            if team is None:
                self.fail(
                    line, "team", f"blank; a patient {status} needs the team ({', '.join(teams)})"
                )
            elif pathway in self.scenario.pathways:
                self.choice(line, "team", team, teams)
        elif team is not None:
            self.fail(
                line,
                "team",
                f"given for a patient {status}; only community or diverted patients have a team",
            )

    def late_dates(self) -> None:
        """One problem per date column with dates on or after the start, however many rows.

        A census made for an earlier start date has every date late: one line says so,
        rather than one a patient.
        """
        start = self.scenario.start_date
        why = "the census is the state at the start, so every date in it is earlier"
        for column, late in self.late.items():
            lines = [line for line, _ in late]
            if len(late) == 1:
                self.fail(
                    lines[0], column, f"{late[0][1]} is not before the start date {start}; {why}"
                )
                continue
            self.fail(
                lines[0],
                column,
                f"{len(late)} rows have a date on or after the start date {start} (lines "
                f"{_lines(lines)}); {why}",
            )

    def missing_names(self) -> None:
        """One problem per unit, team or place the scenario lacks, and one saying what to do.

        A name on one row only is likely a typo and is reported on its row with the
        nearest name; a name on many rows is a unit, team or place the scenario removed
        or renamed.
        """
        if not self.missing:
            return
        removed = False
        for (column, name), lines in self.missing.items():
            if column == "home_place":
                allowed, what = self.places, "place"
            else:
                allowed, what = list(self.units if column == "unit" else self.teams), column
            shown_name = excerpt(name)
            if len(lines) == 1:
                hint = explain.suggest(name, allowed)
                self.fail(
                    lines[0],
                    column,
                    f"unknown '{shown_name}'{hint} (expected one of {', '.join(allowed)})"
                    if allowed
                    else f"'{shown_name}' cannot be used: the scenario has no {what}s",
                )
                continue
            removed = True
            self.fail(
                lines[0],
                column,
                f"'{shown_name}' is not a {what} of this scenario, and {len(lines)} rows name "
                f"it (lines {_lines(lines)})",
            )
        if not removed:
            return
        self.problems.append(
            Problem(
                self.file,
                None,
                "",
                "this census names units, teams or places the scenario does not have, as "
                "when a scenario removes a unit from the one the census was made for: set "
                "`census: null` and a `warmup_days` to start empty, or make a census for this "
                "scenario (python -m calibration.warmstart SCENARIO --warmup-days DAYS --out "
                "FILE)",
            )
        )


def _lines(lines: list[int]) -> str:
    """The first few of many line numbers, as a message quotes them."""
    return ", ".join(str(n) for n in lines[:5]) + (", ..." if len(lines) > 5 else "")


def read_census(path: str | Path, scenario: Scenario) -> tuple[CensusPatient, ...]:
    """Read and check a census file against ``scenario``.

    Raises :class:`InputError` with one problem per bad cell (file, line, column).
    """
    table = read_csv(path)
    problems = column_problems(table.file, table.header, COLUMNS, REQUIRED_COLUMNS)
    if problems:
        raise InputError(problems)
    checker = _RowChecker(table.file, scenario)
    patients = [p for line, row in table.rows if (p := checker.check(line, row)) is not None]
    checker.late_dates()
    checker.missing_names()
    if checker.problems:
        raise InputError(checker.problems)
    return tuple(patients)


def resolve_census_path(source: LocatedData) -> None:
    """Make ``census`` an absolute path, relative to the file that named it.

    Done before validation, so that the scenario holds a path that means the same
    wherever it is written out and read back (a results folder, a resumed run).
    """
    data = source.data
    name = data.get("census") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name.strip() or Path(name).is_absolute():
        return
    folder = Path(source.problem(("census",), "").file).parent
    source.data = {**data, "census": str(Path(os.path.abspath(folder / name)))}


def write_census(path: str | Path, rows: list[dict[str, str]]) -> None:
    """Write census rows (``{column: text}``) as a CSV file with every column."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        write_rows(handle, COLUMNS, ({c: row.get(c, "") for c in COLUMNS} for row in rows))
