"""The back-test: the fitted model, run over the extract's period, against the extract.

A fitted scenario is only as good as its ability to reproduce what was observed. The
back-test starts the fitted model from the census at the *start* of the extract's
period (the patients then in beds, waiting and in assessment), with the referral rate
taken back to that date by the fitted growth, runs it over the period with the base's
capacity, and compares month by month with the extract:

- admissions (first admissions, in or out of area) per pathway and service;
- occupied footprint beds (time-average) per service;
- patients out of area (time-average) per service.

The error is stated per series as the mean absolute error of the monthly simulated mean
against the observed, relative to the observed mean; the bias over the period; and the
share of months in which the observation lies within the replications' 90% range (about
90% if the model is right and the replications are many). The scenario and census it
ran are written beside the report so the back-test can be rerun and inspected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.census import census_from_extract, community_caseload, waited_for
from calibration.extract import Extract
from calibration.writer import flow_scalar, number, relative
from simulation.experiment.experiment import Progress, run_experiment
from simulation.model.resources import OUT_OF_AREA
from simulation.scenario.census import write_census
from simulation.scenario.loading import load_scenario
from simulation.scenario.schema import Scenario

MEASURES = ("admissions", "occupied_beds", "out_of_area")
"""What is compared month by month."""
MEASURE_LABELS = {
    "admissions": "Admissions a month",
    "occupied_beds": "Occupied footprint beds",
    "out_of_area": "Patients out of area",
}
ALL = "all"


@dataclass
class BackTest:
    """Observed and simulated monthly series over the extract's period, and the errors."""

    scenario: Scenario
    scenario_path: Path
    replications: int
    months: list[str]
    observed: pd.DataFrame
    """Columns pathway, service, measure, month, value."""
    simulated: pd.DataFrame
    """Columns pathway, service, measure, month, replication, value."""
    errors: pd.DataFrame
    """One row per pathway/service and measure (see :func:`error_table`)."""


def backtest_scenario(extract: Extract, fitted_path: Path, fitted: Scenario, folder: Path) -> Path:
    """Write the back-test scenario (extends the fitted one) and its census; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    census_path = folder / "backtest-census.csv"
    rows = census_from_extract(extract, 0, fitted, fitted.seed)
    rows += community_caseload(extract, fitted, 0, fitted.seed, waited_for(rows))
    write_census(census_path, rows)
    years_back = extract.period_days / 365.25
    lines = [
        "# The back-test: the fitted scenario run over the extract's period, from the",
        "# census at its start, with referral rates taken back to that date by the growth.",
        f"extends: {flow_scalar(relative(fitted_path, folder))}",
        f"name: {fitted.name}-backtest",
        f"start_date: {extract.start.isoformat()}",
        f"horizon_years: {extract.period_days / 365.25:.9f}",
        "warmup_days: 0",
        f"census: {flow_scalar(census_path.name)}",
        "changes: []",
        "reinvestment: []",
        "money: {budget_from: null, one_off_costs: []}",
        "pathways:",
    ]
    for pathway, spec in fitted.pathways.items():
        factor = (1 + spec.annual_growth) ** -years_back
        lines.append(f"  {pathway}:")
        lines.append("    services:")
        for service, svc in spec.services.items():
            rate = number(svc.referral_rate_per_100k_per_year * factor, 6)
            lines.append(f"      {service}: {{referral_rate_per_100k_per_year: {rate}}}")
    path = folder / "backtest.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _month_labels(start: dt.date, days: int) -> np.ndarray:
    dates = np.datetime64(start, "D") + np.arange(days)
    return np.datetime_as_string(dates, unit="M")


def observed_series(extract: Extract) -> pd.DataFrame:
    """Monthly admissions, occupied beds and patients out of area from the extract."""
    frame = extract.rows
    days = extract.period_days
    labels = _month_labels(extract.start, days)
    admitted = extract.day("admission_date")
    repatriated = extract.day("repatriation_date")
    discharged = extract.day("discharge_date")
    rows = []
    for (pathway, service), group in frame.groupby(["pathway", "service"], sort=False):
        index = group.index.to_numpy()
        a = admitted[index]
        first = (group["source"] != "step_down").to_numpy() & ~np.isnan(a) & (a >= 0)
        counts = pd.Series(labels[a[first].astype(int)]).value_counts()
        away = (group["admitted_to"] == OUT_OF_AREA).to_numpy()
        out = np.where(np.isnan(discharged[index]), days, discharged[index])
        back = np.where(np.isnan(repatriated[index]), out, repatriated[index])
        in_area_from = np.where(away, back, a)
        levels = {
            "occupied_beds": _daily_level(in_area_from, out, days),
            "out_of_area": _daily_level(
                np.where(away, a, np.nan), np.where(away, back, np.nan), days
            ),
        }
        by_month: dict[str, pd.Series] = {
            "admissions": counts,
            **{m: pd.Series(v).groupby(labels).mean() for m, v in levels.items()},
        }
        for measure, series in by_month.items():
            for month in dict.fromkeys(labels):
                rows.append((pathway, service, measure, month, float(series.get(month, 0.0))))
    return pd.DataFrame(rows, columns=["pathway", "service", "measure", "month", "value"])


def _daily_level(start: np.ndarray, stop: np.ndarray, days: int) -> np.ndarray:
    """Patients present on each day ``0 .. days-1`` (present from ``start`` to ``stop``)."""
    ok = ~np.isnan(start) & ~np.isnan(stop) & (stop > start)
    lo = np.clip(start[ok], 0, days).astype(int)
    hi = np.clip(stop[ok], 0, days).astype(int)
    change = np.zeros(days + 1)
    np.add.at(change, lo, 1)
    np.add.at(change, hi, -1)
    return np.cumsum(change)[:days]


def simulated_series(
    scenario: Scenario, events: pd.DataFrame, monthly: pd.DataFrame
) -> pd.DataFrame:
    """The same series from the replications' event logs and monthly levels."""
    days = int(scenario.horizon_days)
    labels = _month_labels(scenario.start_date, days)
    rows: list[tuple[object, ...]] = []
    first = events[(events["source"] != "step_down") & events["admission_day"].notna()]
    first = first[(first["admission_day"] >= 0) & (first["admission_day"] < days)]
    first = first.assign(month=labels[first["admission_day"].to_numpy().astype(int)])
    counts = first.groupby(["pathway", "service", "month", "replication"]).size()
    replications = sorted(events["replication"].unique()) if len(events) else []
    months = list(dict.fromkeys(labels))
    for pathway, service in scenario.services():
        for r in replications:
            for month in months:
                value = float(counts.get((pathway, service, month, r), 0))
                rows.append((pathway, service, "admissions", month, r, value))
    levels = monthly[monthly["measure"].isin(["occupied_beds", "out_of_area_census"])]
    levels = levels.assign(measure=levels["measure"].replace({"out_of_area_census": "out_of_area"}))
    summed = levels.groupby(["pathway", "service", "measure", "month", "replication"])[
        "value"
    ].sum()
    for key, value in summed.items():
        assert isinstance(key, tuple)
        rows.append((*key, float(value)))
    return pd.DataFrame(
        rows, columns=["pathway", "service", "measure", "month", "replication", "value"]
    )


def with_pathway_totals(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Add rows summed over services (``service == "all"``)."""
    totals = frame.groupby(["pathway", *keys])["value"].sum().reset_index()
    totals.insert(1, "service", ALL)
    return pd.concat([frame, totals[list(frame.columns)]], ignore_index=True)


def error_table(observed: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """Per pathway/service and measure: observed and simulated means, errors, coverage.

    ``mae`` is the mean absolute error of the monthly simulated mean against the
    observed; ``relative_mae`` divides it by the observed monthly mean; ``bias`` is
    (simulated - observed) / observed over the period; ``coverage`` is the share of
    months whose observation lies within the replications' 5th-95th percentile range.
    """
    keys = ["pathway", "service", "measure", "month"]
    band = simulated.groupby(keys)["value"].agg(
        sim_mean="mean",
        sim_low=lambda v: float(np.quantile(v, 0.05)),
        sim_high=lambda v: float(np.quantile(v, 0.95)),
    )
    joined = observed.set_index(keys).join(band, how="inner").reset_index()
    rows = []
    for (pathway, service, measure), g in joined.groupby(
        ["pathway", "service", "measure"], sort=False
    ):
        obs, sim = g["value"].to_numpy(), g["sim_mean"].to_numpy()
        mean_obs = float(obs.mean())
        mae = float(np.abs(sim - obs).mean())
        inside = (obs >= g["sim_low"].to_numpy() - 1e-9) & (obs <= g["sim_high"].to_numpy() + 1e-9)
        rows.append(
            {
                "pathway": pathway,
                "service": service,
                "measure": measure,
                "months": len(g),
                "observed_mean": mean_obs,
                "simulated_mean": float(sim.mean()),
                "mae": mae,
                "relative_mae": mae / mean_obs if mean_obs > 0 else np.nan,
                "bias": (float(sim.sum()) - float(obs.sum())) / float(obs.sum())
                if obs.sum() > 0
                else np.nan,
                "coverage": float(inside.mean()),
            }
        )
    return pd.DataFrame(rows)


def run_backtest(
    extract: Extract,
    fitted_path: Path,
    folder: Path,
    replications: int,
    workers: int | None = None,
    progress: Progress | None = None,
) -> BackTest:
    """Write, run and score the back-test of a fitted scenario."""
    fitted = load_scenario(fitted_path)
    path = backtest_scenario(extract, fitted_path, fitted, folder)
    scenario = load_scenario(path)
    result = run_experiment(
        scenario, replications=replications, workers=workers, keep_events=True, progress=progress
    )
    events = result.events
    assert events is not None
    observed = observed_series(extract)
    simulated = simulated_series(scenario, events, result.monthly)
    observed = with_pathway_totals(observed, ["measure", "month"])
    simulated = with_pathway_totals(simulated, ["measure", "month", "replication"])
    months = list(dict.fromkeys(_month_labels(scenario.start_date, int(scenario.horizon_days))))
    return BackTest(
        scenario=scenario,
        scenario_path=path,
        replications=replications,
        months=months,
        observed=observed,
        simulated=simulated,
        errors=error_table(observed, simulated),
    )
