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

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.model import ModelOutput
from simulation.recorders import EPISODE_FIELDS
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
    "cost_total_gbp": KpiInfo("Total spend", "£", "in-area beds, out-of-area beds and community"),
}

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


def episodes_frame(output: ModelOutput) -> pd.DataFrame:
    """The episode records as a DataFrame (one row per stay in a service)."""
    rows = [tuple(getattr(e, f) for f in EPISODE_FIELDS) for e in output.episodes]
    frame = pd.DataFrame.from_records(rows, columns=list(EPISODE_FIELDS))
    for column in frame.columns:
        if column.endswith("_day") or column == "distance_miles":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


class _Periods:
    """Assigns model days to financial years of the reported period."""

    def __init__(self, output: ModelOutput):
        cal = output.calendar
        self.years = cal.financial_year_list()
        edges = np.asarray(cal.edges)
        fy = np.asarray(cal.financial_years)
        self.year_bounds = [
            (year, float(edges[:-1][fy == year].min()), float(edges[1:][fy == year].max()))
            for year in self.years
        ]
        self.horizon = cal.horizon_days

    def label(self, days: pd.Series) -> pd.Series:
        out = pd.Series(None, index=days.index, dtype=object)
        for year, start, end in self.year_bounds:
            out[(days >= start) & (days < end)] = year
        return out

    def overlap(self, start: pd.Series, end: pd.Series) -> dict[str, pd.Series]:
        """Days of each interval [start, end) falling in each year."""
        result: dict[str, pd.Series] = {}
        for year, a, b in self.year_bounds:
            result[year] = (end.clip(upper=b) - start.clip(lower=a)).clip(lower=0.0)
        return result


def _with_horizon(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame, frame.assign(period=HORIZON)], ignore_index=True)


class _Builder:
    def __init__(self, output: ModelOutput):
        self.output = output
        self.scenario = output.scenario
        self.periods = _Periods(output)
        self.all_periods = [*self.periods.years, HORIZON]
        self.services = self.scenario.services()
        self.places = [p.name for p in self.scenario.places]
        self.rows: list[pd.DataFrame] = []

    # -- generic aggregation ------------------------------------------------------------
    def _full_index(self, keys: tuple[str, ...]) -> pd.MultiIndex:
        combos = []
        for pathway, service in self.services:
            for place in self.places:
                full = {"pathway": pathway, "service": service, "place": place}
                combos.append(tuple(full[k] for k in keys))
        combos = list(dict.fromkeys(combos))
        tuples = [(*c, period) for c in combos for period in self.all_periods]
        return pd.MultiIndex.from_tuples(tuples, names=[*keys, "period"])

    def aggregate(
        self, kpi: str, frame: pd.DataFrame, how: str, value: str = "value", fill: bool = True
    ) -> None:
        """Aggregate ``frame`` (pathway, service, place, period, value) at every grouping."""
        frame = _with_horizon(frame)
        pieces = []
        for keys in _GROUPINGS:
            grouped = frame.groupby([*keys, "period"], observed=True)[value]
            if how == "count":
                series = grouped.size().astype(float)
            elif how == "sum":
                series = grouped.sum()
            elif how == "mean":
                series = grouped.mean()
            elif how == "p90":
                series = grouped.quantile(0.9)
            elif how == "pct":
                series = grouped.mean() * 100
            else:  # pragma: no cover - programming error
                raise ValueError(how)
            if fill:
                series = series.reindex(self._full_index(keys), fill_value=0.0)
            piece = series.rename("value").reset_index()
            for dim in ("service", "place"):
                if dim not in keys:
                    piece[dim] = ALL
            pieces.append(piece)
        result = pd.concat(pieces, ignore_index=True)
        result["unit"] = ALL
        result["kpi"] = kpi
        self.rows.append(result)

    def add_rows(self, kpi: str, frame: pd.DataFrame) -> None:
        """Add precomputed rows (any of the dimensions, a period and a value)."""
        frame = frame.copy()
        for dim in DIMENSIONS:
            if dim not in frame:
                frame[dim] = ALL
        frame["kpi"] = kpi
        self.rows.append(frame)

    # -- KPIs from episode records ------------------------------------------------------
    def episode_kpis(self, ep: pd.DataFrame) -> None:
        label = self.periods.label
        ep = ep.rename(columns={"home_place": "place"})
        referrals = ep[ep["source"] != "step_down"]

        def count(kpi: str, rows: pd.DataFrame, day: str) -> None:
            frame = rows.assign(period=label(rows[day]), value=1.0).dropna(subset=["period"])
            self.aggregate(kpi, frame, "count")

        count("referrals", referrals, "referral_day")
        count("readmissions", referrals[referrals["source"] == "readmission"], "referral_day")
        count("not_accepted", referrals[referrals["decision"] == "not_accepted"], "decision_day")
        count("diversions", referrals[referrals["decision"] == "diverted"], "decision_day")
        count("withdrawn", referrals[referrals["withdrawn_day"].notna()], "withdrawn_day")
        admitted = referrals[referrals["admission_day"].notna()]
        count("admissions", admitted, "admission_day")
        ooa = admitted["admitted_to"] == OUT_OF_AREA
        count("ooa_admissions", admitted[ooa], "admission_day")
        count("repatriations", ep[ep["repatriation_day"].notna()], "repatriation_day")
        count(
            "transfers_in",
            ep[(ep["source"] == "step_down") & ep["admission_day"].notna()],
            "admission_day",
        )
        count("step_downs", ep[ep["exit_to"].isin(["step_down_bed", "community"])], "exit_day")

        adm = admitted.assign(period=label(admitted["admission_day"])).dropna(subset=["period"])
        adm = adm.assign(
            wait=adm["admission_day"] - adm["decision_day"],
            ooa=(adm["admitted_to"] == OUT_OF_AREA).astype(float),
        )
        adm = adm.assign(waited=(adm["wait"] > 1e-9).astype(float))
        self.aggregate("wait_mean_days", adm, "mean", "wait", fill=False)
        self.aggregate("wait_p90_days", adm, "p90", "wait", fill=False)
        self.aggregate("waited_pct", adm, "pct", "waited", fill=False)
        self.aggregate("ooa_admission_pct", adm, "pct", "ooa", fill=False)
        self.aggregate("distance_mean_miles", adm, "mean", "distance_miles", fill=False)

        left = ep[ep["exit_day"].notna() & ep["admission_day"].notna()]
        left = left.assign(
            period=label(left["exit_day"]), los=left["exit_day"] - left["admission_day"]
        )
        self.aggregate("los_mean_days", left.dropna(subset=["period"]), "mean", "los", fill=False)

        # Out-of-area bed days by home place, from each stay's out-of-area interval.
        away = ep[ep["admitted_to"] == OUT_OF_AREA]
        end = away["repatriation_day"].fillna(away["exit_day"]).fillna(self.periods.horizon)
        pieces = [
            away.assign(period=year, value=days.to_numpy())
            for year, days in self.periods.overlap(away["admission_day"], end).items()
        ]
        if pieces:
            frame = pd.concat(pieces, ignore_index=True)
            self.aggregate("ooa_bed_days", frame, "sum")

    # -- KPIs from level recorders ------------------------------------------------------
    def _by_period(self, bins: np.ndarray) -> dict[str, float]:
        cal = self.output.calendar
        totals = pd.Series(bins).groupby(np.asarray(cal.financial_years)).sum()
        out = {year: float(totals.get(year, 0.0)) for year in self.periods.years}
        out[HORIZON] = float(np.sum(bins))
        return out

    def _period_days(self) -> dict[str, float]:
        return self._by_period(self.output.calendar.month_lengths())

    def level_kpis(self) -> None:
        out = self.output
        scenario = self.scenario
        days = self._period_days()
        rows: dict[str, list[dict[str, object]]] = {}

        def add(kpi: str, values: dict[str, float], **dims: str) -> None:
            for period, value in values.items():
                rows.setdefault(kpi, []).append({**dims, "period": period, "value": value})

        def per_period(values: dict[str, float], factor: float = 1.0) -> dict[str, float]:
            return {p: v * factor for p, v in values.items()}

        def mean(values: dict[str, float]) -> dict[str, float]:
            return {p: v / days[p] if days[p] else float("nan") for p, v in values.items()}

        cost_by_pathway: dict[str, dict[str, dict[str, float]]] = {}

        def cost(pathway: str, kind: str, values: dict[str, float]) -> None:
            slot = cost_by_pathway.setdefault(pathway, {}).setdefault(kind, {})
            for period, value in values.items():
                slot[period] = slot.get(period, 0.0) + value

        for (pathway, service), svc_units in self._units_by_service().items():
            service_days = {p: 0.0 for p in days}
            beds_total = 0
            for unit in svc_units:
                unit_days = self._by_period(out.unit_occupancy[unit.name])
                beds = out.unit_beds[unit.name]
                beds_total += beds
                dims = {"pathway": pathway, "service": service, "unit": unit.name}
                add("bed_days", unit_days, **dims)
                add("occupied_beds_mean", mean(unit_days), **dims)
                add("beds", {p: float(beds) for p in days}, **dims)
                add(
                    "occupancy_pct",
                    {
                        p: 100 * v / beds if beds else float("nan")
                        for p, v in mean(unit_days).items()
                    },
                    **dims,
                )
                cost(
                    pathway, "cost_inpatient_gbp", per_period(unit_days, unit.cost_per_bed_day_gbp)
                )
                for p, v in unit_days.items():
                    service_days[p] += v
            dims = {"pathway": pathway, "service": service}
            add("bed_days", service_days, **dims)
            add("occupied_beds_mean", mean(service_days), **dims)
            add("beds", {p: float(beds_total) for p in days}, **dims)
            add(
                "occupancy_pct",
                {
                    p: 100 * v / beds_total if beds_total else float("nan")
                    for p, v in mean(service_days).items()
                },
                **dims,
            )
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

        for pathway in scenario.pathways:
            kinds = cost_by_pathway.get(pathway, {})
            total = {p: 0.0 for p in days}
            for kind in ("cost_inpatient_gbp", "cost_ooa_gbp", "cost_community_gbp"):
                values = {p: kinds.get(kind, {}).get(p, 0.0) for p in days}
                add(kind, values, pathway=pathway)
                for p, v in values.items():
                    total[p] += v
            add("cost_total_gbp", total, pathway=pathway)

        frame_rows: dict[str, pd.DataFrame] = {kpi: pd.DataFrame(r) for kpi, r in rows.items()}
        # Pathway totals of additive service-level KPIs.
        for kpi in (
            "bed_days",
            "delayed_discharge_days",
            "beds",
            "occupied_beds_mean",
            "ooa_census_mean",
            "waiting_list_mean",
        ):
            frame: pd.DataFrame = frame_rows[kpi]
            service_level = frame[frame["unit"].isna()] if "unit" in frame else frame
            totals = service_level.groupby(["pathway", "period"])["value"].sum().reset_index()
            frame_rows[kpi] = pd.concat([frame, totals], ignore_index=True)
        bed_rows = frame_rows["beds"]
        occupied = frame_rows["occupied_beds_mean"]
        pathway_beds = bed_rows[bed_rows["service"].isna()].set_index(["pathway", "period"])[
            "value"
        ]
        pathway_occ = occupied[occupied["service"].isna()].set_index(["pathway", "period"])["value"]
        pct = (100 * pathway_occ / pathway_beds.replace(0, np.nan)).rename("value").reset_index()
        frame_rows["occupancy_pct"] = pd.concat(
            [frame_rows["occupancy_pct"], pct], ignore_index=True
        )
        for team_kpi in ("community_caseload_mean", "community_places_mean"):
            if team_kpi in frame_rows:
                frame = frame_rows[team_kpi]
                totals = frame.groupby(["pathway", "period"])["value"].sum().reset_index()
                frame_rows[team_kpi] = pd.concat([frame, totals], ignore_index=True)
        # The collaborative's totals across pathways.
        for kpi in ("cost_inpatient_gbp", "cost_ooa_gbp", "cost_community_gbp", "cost_total_gbp"):
            frame = frame_rows[kpi]
            totals = frame.groupby("period")["value"].sum().reset_index()
            frame_rows[kpi] = pd.concat([frame, totals], ignore_index=True)
        for kpi, frame in frame_rows.items():
            self.add_rows(kpi, frame)

    def _units_by_service(self) -> dict[tuple[str, str], list]:  # type: ignore[type-arg]
        return {
            (pathway, service): list(self.scenario.units_of(pathway, service))
            for pathway, service in self.services
        }

    def frame(self) -> pd.DataFrame:
        frame = pd.concat(self.rows, ignore_index=True)
        for dim in DIMENSIONS:
            frame[dim] = frame[dim].fillna(ALL).astype(str)
        frame["value"] = frame["value"].astype(float)
        return frame[[*DIMENSIONS, "period", "kpi", "value"]]


def kpi_rows(output: ModelOutput) -> pd.DataFrame:
    """All KPIs of one replication as tidy rows (without replication or scenario columns)."""
    builder = _Builder(output)
    builder.episode_kpis(episodes_frame(output))
    builder.level_kpis()
    return builder.frame()


def monthly_rows(output: ModelOutput) -> pd.DataFrame:
    """Monthly time-averages of the levels: occupancy, waiting list, out of area, caseload."""
    cal = output.calendar
    lengths = cal.month_lengths()
    pieces = []

    def add(measure: str, pathway: str, service: str, resource: str, bins: Iterable[float]) -> None:
        pieces.append(
            pd.DataFrame(
                {
                    "month": cal.months,
                    "financial_year": cal.financial_years,
                    "pathway": pathway,
                    "service": service,
                    "resource": resource,
                    "measure": measure,
                    "value": np.asarray(list(bins)) / lengths,
                }
            )
        )

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
    return pd.concat(pieces, ignore_index=True)


def referral_states(output: ModelOutput) -> pd.Series:
    """Where each referral (by ``referral_id``) is at the end of the run.

    One of: assessment, not_accepted, diverted, withdrawn, waiting, in_bed, out_of_area,
    in_community, discharged. The state of a referral that stepped down is that of the
    last stay in its chain.
    """
    ep = episodes_frame(output)
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
