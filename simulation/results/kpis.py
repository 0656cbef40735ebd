"""Key performance indicators: tidy rows computed from one replication's records.

Every KPI is a query over the flat episode records or the monthly level integrals of
:mod:`simulation.model.records`, never a counter kept in the model. Rows are long-format:
``pathway, service, unit, place, period, kpi, value``, where ``all`` marks a total over
that dimension and ``period`` is an NHS financial year (``2026/27``) or ``horizon``.
Counts are zero-filled, so a replication in which nothing happened counts as zero in
the confidence intervals. Only events on or after day 0 (after the warm-up) count.

:mod:`simulation.results.catalogue` names and explains each KPI.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd

from simulation.model.model import ModelOutput
from simulation.model.records import EPISODE_FIELDS, Episode
from simulation.model.resources import OUT_OF_AREA
from simulation.model.spend import pathway_spend
from simulation.results.catalogue import ALL, COST_KINDS, DIMENSIONS, HORIZON, OOA_REASONS

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
        # A financial year's months follow one another: a slice of the months.
        self.spans = [slice(months[0], months[-1] + 1) for months in self.months]
        self.year_bounds = [
            (year, edges[months[0]], edges[months[-1] + 1])
            for year, months in zip(self.years, self.months, strict=True)
        ]
        self.starts = [start for _, start, _ in self.year_bounds]
        self.horizon = cal.horizon_days
        self.end = self.year_bounds[-1][2]

    def index(self, days: np.ndarray) -> np.ndarray:
        """Index of the year each day falls in; -1 outside ``[0, horizon)`` or NaN."""
        index = np.searchsorted(self.starts, days, side="right") - 1
        index[~((days >= 0.0) & (days < self.end))] = -1  # False for NaN
        return index

    def overlap(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Days of each interval ``[start, end)`` falling in each year (intervals x years)."""
        a = np.asarray(self.starts)
        b = np.asarray([end for _, _, end in self.year_bounds])
        days = np.minimum(end[:, None], b) - np.maximum(start[:, None], a)
        overlap: np.ndarray = np.maximum(days, 0.0)
        return overlap


class _Episodes:
    """The episode fields the KPIs need, as arrays: one element per episode.

    Days are floats with NaN for "has not happened"; ``cell`` indexes the finest
    (pathway, service, home place) cell.
    """

    _TEXT = ("source", "decision", "admitted_to", "exit_to", "sex", "ooa_reason")
    _DAYS = (
        "referral_day",
        "decision_day",
        "admission_day",
        "withdrawn_day",
        "repatriation_day",
        "exit_day",
        "distance_miles",
        "ooa_search_day",
        "adult_services_day",
    )

    def __init__(self, episodes: Sequence[Episode], cells: dict[Cell, int]):
        fields = ("pathway", "service", "home_place", *self._TEXT, *self._DAYS)
        rows = list(map(attrgetter(*fields), episodes))
        columns = list(zip(*rows, strict=True)) if rows else [()] * len(fields)
        self.cell = np.fromiter(
            map(cells.__getitem__, zip(*columns[:3], strict=True)), dtype=np.intp, count=len(rows)
        )
        n_text = 3 + len(self._TEXT)
        text = dict(zip(self._TEXT, columns[3:n_text], strict=True))
        self.source = np.array(text["source"], dtype=object)
        self.decision = np.array(text["decision"], dtype=object)
        self.admitted_to = np.array(text["admitted_to"], dtype=object)
        self.exit_to = np.array(text["exit_to"], dtype=object)
        self.sex = np.array(text["sex"], dtype=object)
        self.ooa_reason = np.array(text["ooa_reason"], dtype=object)
        # One array of every day field: numpy turns None into NaN slowly, one at a time.
        flat = [_NAN if x is None else x for x in chain.from_iterable(columns[n_text:])]
        all_days = np.array(flat, dtype=float).reshape(len(self._DAYS), len(rows))
        days = dict(zip(self._DAYS, all_days, strict=True))
        self.referral_day = days["referral_day"]
        self.decision_day = days["decision_day"]
        self.admission_day = days["admission_day"]
        self.withdrawn_day = days["withdrawn_day"]
        self.repatriation_day = days["repatriation_day"]
        self.exit_day = days["exit_day"]
        self.distance_miles = days["distance_miles"]
        self.ooa_search_day = days["ooa_search_day"]
        self.adult_services_day = days["adult_services_day"]


class _Table:
    """Output rows kept as blocks of columns until the one frame is built from them.

    A block holds the text of its rows as codes into one vocabulary (rows x 6: the
    dimensions, period and KPI) and their values. A tuple per row, transposed at the
    end, took about a third of the KPIs' time, and its many small objects set off full
    garbage collections.
    """

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.codes: list[np.ndarray] = []
        self.values: list[np.ndarray] = []

    def code(self, text: str) -> int:
        """The code of a dimension, period or KPI name."""
        return self.vocabulary.setdefault(text, len(self.vocabulary))

    def add(self, codes: np.ndarray, values: np.ndarray) -> None:
        """Add rows, given their codes (rows x 6) and values."""
        if len(values):
            self.codes.append(codes)
            self.values.append(values)

    def add_rows(self, rows: Sequence[Row]) -> None:
        """Add rows given as tuples."""
        if rows:
            text = list(chain.from_iterable(row[:-1] for row in rows))
            for each in dict.fromkeys(text):
                self.code(each)
            codes = np.fromiter(map(self.vocabulary.__getitem__, text), np.intp, len(text))
            values = np.array([row[-1] for row in rows], dtype=float)
            self.add(codes.reshape(len(rows), -1), values)

    def frame(self) -> pd.DataFrame:
        """The rows in the order added, as a frame of text columns and a float ``value``."""
        columns = [*DIMENSIONS, "period", "kpi", "value"]
        if not self.values:
            frame = pd.DataFrame({c: [] for c in columns[:-1]})
            frame["value"] = np.asarray((), dtype=float)
            return frame
        codes = np.concatenate(self.codes)
        # The text array inferred as for a list of strings, so the columns' type is the same.
        text = _texts(self.vocabulary)
        frame = pd.DataFrame({c: text.take(codes[:, i]) for i, c in enumerate(columns[:-1])})
        frame["value"] = np.concatenate(self.values)
        return frame


class _Grouping:
    """One level of aggregation of the finest cells, with the codes of its output rows.

    ``labels`` are its groups in report order and ``group_of`` the group of each cell.
    ``key`` numbers a group's period as ``group * (years + 1) + period``, the horizon
    last; ``codes`` gives each key's row codes (the KPI column left to fill in), and
    ``sorted_groups`` and ``sorted_keys`` the groups and keys in the order a groupby
    sorts them.
    """

    def __init__(
        self, labels: list[Cell], group_of: np.ndarray, periods: list[str], table: _Table
    ) -> None:
        self.labels = labels
        self.group_of = group_of
        per_group = len(periods)
        label_codes = np.array(
            [[table.code(text) for text in label] for label in labels], dtype=np.intp
        ).reshape(len(labels), 3)
        period_codes = np.array([table.code(p) for p in periods], dtype=np.intp)
        group = np.repeat(np.arange(len(labels)), per_group)
        self.codes = np.empty((len(group), 6), dtype=np.intp)
        self.codes[:, 0] = label_codes[group, 0]
        self.codes[:, 1] = label_codes[group, 1]
        self.codes[:, 2] = table.code(ALL)
        self.codes[:, 3] = label_codes[group, 2]
        self.codes[:, 4] = np.tile(period_codes, len(labels))
        self.codes[:, 5] = -1
        self.sorted_groups = np.array(
            sorted(range(len(labels)), key=labels.__getitem__), dtype=np.intp
        )
        # Groups are distinct, so keys sort by group, then period.
        period_order = np.array(sorted(range(per_group), key=periods.__getitem__), dtype=np.intp)
        self.sorted_keys = (self.sorted_groups[:, None] * per_group + period_order).ravel()


class _Keys:
    """Where values given by finest cell and year go in one grouping's rows.

    Each value has two keys (:class:`_Grouping`), its year's and the horizon's, the
    second half of ``keys``. ``chosen`` are the keys with a value, in output order, and
    ``codes`` their rows' codes.
    """

    def __init__(self, grouping: _Grouping, cell: np.ndarray, year: np.ndarray, n_years: int):
        group = grouping.group_of[cell] * (n_years + 1)
        self.keys = np.concatenate([group + year, group + n_years])
        self.size = len(grouping.labels) * (n_years + 1)
        self.counts = np.bincount(self.keys, minlength=self.size)
        present = self.counts > 0
        self.chosen = grouping.sorted_keys[present[grouping.sorted_keys]]
        self.codes = grouping.codes[self.chosen]


@dataclass
class _Admissions:
    """The admissions of referrals, shared by the KPIs of waits and placements.

    ``admitted`` and ``away`` are per episode (``away``: out of area), ``year`` the
    year index of each admission, ``in_period`` the admissions in the reported period;
    ``wait`` (from acceptance) and ``keyed`` are per admission in the period.
    """

    admitted: np.ndarray
    away: np.ndarray
    year: np.ndarray
    in_period: np.ndarray
    wait: np.ndarray
    keyed: list[_Keys]


class _Builder:
    def __init__(self, output: ModelOutput):
        self.output = output
        self.scenario = output.scenario
        self.periods = _Periods(output)
        self.all_periods = [*self.periods.years, HORIZON]
        self.n_years = len(self.periods.years)
        self.services = self.scenario.services()
        self.places = [p.name for p in self.scenario.places]
        self.table = _Table()
        cells = [(pw, svc, place) for pw, svc in self.services for place in self.places]
        self.cells = {cell: i for i, cell in enumerate(dict.fromkeys(cells))}
        # For each grouping: its groups in report order, and the group of each cell.
        self.groups: list[_Grouping] = []
        for keys in _GROUPINGS:
            labels: dict[Cell, int] = {}
            group_of = [
                labels.setdefault(self._project(keys, cell), len(labels)) for cell in self.cells
            ]
            self.groups.append(
                _Grouping(
                    list(labels),
                    np.asarray(group_of, dtype=np.intp),
                    self.all_periods,
                    self.table,
                )
            )

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
    def _add(self, kpi: str, codes: np.ndarray, values: np.ndarray) -> None:
        """Add rows of ``kpi`` from a grouping's row codes (with the KPI to fill in)."""
        codes = codes.copy()
        codes[:, 5] = self.table.code(kpi)
        self.table.add(codes, values)

    def totals(self, kpi: str, cells: np.ndarray) -> None:
        """Add a count or a sum, given per finest cell and year, at every grouping.

        Every combination of the scenario's services and places appears, zero-filled.
        """
        for grouping in self.groups:
            sums = np.zeros((len(grouping.labels), self.n_years))
            np.add.at(sums, grouping.group_of, cells)
            horizon = [math.fsum(per_year) for per_year in sums.tolist()]
            values = np.column_stack([sums, np.array(horizon, dtype=float)]).ravel()
            self._add(kpi, grouping.codes, values)

    def keyed(self, cell: np.ndarray, year: np.ndarray) -> list[_Keys]:
        """The keys of values by cell and year at every grouping, for :meth:`statistic`."""
        return [_Keys(grouping, cell, year, self.n_years) for grouping in self.groups]

    def statistic(self, kpi: str, keyed: list[_Keys], values: np.ndarray, how: str) -> None:
        """Add a mean, percentage or 90th percentile of values by cell and year.

        ``keyed`` places the values (:meth:`keyed`). Only groups with at least one value
        appear (NaN values count for that but are otherwise skipped), in sorted order
        as a groupby gives.
        """
        values = np.concatenate([values, values])  # once in its year, once in the horizon
        finite = ~np.isnan(values)
        every = bool(finite.all())
        kept = values if every else values[finite]
        # Sorted by value once; each grouping's sort by key keeps that order within a key.
        by_value = np.argsort(kept, kind="stable") if how == "p90" else np.empty(0, np.intp)
        for at in keyed:
            keys = at.keys if every else at.keys[finite]
            if how == "p90":
                result = _quantiles(keys, kept, 0.9, at.size, by_value)
            else:
                counts = at.counts if every else np.bincount(keys, minlength=at.size)
                with np.errstate(invalid="ignore", divide="ignore"):
                    result = np.bincount(keys, weights=kept, minlength=at.size) / counts
                if how == "pct":
                    result = result * 100
            self._add(kpi, at.codes, result[at.chosen])

    def survival_median(
        self, kpi: str, cell: np.ndarray, entry: np.ndarray, duration: np.ndarray, event: np.ndarray
    ) -> None:
        """Add a Kaplan-Meier median of durations, for the whole period, by cell group.

        ``entry`` is the duration already reached when observation began (a stay going
        at the start: left truncation), ``event`` whether the duration ended while
        observed (else it is censored). NaN where the estimate never falls to one half.
        """
        horizon = self.n_years  # the horizon's place among a group's periods
        for grouping in self.groups:
            group = grouping.group_of[cell]
            size = len(grouping.labels)
            medians = km_medians(group, size, entry, duration, event)
            seen = np.bincount(group, minlength=size) > 0  # only groups with a stay
            groups = grouping.sorted_groups[seen[grouping.sorted_groups]]
            rows = groups * (horizon + 1) + horizon
            self._add(kpi, grouping.codes[rows], medians[groups])

    # -- KPIs from episode records ------------------------------------------------------
    def episode_kpis(self, episodes: Sequence[Episode]) -> None:
        """Counts, waits, stays and out-of-area bed days from the episode records."""
        ep = _Episodes(episodes, self.cells)
        year_of = self.periods.index
        n = self.n_years
        size = len(self.cells) * n

        def count(kpi: str, select: np.ndarray, year: np.ndarray) -> None:
            """Count the selected episodes by cell and the year (index) of their event."""
            keep = select & (year >= 0)
            cells = np.bincount(ep.cell[keep] * n + year[keep], minlength=size)
            self.totals(kpi, cells.reshape(len(self.cells), n).astype(float))

        # The year of each event, found once for every KPI counting or averaging by it.
        referred_in = year_of(ep.referral_day)
        decided_in = year_of(ep.decision_day)
        admitted_in = year_of(ep.admission_day)
        referral = ep.source != "step_down"
        admitted = referral & ~np.isnan(ep.admission_day)
        away = ep.admitted_to == OUT_OF_AREA
        count("referrals", referral, referred_in)
        count("readmissions", ep.source == "readmission", referred_in)
        count("not_accepted", referral & (ep.decision == "not_accepted"), decided_in)
        count("diversions", referral & (ep.decision == "diverted"), decided_in)
        count("withdrawn", referral, year_of(ep.withdrawn_day))
        count("admissions", admitted, admitted_in)
        count("ooa_admissions", admitted & away, admitted_in)
        count("repatriations", np.ones_like(referral), year_of(ep.repatriation_day))
        count("transfers_in", ~referral, admitted_in)
        step_down = (ep.exit_to == "step_down_bed") | (ep.exit_to == "community")
        exited_in = year_of(ep.exit_day)
        count("step_downs", step_down, exited_in)

        # Admissions in the period: waits (from acceptance), distance, out of area.
        keep = admitted & (admitted_in >= 0)
        cell, year = ep.cell[keep], admitted_in[keep]
        wait = (ep.admission_day - ep.decision_day)[keep]
        with np.errstate(invalid="ignore"):
            waited = (wait > 1e-9).astype(float)  # False for NaN
        from_referral = (ep.admission_day - ep.referral_day)[keep]
        admissions = self.keyed(cell, year)
        self.statistic("wait_referral_mean_days", admissions, from_referral, "mean")
        self.statistic("wait_referral_p90_days", admissions, from_referral, "p90")
        self.statistic("wait_mean_days", admissions, wait, "mean")
        self.statistic("wait_p90_days", admissions, wait, "p90")
        self.statistic("waited_pct", admissions, waited, "pct")
        self.statistic("ooa_admission_pct", admissions, away[keep].astype(float), "pct")
        self.statistic("distance_mean_miles", admissions, ep.distance_miles[keep], "mean")

        self._mix_kpis(ep, count, _Admissions(admitted, away, admitted_in, keep, wait, admissions))

        # Stays that ended in the period, in every service.
        keep = ~np.isnan(ep.admission_day) & (exited_in >= 0)
        los = (ep.exit_day - ep.admission_day)[keep]
        self.statistic("los_mean_days", self.keyed(ep.cell[keep], exited_in[keep]), los, "mean")

        # Every stay in a bed during the period, ended or not: Kaplan-Meier's median.
        horizon = self.periods.horizon
        admitted_at = ep.admission_day
        with np.errstate(invalid="ignore"):
            seen = ~np.isnan(admitted_at) & (admitted_at < horizon)
            seen &= np.isnan(ep.exit_day) | (ep.exit_day >= 0.0)
        ended = ~np.isnan(ep.exit_day[seen]) & (ep.exit_day[seen] <= horizon)
        stop = np.where(ended, ep.exit_day[seen], horizon)
        self.survival_median(
            "los_median_km_days",
            ep.cell[seen],
            np.maximum(0.0, -admitted_at[seen]),
            stop - admitted_at[seen],
            ended,
        )

        # Out-of-area bed days by home place, from each stay's out-of-area interval.
        keep = away & ~np.isnan(ep.admission_day)
        end = np.where(
            np.isnan(ep.repatriation_day),
            np.where(np.isnan(ep.exit_day), self.periods.horizon, ep.exit_day),
            ep.repatriation_day,
        )
        days = self.periods.overlap(ep.admission_day[keep], end[keep])
        ooa_days = np.zeros((len(self.cells), n))
        np.add.at(ooa_days, ep.cell[keep], days)
        self.totals("ooa_bed_days", ooa_days)

    def _mix_kpis(
        self,
        ep: _Episodes,
        count: Callable[[str, np.ndarray, np.ndarray], None],
        adm: _Admissions,
    ) -> None:
        """Out-of-area admissions by reason and by sex, searches, waits of a week or more."""
        admitted_away = adm.admitted & adm.away
        for reason in OOA_REASONS:
            count(f"ooa_{reason}", admitted_away & (ep.ooa_reason == reason), adm.year)
        for sex in ("female", "male"):
            count(f"ooa_admissions_{sex}", admitted_away & (ep.sex == sex), adm.year)
        year_of = self.periods.index
        count("left_for_adult_services", np.ones_like(adm.admitted), year_of(ep.adult_services_day))
        if any(spec.patient_mix.adult_pathway for spec in self.scenario.pathways.values()):
            # Only where young people move to an adult pathway, so no other run changes.
            count("transfers_at_18", ep.source == "transfer_at_18", year_of(ep.referral_day))
        keep, year = adm.in_period, adm.year
        with np.errstate(invalid="ignore"):
            week = (adm.wait >= 7.0).astype(float)
        self.statistic("waited_week_pct", adm.keyed, week, "pct")
        for sex in ("female", "male"):
            mine = keep & (ep.sex == sex)
            wait_sex = (ep.admission_day - ep.decision_day)[mine]
            keyed = self.keyed(ep.cell[mine], year[mine])
            self.statistic(f"wait_mean_days_{sex}", keyed, wait_sex, "mean")
        found = keep & adm.away
        search = (ep.admission_day - ep.ooa_search_day)[found]
        keyed = self.keyed(ep.cell[found], year[found])
        self.statistic("ooa_search_days_mean", keyed, search, "mean")

    # -- KPIs from level recorders ------------------------------------------------------
    def _by_period(self, bins: Sequence[float] | np.ndarray) -> dict[str, float]:
        values = np.asarray(bins, dtype=float)
        listed = values.tolist()
        out = {
            year: math.fsum(listed[span])
            for year, span in zip(self.periods.years, self.periods.spans, strict=True)
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

        def mean(values: dict[str, float]) -> dict[str, float]:
            return {p: v / days[p] if days[p] else _NAN for p, v in values.items()}

        def pct(used: dict[str, float], available: dict[str, float]) -> dict[str, float]:
            return {p: 100 * v / available[p] if available[p] else _NAN for p, v in used.items()}

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
            searching = self._by_period(out.searching[(pathway, service)])
            add("ooa_searching_mean", mean(searching), **dims)
            add("delayed_discharge_days", self._by_period(out.delayed[(pathway, service)]), **dims)

        for team in scenario.community_teams:
            if team.pathway not in scenario.pathways:
                continue
            dims = {"pathway": team.pathway, "unit": team.name}
            add("community_caseload_mean", mean(self._by_period(out.caseload[team.name])), **dims)
            add("community_places_mean", mean(self._by_period(out.places[team.name])), **dims)

        # Spend is the model's one definition, the one the year-end ledger is written with.
        years = self.periods.years
        spans = [*zip(years, self.periods.months, strict=True)]
        spans.append((HORIZON, list(range(out.calendar.n_months))))
        for pathway in scenario.pathways:
            spend = {
                period: pathway_spend(
                    scenario,
                    out.spend_levels,
                    pathway,
                    months,
                    years if period == HORIZON else (period,),
                )
                for period, months in spans
            }
            by_kind = {
                "cost_inpatient_gbp": {p: s.inpatient for p, s in spend.items()},
                "cost_ooa_gbp": {p: s.out_of_area for p, s in spend.items()},
                "cost_community_gbp": {p: s.community for p, s in spend.items()},
                "cost_one_off_gbp": {p: s.one_off for p, s in spend.items()},
            }
            for kind in COST_KINDS:
                add(kind, by_kind[kind], pathway=pathway)
            add("cost_total_gbp", {p: s.total for p, s in spend.items()}, pathway=pathway)

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
            "ooa_searching_mean",
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
            self.table.add_rows(
                [
                    (pathway, service, unit, ALL, period, kpi, value)
                    for pathway, service, unit, period, value in kpi_rows_
                ]
            )

    def frame(self) -> pd.DataFrame:
        return self.table.frame()


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
    "ooa_no_compatible_unit",
    "ooa_compatible_units_full",
    "ooa_max_wait_passed",
    "ooa_admissions_female",
    "ooa_admissions_male",
    "left_for_adult_services",
)
"""Episode counts, in report order (zero-filled for every service and place)."""

_STATISTICS = {
    "wait_mean_days": "mean",
    "wait_p90_days": "p90",
    "waited_pct": "pct",
    "ooa_admission_pct": "pct",
    "distance_mean_miles": "mean",
    "los_mean_days": "mean",
    "waited_week_pct": "pct",
    "wait_mean_days_female": "mean",
    "wait_mean_days_male": "mean",
    "ooa_search_days_mean": "mean",
    "los_median_km_days": "km",
}
"""Episode statistics and how each is computed, in report order (only where defined)."""


def _nansum(values: Iterable[float]) -> float:
    return math.fsum(v for v in values if v == v)


def km_median(entry: np.ndarray, duration: np.ndarray, event: np.ndarray) -> float:
    """Kaplan-Meier median with late entry: the first time the survival falls to 1/2.

    At each time ``t`` a stay ended, those at risk are the stays observed from before
    ``t`` (``entry < t``) and lasting at least ``t``.

    >>> km_median(np.zeros(4), np.array([10.0, 20.0, 30.0, 40.0]), np.ones(4, bool))
    20.0
    >>> km_median(np.zeros(3), np.array([10.0, 50.0, 50.0]), np.array([True, False, False]))
    nan
    """
    times = np.unique(duration[event])
    if not len(times):
        return _NAN
    entries, ends = np.sort(entry), np.sort(duration)
    at_risk = np.searchsorted(entries, times, side="left") - np.searchsorted(
        ends, times, side="left"
    )
    ended = np.bincount(np.searchsorted(times, duration[event]), minlength=len(times))
    with np.errstate(invalid="ignore", divide="ignore"):
        survival = np.cumprod(1.0 - ended / np.maximum(at_risk, 1))
    below = np.flatnonzero(survival <= 0.5)
    return float(times[below[0]]) if len(below) else _NAN


def km_medians(
    group: np.ndarray, size: int, entry: np.ndarray, duration: np.ndarray, event: np.ndarray
) -> np.ndarray:
    """:func:`km_median` of the stays of each group ``0 .. size-1`` (NaN if none ended).

    The event times, the stays at risk and the stays ended at each are found for every
    group at once; only the running product of the survival is taken group by group.
    """
    medians = np.full(size, _NAN)
    if not len(group):
        return medians
    # Ranked among every entry and duration, a stay's times order as integers, and
    # group * span + rank orders stays by group, then time.
    values, rank = np.unique(np.concatenate([entry, duration]), return_inverse=True)
    span = len(values)
    entry_key, end_key = np.split(np.tile(group, 2) * span + rank.reshape(-1), 2)
    times, ended = np.unique(end_key[event], return_counts=True)
    # At risk at a time: entered before it, less those ended before it (earlier
    # groups' stays count once in each, so cancel out).
    at_risk = np.searchsorted(np.sort(entry_key), times, side="left") - np.searchsorted(
        np.sort(end_key), times, side="left"
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = 1.0 - ended / np.maximum(at_risk, 1)
    times_group, times_rank = np.divmod(times, span)
    new_group = np.ones(len(times), dtype=bool)
    new_group[1:] = times_group[1:] != times_group[:-1]
    bounds = [*np.flatnonzero(new_group).tolist(), len(times)]
    for start, stop in pairwise(bounds):
        below = np.flatnonzero(np.cumprod(factor[start:stop]) <= 0.5)
        if len(below):
            medians[times_group[start]] = values[times_rank[start + below[0]]]
    return medians


def _quantiles(
    keys: np.ndarray, values: np.ndarray, q: float, size: int, by_value: np.ndarray
) -> np.ndarray:
    """The ``q`` quantile of the values of each key in ``0 .. size-1`` (NaN if none).

    Linear interpolation between order statistics at ``q (n - 1)``, as pandas and numpy.
    ``by_value`` is the stable order of ``values``, shared by every grouping of them.
    """
    result = np.full(size, _NAN)
    if not len(keys):
        return result
    order = by_value[np.argsort(keys[by_value], kind="stable")]  # by key, then value
    values = values[order]
    counts = np.bincount(keys, minlength=size)
    unique = np.flatnonzero(counts)
    first = (np.cumsum(counts) - counts)[unique]  # where each key's values begin
    counts = counts[unique]
    h = q * (counts - 1)
    low = np.floor(h).astype(np.intp)
    frac = h - low
    below = values[first + low]
    above = values[first + np.minimum(low + 1, counts - 1)]
    result[unique] = np.where(frac == 0.0, below, below + (above - below) * frac)
    return result


def _texts(values: Iterable[str]) -> Any:
    """Strings as the array a frame makes of a list of them, to take its columns from."""
    return pd.Series(list(values)).array


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
    # Its text columns are taken from the distinct texts, not built from a list per row.
    dimensions = ("pathway", "service", "resource", "measure")
    columns: dict[str, Any]
    if labels:
        month = np.tile(np.arange(n), len(labels))
        series = np.repeat(np.arange(len(labels)), n)
        columns = {
            "month": _texts(cal.months).take(month),
            "financial_year": _texts(cal.financial_years).take(month),
        }
        for i, name in enumerate(dimensions):
            columns[name] = _texts([label[i] for label in labels]).take(series)
    else:
        columns = {name: [] for name in ("month", "financial_year", *dimensions)}
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
