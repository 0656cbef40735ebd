"""The extract: a collaborative's referrals and spells, one row per referral, checked.

An extract is what a collaborative's information team can pull from its records: for
each referral, who (pseudonymous ids), what (pathway, service, home place, source,
priority), and the dates of what has happened to it so far (decision, admission,
repatriation, ready for discharge, discharge), blank where it has not happened by the
extract date. A step-down from one bed to another is a referral of its own (source
``step_down``). The schema is :data:`COLUMNS`; ``calibration/README.md`` documents it.

An extract covers a *period*: every referral made from its start to the extract date,
plus every referral still open at its start (a patient in a bed, on the waiting list or
in assessment), so that a stay that began years earlier is seen too, entering late.

:func:`read_extract` reads a CSV or parquet file and checks every row against the
schema and the base scenario (its places, services, units and teams). Each problem is
reported with the row number (as a spreadsheet shows it: the header is row 1) and the
column, saying what was expected. Nothing is dropped silently: with ``drop_bad_rows``
the bad rows are left out and counted, otherwise any problem stops the calibration.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd

from simulation.core.problems import InputError, Problem
from simulation.core.safetext import excerpt
from simulation.model.records import Decision, Source
from simulation.model.resources import OUT_OF_AREA
from simulation.scenario import explain
from simulation.scenario.census import CsvTable, column_problems, parse_date, read_csv
from simulation.scenario.schema import FIRST_START, LAST_START, PRIORITIES, Scenario


@dataclass(frozen=True)
class Column:
    """One column of the extract."""

    name: str
    required: bool
    meaning: str


COLUMNS = (
    Column("referral_id", True, "pseudonymous id of the referral; unique"),
    Column("patient_id", True, "pseudonymous id of the patient; the same on every referral"),
    Column("pathway", True, "adult_secure, camhs_t4 or adult_ed"),
    Column("service", True, "the bed type referred to (for a step-down: stepped down to)"),
    Column("home_place", True, "the place the patient lives in (a place of the scenario)"),
    Column("source", True, "new, readmission (of a discharged inpatient) or step_down"),
    Column("priority", False, "urgent or routine"),
    Column("referral_date", True, "date referred (for a step-down: date ready to step down)"),
    Column("decision", True, "accepted, not_accepted or diverted; blank: not yet decided"),
    Column("decision_date", False, "date of the decision"),
    Column("admission_date", True, "date admitted to a bed; blank: not admitted"),
    Column("admitted_to", True, "unit name, or out_of_area; blank if not admitted"),
    Column("repatriation_date", False, "date moved from out of area to a footprint unit"),
    Column("repatriated_to", False, "the unit repatriated to"),
    Column("withdrawn_date", False, "date the referral was closed while waiting for a bed"),
    Column("ready_date", True, "date clinically ready for discharge"),
    Column("discharge_date", True, "date discharged from the bed"),
    Column("discharge_to", True, "home, a service of the pathway (step-down bed) or a team"),
    Column("sex", False, "male or female; blank: unknown"),
    Column("stream", False, "clinical stream (e.g. mental_illness); blank: unknown"),
    Column("age_band", False, "age band where the pathway splits by age; blank: unknown"),
)
"""The extract's columns, in order. Dates are written YYYY-MM-DD."""

COLUMN_NAMES = tuple(c.name for c in COLUMNS)
REQUIRED = tuple(c.name for c in COLUMNS if c.required)
DATE_COLUMNS = (
    "referral_date",
    "decision_date",
    "admission_date",
    "repatriation_date",
    "withdrawn_date",
    "ready_date",
    "discharge_date",
)
SOURCES: tuple[Source, ...] = tuple(s for s in get_args(Source) if s != "transfer_at_18")
"""An extract's sources: a young person transferred to adult services at 18 is a new
referral there, as services record it."""
DECISIONS: tuple[Decision, ...] = ("accepted", "not_accepted", "diverted")
HOME = "home"
MIX_COLUMNS = ("sex", "stream", "age_band")
"""The patient mix's columns: optional, blank where unknown."""
SEXES = ("male", "female")


@dataclass
class Extract:
    """A checked extract: one row per referral, dates as numpy dates, and its period."""

    file: str
    rows: pd.DataFrame
    """One row per referral; date columns are ``datetime64[D]`` (NaT when blank); the
    column ``line`` is the row number in the file."""
    start: dt.date
    """First day of the period (referrals from this day on are all in the extract)."""
    extract_date: dt.date
    """Last day the extract covers."""
    start_inferred: bool = False
    extract_date_inferred: bool = False
    dropped: list[Problem] = field(default_factory=list)
    """Problems of the rows left out with ``drop_bad_rows`` (empty otherwise)."""
    dropped_rows: int = 0

    @property
    def end(self) -> dt.date:
        """First day after the extract: the start date of a run from its census."""
        return self.extract_date + dt.timedelta(days=1)

    @property
    def period_days(self) -> int:
        """Days from the start to the end of the period."""
        return (self.end - self.start).days

    def day(self, column: str) -> np.ndarray:
        """A date column as days from the period start (float; NaN when blank)."""
        values = self.rows[column].to_numpy(dtype="datetime64[D]")
        origin = np.datetime64(self.start, "D")
        days = (values - origin).astype("timedelta64[D]").astype(float)
        days[np.isnat(values)] = np.nan
        return days


# -- reading ---------------------------------------------------------------------------
def _read_table(path: Path) -> CsvTable:
    """A CSV or parquet file as text cells with row numbers (header = row 1)."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return read_csv(path)
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except (OSError, ValueError) as exc:
        raise InputError([Problem(str(path), None, "", f"cannot read parquet: {exc}")]) from None
    header = [str(c) for c in frame.columns]
    rows: list[tuple[int, dict[str, str]]] = []
    for i, values in enumerate(frame.itertuples(index=False, name=None)):
        rows.append((i + 2, {c: _text(v) for c, v in zip(header, values, strict=True)}))
    return CsvTable(str(path), header, rows)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


# -- checking --------------------------------------------------------------------------
class _Checker:
    """Row-by-row checks against the schema and the base scenario."""

    def __init__(self, file: str, base: Scenario):
        self.file = file
        self.base = base
        self.places = [p.name for p in base.places]
        self.units = {u.name: u for u in base.units}
        self.teams = {t.name: t for t in base.community_teams}
        self.problems: dict[int, list[Problem]] = {}

    def fail(self, line: int, column: str, message: str) -> None:
        self.problems.setdefault(line, []).append(Problem(self.file, line, column, message))

    def one_of(self, line: int, column: str, value: str, allowed: list[str], what: str) -> bool:
        if value in allowed:
            return True
        listed = ", ".join(allowed) if allowed else "none"
        if not value:
            self.fail(line, column, f"blank; expected {what}: {listed}")
        else:
            hint = explain.suggest(value, allowed)
            self.fail(line, column, f"unknown {what} {value!r}{hint} (expected one of {listed})")
        return False

    def dates(self, line: int, row: dict[str, str]) -> dict[str, dt.date]:
        found: dict[str, dt.date] = {}
        for column in DATE_COLUMNS:
            text = row.get(column, "")
            if not text:
                continue
            date = parse_date(text)
            if date is None:
                self.fail(line, column, f"expected a date as YYYY-MM-DD, got '{excerpt(text)}'")
            elif not FIRST_START <= date <= LAST_START:
                self.fail(
                    line,
                    column,
                    f"{date} is outside the dates a scenario can start on "
                    f"({FIRST_START} to {LAST_START}); is the year mistyped?",
                )
            else:
                found[column] = date
        return found

    def row(self, line: int, row: dict[str, str]) -> dict[str, dt.date]:
        """Check one row; return its dates (those that could be read)."""
        for column in ("referral_id", "patient_id"):
            if not row.get(column, ""):
                self.fail(line, column, "blank; every row needs a pseudonymous id")
        pathway = row.get("pathway", "")
        service = row.get("service", "")
        services: list[str] = []
        teams: list[str] = []
        if self.one_of(line, "pathway", pathway, list(self.base.pathways), "pathway"):
            services = list(self.base.pathways[pathway].services)
            teams = [t for t, spec in self.teams.items() if spec.pathway == pathway]
            if not self.one_of(line, "service", service, services, f"service of {pathway}"):
                services = []
        self.one_of(line, "home_place", row.get("home_place", ""), self.places, "place")
        source = row.get("source", "")
        self.one_of(line, "source", source, list(SOURCES), "source")
        if row.get("priority", ""):
            self.one_of(line, "priority", row["priority"], list(PRIORITIES), "priority")
        if row.get("sex", ""):
            self.one_of(line, "sex", row["sex"], list(SEXES), "sex")
        decision = row.get("decision", "")
        if decision:
            self.one_of(line, "decision", decision, list(DECISIONS), "decision")
        dates = self.dates(line, row)
        if "referral_date" not in dates and not row.get("referral_date", ""):
            self.fail(line, "referral_date", "blank; every referral has a referral date")
        if source == "step_down" and decision not in ("", "accepted"):
            self.fail(line, "decision", f"{decision!r} for a step-down; a step-down is accepted")
        self._decision(line, row, decision, dates)
        self._admission(line, row, pathway, service, bool(services), dates)
        self._discharge(line, row, service, services, teams, dates)
        self._order(line, dates)
        return dates

    def _needs(
        self, line: int, column: str, given: bool, needed: bool, why: str, missing: str
    ) -> None:
        if given and not needed:
            self.fail(line, column, why)
        elif needed and not given:
            self.fail(line, column, missing)

    def _decision(
        self, line: int, row: dict[str, str], decision: str, dates: dict[str, dt.date]
    ) -> None:
        has = row.get("decision_date", "") != ""
        if has and not decision:
            self.fail(line, "decision_date", "given but decision is blank; give the decision too")
        withdrawn = row.get("withdrawn_date", "") != ""
        if withdrawn and decision != "accepted":
            self.fail(
                line,
                "withdrawn_date",
                "given for a referral not accepted; only a referral on the waiting list "
                "can be withdrawn",
            )
        if withdrawn and row.get("admission_date", ""):
            self.fail(line, "withdrawn_date", "given for a patient who was admitted")

    def _admission(
        self,
        line: int,
        row: dict[str, str],
        pathway: str,
        service: str,
        service_known: bool,
        dates: dict[str, dt.date],
    ) -> None:
        admitted = row.get("admission_date", "") != ""
        decision = row.get("decision", "")
        if admitted and decision != "accepted":
            what = f"decision is {decision!r}" if decision else "the decision is blank"
            self.fail(
                line, "admission_date", f"given but {what}; only accepted referrals are admitted"
            )
        where = row.get("admitted_to", "")
        self._needs(
            line,
            "admitted_to",
            where != "",
            admitted,
            "given without an admission_date",
            "blank; an admitted patient was admitted to a unit or out_of_area",
        )
        own = [u.name for u in self.units.values() if (u.pathway, u.service) == (pathway, service)]
        if where and service_known:
            self.one_of(line, "admitted_to", where, [*own, OUT_OF_AREA], f"unit of {service}")
        repatriated = row.get("repatriation_date", "") != ""
        to = row.get("repatriated_to", "")
        if repatriated and where and where != OUT_OF_AREA:
            self.fail(line, "repatriation_date", "given for a patient admitted in area")
        self._needs(
            line,
            "repatriated_to",
            to != "",
            repatriated,
            "given without a repatriation_date",
            "blank; name the unit the patient was repatriated to",
        )
        if to and service_known:
            self.one_of(line, "repatriated_to", to, own, f"unit of {service}")

    def _discharge(
        self,
        line: int,
        row: dict[str, str],
        service: str,
        services: list[str],
        teams: list[str],
        dates: dict[str, dt.date],
    ) -> None:
        admitted = row.get("admission_date", "") != ""
        ready = row.get("ready_date", "") != ""
        discharged = row.get("discharge_date", "") != ""
        if ready and not admitted:
            self.fail(line, "ready_date", "given without an admission_date")
        if discharged and not admitted:
            self.fail(line, "discharge_date", "given without an admission_date")
        elif discharged and not ready:
            self.fail(
                line,
                "ready_date",
                "blank but the patient was discharged; give the date the patient was "
                "clinically ready (the discharge date if there was no delay)",
            )
        to = row.get("discharge_to", "")
        self._needs(
            line,
            "discharge_to",
            to != "",
            discharged,
            "given without a discharge_date",
            "blank; say where the patient went: home, a step-down service or a team",
        )
        if to and services:
            destinations = [HOME, *(s for s in services if s != service), *teams]
            self.one_of(line, "discharge_to", to, destinations, "destination")

    def _order(self, line: int, dates: dict[str, dt.date]) -> None:
        chain = [
            ("referral_date", "decision_date", "decided before it was referred"),
            ("referral_date", "admission_date", "admitted before it was referred"),
            ("decision_date", "admission_date", "admitted before the decision"),
            ("decision_date", "withdrawn_date", "withdrawn before the decision"),
            ("referral_date", "withdrawn_date", "withdrawn before it was referred"),
            ("admission_date", "repatriation_date", "repatriated before admission"),
            ("admission_date", "ready_date", "ready for discharge before admission"),
            (
                "repatriation_date",
                "ready_date",
                "ready before repatriation (a patient ready for discharge is not repatriated)",
            ),
            ("admission_date", "discharge_date", "discharge before admission"),
            ("ready_date", "discharge_date", "discharged before ready for discharge"),
        ]
        for earlier, later, what in chain:
            if earlier in dates and later in dates and dates[later] < dates[earlier]:
                self.fail(
                    line,
                    later,
                    f"{dates[later]} is before {earlier} {dates[earlier]}: {what}",
                )


def _closed_on(row: dict[str, str], dates: dict[str, dt.date]) -> dt.date | None:
    """The date a referral stopped being open (in assessment, waiting or in a bed)."""
    if "discharge_date" in dates:
        return dates["discharge_date"]
    if "withdrawn_date" in dates:
        return dates["withdrawn_date"]
    if row.get("decision", "") in ("not_accepted", "diverted"):
        return dates.get("decision_date", dates.get("referral_date"))
    return None


def infer_start(opened_and_closed: list[tuple[dt.date, dt.date | None]], end: dt.date) -> dt.date:
    """The period start implied by an extract's rows, to the first of its month.

    Every row of an extract is referred in the period or still open at its start, so
    the start is at most ``max(referral, closed)`` of every row; the earliest such date,
    taken back to the first of its month, is the start of a period that begins on the
    first of a month.
    """
    bound = min(max(r, c if c is not None else end) for r, c in opened_and_closed)
    return bound.replace(day=1)


EXTRACT_DATE_GRACE_DAYS = 14
"""How far an extract date may lie after the last date in the extract (quiet days happen)."""


def read_extract(
    path: str | Path,
    base: Scenario,
    start: dt.date | None = None,
    extract_date: dt.date | None = None,
    drop_bad_rows: bool = False,
) -> Extract:
    """Read and check an extract (CSV or parquet) against the base scenario.

    ``start`` and ``extract_date`` bound the period; by default the extract date is the
    latest date in the extract and the start is inferred (see :func:`infer_start`).
    Raises :class:`InputError` listing every problem, unless ``drop_bad_rows``, in which
    case rows with problems are left out and counted in the result.
    """
    path = Path(path)
    table = _read_table(path)
    problems = column_problems(table.file, table.header, COLUMN_NAMES, REQUIRED)
    if problems:
        raise InputError(problems)
    if not table.rows:
        raise InputError([Problem(table.file, None, "", "the extract has no rows")])
    checker = _Checker(table.file, base)
    seen: dict[str, int] = {}
    all_dates: dict[int, dict[str, dt.date]] = {}
    for line, row in table.rows:
        extra = table.extra_cells(row)
        if extra is not None:
            checker.fail(line, "", extra)
        all_dates[line] = checker.row(line, row)
        rid = row.get("referral_id", "")
        if rid in seen:
            checker.fail(line, "referral_id", f"{rid!r} is used twice (first on row {seen[rid]})")
        elif rid:
            seen[rid] = line
    latest = max((d for dates in all_dates.values() for d in dates.values()), default=None)
    if latest is None:
        raise InputError([Problem(table.file, None, "", "the extract has no dates")])
    if extract_date is not None and (extract_date - latest).days > EXTRACT_DATE_GRACE_DAYS:
        raise InputError(
            [
                Problem(
                    table.file,
                    None,
                    "",
                    f"the extract date {extract_date} is after the extract's last date "
                    f"({latest}), so the months between would count as months without "
                    f"referrals; give an extract date no later than {latest} (or the day "
                    "the extract was really taken)",
                )
            ]
        )
    inferred_end = extract_date is None
    end = extract_date if extract_date is not None else latest
    for line, dates in all_dates.items():
        for column, date in dates.items():
            if date > end:
                checker.fail(line, column, f"{date} is after the extract date {end}")
    by_line = dict(table.rows)
    inferred_start = start is None
    if start is None:
        spans = [
            (dates["referral_date"], _closed_on(by_line[line], dates))
            for line, dates in all_dates.items()
            if "referral_date" in dates and line not in checker.problems
        ]
        start = infer_start(spans, end) if spans else end
    if start > end:
        raise InputError(
            [
                Problem(
                    table.file,
                    None,
                    "",
                    f"the period start {start} is after the extract date {end}",
                )
            ]
        )
    for line, dates in all_dates.items():
        closed = _closed_on(by_line[line], dates)
        referred = dates.get("referral_date")
        if referred is not None and referred < start and closed is not None and closed < start:
            checker.fail(
                line,
                "referral_date",
                f"{referred} is before the period start {start} and the referral closed on "
                f"{closed}, also before it; an extract holds the referrals made in its period "
                "and those still open at its start (give an earlier --start?)",
            )
    bad = sorted(checker.problems)
    problems = [p for line in bad for p in checker.problems[line]]
    if problems and not drop_bad_rows:
        raise InputError(problems)
    keep = [(line, row) for line, row in table.rows if line not in checker.problems]
    if not keep:
        raise InputError([*problems, Problem(table.file, None, "", "no row is free of problems")])
    frame = _frame(keep)
    return Extract(
        file=table.file,
        rows=frame,
        start=start,
        extract_date=end,
        start_inferred=inferred_start,
        extract_date_inferred=inferred_end,
        dropped=problems,
        dropped_rows=len(bad),
    )


def _frame(rows: list[tuple[int, dict[str, str]]]) -> pd.DataFrame:
    columns: dict[str, list[object]] = {"line": [line for line, _ in rows]}
    for name in COLUMN_NAMES:
        columns[name] = [row.get(name, "") for _, row in rows]
    frame = pd.DataFrame(columns)
    for name in DATE_COLUMNS:
        text = frame[name].where(frame[name] != "", None)
        frame[name] = pd.to_datetime(text, format="%Y-%m-%d").astype("datetime64[s]")
    return frame
