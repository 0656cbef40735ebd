"""Key performance indicators: tidy rows computed from one replication's records.

Every KPI is a query over the flat episode records or the monthly level integrals of
:mod:`simulation.recorders`, never a counter kept in the model. Rows are long-format:
``pathway, service, unit, place, period, kpi, value``, where ``all`` marks a total over
that dimension and ``period`` is an NHS financial year (``2026/27``) or ``horizon``.
Counts are zero-filled, so a replication in which nothing happened counts as zero in
the confidence intervals. Only events on or after day 0 (after the warm-up) count.

:data:`KPI_INFO` names and explains each KPI; reports and the CLI use it for labels.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

import numpy as np
import pandas as pd

from simulation.calendar import financial_year
from simulation.model import ModelOutput
from simulation.recorders import EPISODE_FIELDS, Episode
from simulation.resources import OUT_OF_AREA

ALL = "all"
HORIZON = "horizon"
DIMENSIONS = ("pathway", "service", "unit", "place")


@dataclass(frozen=True)
class KpiInfo:
    """How to read a KPI."""

    label: str
    unit: str
    description: str


KPI_INFO: dict[str, KpiInfo] = {
    "referrals": KpiInfo("Referrals", "count", "new referrals and readmission referrals"),
    "readmissions": KpiInfo("Readmissions", "count", "referrals of discharged inpatients"),
    "not_accepted": KpiInfo("Not accepted", "count", "referrals not accepted at assessment"),
    "diversions": KpiInfo(
        "Diversions", "count", "referrals diverted to a community alternative (avoided admission)"
    ),
    "withdrawn": KpiInfo("Withdrawn", "count", "referrals closed while waiting for a bed"),
    "admissions": KpiInfo("Admissions", "count", "first admissions, in or out of area"),
    "ooa_admissions": KpiInfo("Out-of-area admissions", "count", "admitted outside the footprint"),
    "ooa_admission_pct": KpiInfo(
        "Out-of-area admissions", "%", "share of admissions placed out of area"
    ),
    "transfers_in": KpiInfo("Step-down transfers in", "count", "admissions by step-down"),
    "repatriations": KpiInfo("Repatriations", "count", "out-of-area patients moved to a local bed"),
    "step_downs": KpiInfo(
        "Step-downs", "count", "discharges to a lower-security bed or a community team"
    ),
    "wait_mean_days": KpiInfo("Mean wait for admission", "days", "from acceptance to admission"),
    "wait_p90_days": KpiInfo("90th percentile wait", "days", "from acceptance to admission"),
    "waited_pct": KpiInfo("Admissions that waited", "%", "admissions with any wait for a bed"),
    "distance_mean_miles": KpiInfo("Mean distance from home", "miles", "at admission"),
    "los_mean_days": KpiInfo("Mean length of stay", "days", "per service stay, delay included"),
    "waiting_list_mean": KpiInfo("Waiting list", "patients", "time-average"),
    "occupied_beds_mean": KpiInfo("Occupied beds", "beds", "time-average, in the footprint"),
    "beds": KpiInfo("Beds", "beds", "beds in the footprint"),
    "occupancy_pct": KpiInfo("Bed occupancy", "%", "occupied beds / beds in the footprint"),
    "bed_days": KpiInfo("Bed days in area", "days", "occupied bed days in the footprint"),
    "ooa_bed_days": KpiInfo("Out-of-area bed days", "days", "bed days outside the footprint"),
    "ooa_census_mean": KpiInfo("Out-of-area census", "patients", "time-average"),
    "delayed_discharge_days": KpiInfo(
        "Delayed discharge days", "days", "bed days after ready for discharge"
    ),
    "community_caseload_mean": KpiInfo("Community caseload", "patients", "time-average"),
    "community_places_mean": KpiInfo("Community places", "places", "funded, time-average"),
    "cost_inpatient_gbp": KpiInfo("In-area bed spend", "£", "bed days at each unit's cost"),
    "cost_ooa_gbp": KpiInfo("Out-of-area spend", "£", "bed days at the out-of-area cost"),
    "cost_community_gbp": KpiInfo("Community spend", "£", "funded places at cost per place-year"),
    "cost_one_off_gbp": KpiInfo("One-off costs", "£", "costs incurred once, on a date"),
    "cost_total_gbp": KpiInfo(
        "Total spend", "£", "in-area beds, out-of-area beds, community places and one-off costs"
    ),
}

COST_KINDS = ("cost_inpatient_gbp", "cost_ooa_gbp", "cost_community_gbp", "cost_one_off_gbp")
"""The categories that add up to ``cost_total_gbp``."""

HEADLINE_KPIS = (
    "referrals",
    "admissions",
    "diversions",
    "wait_mean_days",
    "wait_p90_days",
    "occupancy_pct",
    "ooa_admissions",
    "ooa_bed_days",
    "delayed_discharge_days",
    "cost_total_gbp",
)

_GROUPINGS = (
    ("pathway", "service", "place"),
    ("pathway", "service"),
    ("pathway", "place"),
    ("pathway",),
)

Cell = tuple[str, str, str]
"""The finest key of an episode KPI: pathway, service, home place."""

Row = tuple[str, str, str, str, str, str, float]
"""One output row: pathway, service, unit, place, period, kpi, value."""

_NAN = float("nan")


def episodes_frame(output: ModelOutput) -> pd.DataFrame:
    """The episode records as a DataFrame (one row per stay in a service)."""
    rows = list(map(attrgetter(*EPISODE_FIELDS), output.episodes))
    frame = pd.DataFrame.from_records(rows, columns=list(EPISODE_FIELDS))
    for column in frame.columns:
        if column.endswith("_day") or column == "distance_miles":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


class _Periods:
    """The financial years of the reported period and the months in each."""

    def __init__(self, output: ModelOutput):
        cal = output.calendar
        self.years = cal.financial_year_list()
        edges = cal.edges
        fys = cal.financial_years
        self.months: list[list[int]] = [
            [i for i, fy in enumerate(fys) if fy == year] for year in self.years
        ]
        self.year_bounds = [
            (year, edges[months[0]], edges[months[-1] + 1])
            for year, months in zip(self.years, self.months, strict=True)
        ]
        self.starts = [start for _, start, _ in self.year_bounds]
        self.horizon = cal.horizon_days
        self.end = self.year_bounds[-1][2]

    def index(self, day: float | None) -> int:
        """Index of the year that ``day`` falls in; -1 outside ``[0, horizon)`` or None."""
        if day is None or not day >= 0.0 or day >= self.end:  # `not >=` catches NaN
            return -1
        return bisect_right(self.starts, day) - 1

    def overlap(self, start: float, end: float) -> list[float]:
        """Days of the interval ``[start, end)`` falling in each year."""
        return [max(min(end, b) - max(start, a), 0.0) for _, a, b in self.year_bounds]


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's and pandas' default) of finite values."""
    ordered = sorted(values)
    h = q * (len(ordered) - 1)
    i = int(h)
    frac = h - i
    if frac == 0.0 or i + 1 >= len(ordered):
        return ordered[i]
    return ordered[i] + (ordered[i + 1] - ordered[i]) * frac


class _Builder:
    def __init__(self, output: ModelOutput):
        self.output = output
        self.scenario = output.scenario
        self.periods = _Periods(output)
        self.all_periods = [*self.periods.years, HORIZON]
        self.n_years = len(self.periods.years)
        self.services = self.scenario.services()
        self.places = [p.name for p in self.scenario.places]
        self.rows: list[Row] = []
        cells = [(pw, svc, place) for pw, svc in self.services for place in self.places]
        # For each grouping: its groups in report order, and the finest cells in each.
        self.groups: list[tuple[tuple[str, ...], dict[Cell, list[Cell]]]] = []
        for keys in _GROUPINGS:
            members: dict[Cell, list[Cell]] = {}
            for cell in cells:
                members.setdefault(self._project(keys, cell), []).append(cell)
            self.groups.append((keys, members))

    @staticmethod
    def _project(keys: tuple[str, ...], cell: Cell) -> Cell:
        """The group of ``cell`` at a grouping, with ``all`` for the dimensions summed over."""
        pathway, service, place = cell
        return (
            pathway,
            service if "service" in keys else ALL,
            place if "place" in keys else ALL,
        )

    # -- generic aggregation ------------------------------------------------------------
    def totals(self, kpi: str, cells: dict[Cell, list[float]]) -> None:
        """Add a count or a sum, given per finest cell and year, at every grouping.

        Every combination of the scenario's services and places appears, zero-filled.
        """
        years = self.periods.years
        n = self.n_years
        zero = [0.0] * n
        for _keys, members in self.groups:
            for (pathway, service, place), group in members.items():
                per_year = [0.0] * n
                for cell in group:
                    values = cells.get(cell, zero)
                    for y in range(n):
                        per_year[y] += values[y]
                for year, value in zip(years, per_year, strict=True):
                    self.rows.append((pathway, service, ALL, place, year, kpi, value))
                self.rows.append((pathway, service, ALL, place, HORIZON, kpi, math.fsum(per_year)))

    def statistic(self, kpi: str, cells: dict[Cell, list[list[float]]], how: str) -> None:
        """Add a mean, percentage or 90th percentile of values given per cell and year.

        Only groups with at least one value appear, in sorted order as a groupby gives.
        """
        years = self.periods.years
        n = self.n_years
        for keys, _members in self.groups:
            pooled: dict[Cell, list[list[float]]] = {}
            for cell, per_year in cells.items():
                group = pooled.setdefault(self._project(keys, cell), [[] for _ in range(n)])
                for y in range(n):
                    group[y].extend(per_year[y])
            out: list[tuple[str, str, str, str, float]] = []
            for (pathway, service, place), per_year in pooled.items():
                everything = [v for values in per_year for v in values]
                for period, values in (*zip(years, per_year, strict=True), (HORIZON, everything)):
                    if values:
                        out.append((pathway, service, place, period, _stat(values, how)))
            out.sort(key=lambda r: r[:4])  # as a groupby sorts its keys
            for pathway, service, place, period, value in out:
                self.rows.append((pathway, service, ALL, place, period, kpi, value))

    # -- KPIs from episode records ------------------------------------------------------
    def episode_kpis(self, episodes: Iterable[Episode]) -> None:
        """Counts, waits, stays and out-of-area bed days from the episode records."""
        periods = self.periods
        year_of = periods.index
        n = self.n_years
        horizon = periods.horizon
        counts: dict[str, dict[Cell, list[float]]] = {kpi: {} for kpi in _COUNTS}
        stats: dict[str, dict[Cell, list[list[float]]]] = {kpi: {} for kpi in _STATISTICS}
        ooa_days: dict[Cell, list[float]] = {}

        def count(kpi: str, cell: Cell, day: float | None) -> None:
            y = year_of(day)
            if y >= 0:
                per_year = counts[kpi].get(cell)
                if per_year is None:
                    per_year = counts[kpi][cell] = [0.0] * n
                per_year[y] += 1.0

        def value(kpi: str, cell: Cell, y: int, x: float | None) -> None:
            per_year = stats[kpi].get(cell)
            if per_year is None:
                per_year = stats[kpi][cell] = [[] for _ in range(n)]
            if x is not None and x == x:  # NaN is skipped, as pandas does
                per_year[y].append(x)
            else:
                per_year[y].append(_NAN)

        for e in episodes:
            cell = (e.pathway, e.service, e.home_place)
            admission = e.admission_day
            if e.source != "step_down":
                count("referrals", cell, e.referral_day)
                if e.source == "readmission":
                    count("readmissions", cell, e.referral_day)
                if e.decision == "not_accepted":
                    count("not_accepted", cell, e.decision_day)
                elif e.decision == "diverted":
                    count("diversions", cell, e.decision_day)
                if e.withdrawn_day is not None:
                    count("withdrawn", cell, e.withdrawn_day)
                if admission is not None:
                    away = e.admitted_to == OUT_OF_AREA
                    count("admissions", cell, admission)
                    if away:
                        count("ooa_admissions", cell, admission)
                    y = year_of(admission)
                    if y >= 0:
                        decision = e.decision_day
                        wait = admission - decision if decision is not None else None
                        value("wait_mean_days", cell, y, wait)
                        value("wait_p90_days", cell, y, wait)
                        waited = 1.0 if wait is not None and wait > 1e-9 else 0.0
                        value("waited_pct", cell, y, waited)
                        value("ooa_admission_pct", cell, y, 1.0 if away else 0.0)
                        value("distance_mean_miles", cell, y, e.distance_miles)
            elif admission is not None:
                count("transfers_in", cell, admission)
            if e.repatriation_day is not None:
                count("repatriations", cell, e.repatriation_day)
            exit_day = e.exit_day
            if exit_day is not None:
                if e.exit_to in ("step_down_bed", "community"):
                    count("step_downs", cell, exit_day)
                if admission is not None:
                    y = year_of(exit_day)
                    if y >= 0:
                        value("los_mean_days", cell, y, exit_day - admission)
            if e.admitted_to == OUT_OF_AREA and admission is not None:
                # Out-of-area bed days by home place, from the stay's out-of-area interval.
                end = e.repatriation_day
                if end is None:
                    end = exit_day if exit_day is not None else horizon
                days = periods.overlap(admission, end)
                per_year = ooa_days.get(cell)
                if per_year is None:
                    ooa_days[cell] = days
                else:
                    for y in range(n):
                        per_year[y] += days[y]

        for kpi in _COUNTS:
            self.totals(kpi, counts[kpi])
        for kpi, how in _STATISTICS.items():
            self.statistic(kpi, stats[kpi], how)
        self.totals("ooa_bed_days", ooa_days)

    # -- KPIs from level recorders ------------------------------------------------------
    def _by_period(self, bins: Sequence[float] | np.ndarray) -> dict[str, float]:
        values = np.asarray(bins, dtype=float)
        out = {
            year: math.fsum(values[months].tolist()) if months else 0.0
            for year, months in zip(self.periods.years, self.periods.months, strict=True)
        }
        out[HORIZON] = float(np.sum(values))
        return out

    def _period_days(self) -> dict[str, float]:
        return self._by_period(self.output.calendar.month_lengths())

    def level_kpis(self) -> None:
        """Beds, occupancy, waiting list, delays, caseload and costs from the levels."""
        out = self.output
        scenario = self.scenario
        days = self._period_days()
        rows: dict[str, list[tuple[str, str, str, str, float]]] = {}

        def add(
            kpi: str,
            values: dict[str, float],
            pathway: str = ALL,
            service: str = ALL,
            unit: str = ALL,
        ) -> None:
            target = rows.setdefault(kpi, [])
            for period, value in values.items():
                target.append((pathway, service, unit, period, value))

        def per_period(values: dict[str, float], factor: float = 1.0) -> dict[str, float]:
            return {p: v * factor for p, v in values.items()}

        def mean(values: dict[str, float]) -> dict[str, float]:
            return {p: v / days[p] if days[p] else _NAN for p, v in values.items()}

        def pct(used: dict[str, float], available: dict[str, float]) -> dict[str, float]:
            return {p: 100 * v / available[p] if available[p] else _NAN for p, v in used.items()}

        cost_by_pathway: dict[str, dict[str, dict[str, float]]] = {}

        def cost(pathway: str, kind: str, values: dict[str, float]) -> None:
            slot = cost_by_pathway.setdefault(pathway, {}).setdefault(kind, {})
            for period, value in values.items():
                slot[period] = slot.get(period, 0.0) + value

        for pathway, service in self.services:
            service_days = {p: 0.0 for p in days}
            service_open = {p: 0.0 for p in days}
            for unit in scenario.units_of(pathway, service):
                unit_days = self._by_period(out.unit_occupancy[unit.name])
                open_days = self._by_period(out.unit_bed_days[unit.name])
                dims = {"pathway": pathway, "service": service, "unit": unit.name}
                add("bed_days", unit_days, **dims)
                add("occupied_beds_mean", mean(unit_days), **dims)
                add("beds", mean(open_days), **dims)
                add("occupancy_pct", pct(unit_days, open_days), **dims)
                # A block contract pays for every open bed; spot purchase for beds used.
                paid = open_days if unit.funding == "block" else unit_days
                cost(pathway, "cost_inpatient_gbp", per_period(paid, unit.cost_per_bed_day_gbp))
                for p in days:
                    service_days[p] += unit_days[p]
                    service_open[p] += open_days[p]
            dims = {"pathway": pathway, "service": service}
            add("bed_days", service_days, **dims)
            add("occupied_beds_mean", mean(service_days), **dims)
            add("beds", mean(service_open), **dims)
            add("occupancy_pct", pct(service_days, service_open), **dims)
            ooa_days = self._by_period(out.ooa_census[(pathway, service)])
            add("ooa_census_mean", mean(ooa_days), **dims)
            add("waiting_list_mean", mean(self._by_period(out.waiting[(pathway, service)])), **dims)
            add("delayed_discharge_days", self._by_period(out.delayed[(pathway, service)]), **dims)
            ooa_cost = scenario.pathways[pathway].services[service].out_of_area.cost_per_bed_day_gbp
            cost(pathway, "cost_ooa_gbp", per_period(ooa_days, ooa_cost))
            cost(pathway, "cost_inpatient_gbp", {})

        for team in scenario.community_teams:
            if team.pathway not in scenario.pathways:
                continue
            dims = {"pathway": team.pathway, "unit": team.name}
            add("community_caseload_mean", mean(self._by_period(out.caseload[team.name])), **dims)
            place_days = self._by_period(out.places[team.name])
            add("community_places_mean", mean(place_days), **dims)
            cost(
                team.pathway,
                "cost_community_gbp",
                per_period(place_days, team.cost_per_place_per_year_gbp / 365.25),
            )

        for item in scenario.money.one_off_costs:
            year = financial_year(item.date)
            if year in days:
                cost(
                    item.pathway,
                    "cost_one_off_gbp",
                    {year: item.amount_gbp, HORIZON: item.amount_gbp},
                )

        for pathway in scenario.pathways:
            kinds = cost_by_pathway.get(pathway, {})
            total = {p: 0.0 for p in days}
            for kind in COST_KINDS:
                values = {p: kinds.get(kind, {}).get(p, 0.0) for p in days}
                add(kind, values, pathway=pathway)
                for p, v in values.items():
                    total[p] += v
            add("cost_total_gbp", total, pathway=pathway)

        def pathway_totals(kpi: str, unit_level: bool) -> dict[tuple[str, str], float]:
            """Sum over a KPI's service-level (or team) rows by pathway and period."""
            sums: dict[tuple[str, str], list[float]] = {}
            for pathway, _service, unit, period, value in rows[kpi]:
                if unit_level or unit == ALL:
                    sums.setdefault((pathway, period), []).append(value)
            return {key: _nansum(values) for key, values in sorted(sums.items())}

        # Pathway totals of additive service-level KPIs.
        totals: dict[str, dict[tuple[str, str], float]] = {}
        for kpi in (
            "bed_days",
            "delayed_discharge_days",
            "beds",
            "occupied_beds_mean",
            "ooa_census_mean",
            "waiting_list_mean",
        ):
            totals[kpi] = pathway_totals(kpi, unit_level=False)
        occupancy: dict[tuple[str, str], float] = {}
        for key, occupied in totals["occupied_beds_mean"].items():
            beds_value = totals["beds"][key]
            occupancy[key] = 100 * occupied / beds_value if beds_value != 0 else _NAN
        totals["occupancy_pct"] = occupancy
        for team_kpi in ("community_caseload_mean", "community_places_mean"):
            if team_kpi in rows:
                totals[team_kpi] = pathway_totals(team_kpi, unit_level=True)
        for kpi, by_pathway in totals.items():
            rows[kpi].extend((p, ALL, ALL, period, v) for (p, period), v in by_pathway.items())
        # The collaborative's totals across pathways.
        for kpi in (*COST_KINDS, "cost_total_gbp"):
            by_period: dict[str, list[float]] = {}
            for _p, _s, _u, period, value in rows[kpi]:
                by_period.setdefault(period, []).append(value)
            rows[kpi].extend(
                (ALL, ALL, ALL, period, _nansum(values))
                for period, values in sorted(by_period.items())
            )
        for kpi, kpi_rows_ in rows.items():
            self.rows.extend(
                (pathway, service, unit, ALL, period, kpi, value)
                for pathway, service, unit, period, value in kpi_rows_
            )

    def frame(self) -> pd.DataFrame:
        columns = [*DIMENSIONS, "period", "kpi", "value"]
        data = list(zip(*self.rows, strict=True)) if self.rows else [()] * len(columns)
        frame = pd.DataFrame({c: list(v) for c, v in zip(columns[:-1], data, strict=False)})
        frame["value"] = np.asarray(data[-1], dtype=float)
        return frame


_COUNTS = (
    "referrals",
    "readmissions",
    "not_accepted",
    "diversions",
    "withdrawn",
    "admissions",
    "ooa_admissions",
    "repatriations",
    "transfers_in",
    "step_downs",
)
"""Episode counts, in report order (zero-filled for every service and place)."""

_STATISTICS = {
    "wait_mean_days": "mean",
    "wait_p90_days": "p90",
    "waited_pct": "pct",
    "ooa_admission_pct": "pct",
    "distance_mean_miles": "mean",
    "los_mean_days": "mean",
}
"""Episode statistics and how each is computed, in report order (only where defined)."""


def _nansum(values: Iterable[float]) -> float:
    return math.fsum(v for v in values if v == v)


def _stat(values: list[float], how: str) -> float:
    finite = [v for v in values if v == v]
    if not finite:
        return _NAN
    if how == "mean":
        return math.fsum(finite) / len(finite)
    if how == "pct":
        return math.fsum(finite) / len(finite) * 100
    if how == "p90":
        return _quantile(finite, 0.9)
    raise ValueError(how)  # pragma: no cover - programming error


def kpi_rows(output: ModelOutput) -> pd.DataFrame:
    """All KPIs of one replication as tidy rows (without replication or scenario columns)."""
    builder = _Builder(output)
    builder.episode_kpis(output.episodes)
    builder.level_kpis()
    return builder.frame()


def monthly_rows(output: ModelOutput) -> pd.DataFrame:
    """Monthly time-averages of the levels: occupancy, waiting list, out of area, caseload."""
    cal = output.calendar
    lengths = cal.month_lengths()
    n = cal.n_months
    labels: list[tuple[str, str, str, str]] = []
    values: list[np.ndarray] = []

    def add(measure: str, pathway: str, service: str, resource: str, bins: Iterable[float]) -> None:
        labels.append((pathway, service, resource, measure))
        values.append(np.asarray(list(bins)) / lengths)

    scenario = output.scenario
    for pathway, service in scenario.services():
        for unit in scenario.units_of(pathway, service):
            add("occupied_beds", pathway, service, unit.name, output.unit_occupancy[unit.name])
        key = (pathway, service)
        add("waiting_list", pathway, service, ALL, output.waiting[key])
        add("out_of_area_census", pathway, service, ALL, output.ooa_census[key])
        add("delayed_discharges", pathway, service, ALL, output.delayed[key])
    for team in scenario.community_teams:
        if team.name in output.caseload:
            add("community_caseload", team.pathway, ALL, team.name, output.caseload[team.name])
            add("community_places", team.pathway, ALL, team.name, output.places[team.name])
    # One frame built once: a DataFrame per series costs more than the series themselves.
    columns: dict[str, list[str]] = {"month": list(cal.months) * len(labels)}
    columns["financial_year"] = list(cal.financial_years) * len(labels)
    for i, name in enumerate(("pathway", "service", "resource", "measure")):
        columns[name] = [label[i] for label in labels for _ in range(n)]
    frame = pd.DataFrame(columns)
    frame["value"] = np.concatenate(values) if values else np.empty(0)
    return frame


def referral_states(output: ModelOutput) -> pd.Series:
    """Where each referral (by ``referral_id``) is at the end of the run.

    One of: assessment, not_accepted, diverted, withdrawn, waiting, in_bed, out_of_area,
    in_community, discharged. The state of a referral that stepped down is that of the
    last stay in its chain; a patient still in a bed waiting for a step-down bed is in
    that bed (the step-down stay has not begun).
    """
    ep = episodes_frame(output)
    ep = ep[~((ep["source"] == "step_down") & ep["admission_day"].isna())]
    last = ep.sort_values("episode_id").groupby("referral_id").tail(1).set_index("referral_id")
    state = pd.Series("discharged", index=last.index, dtype=object)
    state[last["decision"] == "pending"] = "assessment"
    state[last["decision"] == "not_accepted"] = "not_accepted"
    state[last["decision"] == "diverted"] = "diverted"
    accepted = last["decision"] == "accepted"
    state[accepted & last["withdrawn_day"].notna()] = "withdrawn"
    state[accepted & last["withdrawn_day"].isna() & last["admission_day"].isna()] = "waiting"
    in_bed = accepted & last["admission_day"].notna() & last["exit_day"].isna()
    away = (last["admitted_to"] == OUT_OF_AREA) & last["repatriation_day"].isna()
    state[in_bed & away] = "out_of_area"
    state[in_bed & ~away] = "in_bed"
    community = last["exit_to"] == "community"
    state[community & last["community_end_day"].isna()] = "in_community"
    return state


def step_down_waiting(output: ModelOutput) -> int:
    """Patients ready for discharge and still in a bed waiting for a step-down at the end."""
    return sum(1 for e in output.episodes if e.ready_day is not None and e.exit_day is None)
