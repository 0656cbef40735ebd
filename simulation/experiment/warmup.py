"""Warm-up: how long the model must run before its output is representative.

A run that starts empty (no patients in beds, nobody waiting) is biased low until the
beds fill, the waiting lists build and, for stays of years, the long-stay patients have
accumulated: like a new unit that takes years to reach the mix of a unit that has been
open for decades. The warm-up is the stretch of simulated time discarded before the
reported period; too short biases every KPI, too long wastes run time.

Two methods, both on the monthly series of an empty-start run, averaged over
replications. **MSER-5** (White 1997; White, Cobb and Spratt 2000; recommended by Hoad,
Robinson and Davies 2008 for automation) groups the series into batch means of five
months and picks the truncation ``d`` that minimises the squared standard error of the
mean of what is left, ``Σ_{i>d} (Z_i − Z̄_d)² / (m − d)²``; only the first half is
searched, and a minimum there means the series has settled. **Welch's method** smooths
the averaged series with a moving window so that the eye can see where it flattens; the
plot is :func:`simulation.plots.welch_plot`.

:func:`analyse_warmup` runs a scenario from empty for long enough, with demand growth
held at zero and dated changes and reinvestment left out (a trend or a planned change
is not start-up bias, and would never settle), and recommends the longest MSER-5
truncation over the pathways' occupied beds, waiting lists, out-of-area census,
delayed discharges and community caseloads.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulation.experiment.experiment import Progress, run_experiment
from simulation.scenario.loading import derive
from simulation.scenario.schema import PATHWAY_LABELS, Scenario

MEASURES = (
    "occupied_beds",
    "waiting_list",
    "out_of_area_census",
    "delayed_discharges",
    "community_caseload",
)
"""Monthly measures examined for a warm-up, each summed over a pathway's services."""

MEASURE_LABELS = {
    "occupied_beds": "Occupied beds",
    "waiting_list": "Waiting list",
    "out_of_area_census": "Out-of-area census",
    "delayed_discharges": "Delayed discharges",
    "community_caseload": "Community caseload",
}

MAX_RUN_YEARS = 50.0
"""The longest horizon a scenario accepts, and so the longest warm-up analysis run."""


@dataclass(frozen=True)
class MserResult:
    """The MSER truncation of one series."""

    truncation: int
    """Observations to discard from the start (a multiple of the batch size)."""
    batch_size: int
    statistic: np.ndarray
    """MSER at each truncation of 0, 1, 2, ... batches (searched half only)."""
    settled: bool
    """True if the minimum lies in the first half of the series (the usual rule); False
    if the series is too short or still changing: run longer."""


def mser(series: Sequence[float] | np.ndarray, batch_size: int = 5) -> MserResult:
    """Marginal standard error rule on batch means of ``batch_size`` observations.

    Leftover observations at the end (fewer than a batch) are dropped. Truncations up to
    half the batches are searched; ties go to the shortest.

    >>> result = mser([9.0] * 10 + [1.0, 0.0] * 20, batch_size=2)
    >>> result.truncation, result.settled
    (10, True)
    """
    x = np.asarray(series, dtype=float)
    batches = len(x) // batch_size
    if batches < 2:
        raise ValueError(
            f"a series of {len(x)} observations is too short for MSER with batches of "
            f"{batch_size}: at least {2 * batch_size} are needed"
        )
    z = x[: batches * batch_size].reshape(batches, batch_size).mean(axis=1)
    # Squared deviations of batches d.. from their mean, for every d, from suffix sums.
    suffix_sum = np.cumsum(z[::-1])[::-1]
    suffix_sq = np.cumsum((z * z)[::-1])[::-1]
    remaining = batches - np.arange(batches)
    deviations = np.maximum(suffix_sq - suffix_sum * suffix_sum / remaining, 0.0)
    statistic = deviations / remaining.astype(float) ** 2
    searched = statistic[: batches // 2 + 1]
    scale = float(np.max(np.abs(searched))) or 1.0
    best = int(np.argmin(np.round(searched / scale, 12)))
    # The minimum over (nearly) all truncations must fall in the first half; the last
    # few batches are left out, as a handful of points can look spuriously steady.
    tail = statistic[: max(batches // 2 + 1, batches - 9)]
    overall = int(np.argmin(np.round(tail / scale, 12)))
    settled = overall <= batches // 2
    return MserResult(best * batch_size, batch_size, searched, settled)


def mser5(series: Sequence[float] | np.ndarray) -> MserResult:
    """MSER-5: :func:`mser` on batch means of five observations (here, months).

    >>> mser5([50.0] * 10 + [100.0] * 90).truncation
    10
    >>> import numpy as np
    >>> steady = np.random.default_rng(1).normal(100.0, 5.0, 120)
    >>> mser5(steady).truncation
    0
    """
    return mser(series, 5)


def steady_after(
    series: Sequence[float] | np.ndarray,
    truncation: int,
    batch_size: int = 5,
    tolerance: float = 0.1,
    significance: float = 0.01,
) -> bool:
    """Whether what is left after ``truncation`` shows no drift.

    MSER can keep a long flat start (a queue that is empty for years before it builds),
    because flat data look precise; this check catches that and a series still rising.
    Drift is a difference between the means of the two halves' batch means that is
    material (over ``tolerance`` of the mean left) and clear, either between the halves
    (Welch's t-test at ``significance``) or along the batches (a line through them, its
    slope tested at ``significance`` and its rise over them material): a series rising
    steadily over few batches (two against three) passes the first test and fails the
    second. A series constant for the first quarter of what is left that then moves
    materially away from that value has not started either; one held at a bound (every
    bed full) with small dips has.

    >>> steady_after([0.0] * 60 + [5.0, 7.0] * 30, 0)
    False
    >>> steady_after([5.0, 7.0] * 60, 0)
    True
    >>> steady_after(np.repeat([83.0, 93.0, 103.0, 111.0, 121.0], 5), 0)  # still rising
    False
    >>> steady_after([20.0] * 30 + [19.8] + [20.0] * 29, 0)  # held at its 20 beds
    True
    """
    x = np.asarray(series, dtype=float)[truncation:]
    batches = len(x) // batch_size
    if batches < 4:
        return False
    z = x[: batches * batch_size].reshape(batches, batch_size).mean(axis=1)
    level = abs(float(z.mean()))
    quarter = z[: max(2, batches // 4)]
    if np.ptp(quarter) == 0.0 and np.ptp(z) > 0.0:
        flat = float(quarter[0])
        moved = abs(float(z[len(quarter) :].mean()) - flat)
        if moved > tolerance * max(level, abs(flat)):
            return False  # flat for a quarter of what is left, then not: it has not started
    first, second = z[: batches // 2], z[batches // 2 :]
    difference = abs(float(second.mean() - first.mean()))
    if difference <= tolerance * level or difference == 0.0:
        return True
    from scipy import stats  # imported at first use, as in results.analysis

    if _rises_clearly(z, tolerance * level, significance):
        return False
    if first.std() == 0.0 and second.std() == 0.0:
        return False
    p_value = float(stats.ttest_ind(first, second, equal_var=False).pvalue)
    return p_value >= significance


def _rises_clearly(z: np.ndarray, material: float, significance: float) -> bool:
    """Whether a line through batch means rises (or falls) by more than ``material``, clearly.

    Batch means of a slowly varying series are themselves correlated, which makes a
    plain regression's test see trends in noise; the slope's standard error is widened
    for the residuals' lag-1 autocorrelation (the usual AR(1) factor), with the degrees
    of freedom of the effective number of batches.
    """
    from scipy import stats

    n = len(z)
    t = np.arange(n, dtype=float)
    fit = stats.linregress(t, z)
    if abs(fit.slope) * (n - 1) <= material:
        return False
    residuals = z - (fit.intercept + fit.slope * t)
    centred = residuals - residuals.mean()
    denominator = float(centred @ centred)
    r = float(centred[1:] @ centred[:-1]) / denominator if denominator > 0.0 else 0.0
    r = min(max(r, 0.0), 0.9)
    inflation = math.sqrt((1.0 + r) / (1.0 - r))
    if fit.stderr == 0.0:
        return True  # on a line exactly
    effective = max(3.0, n * (1.0 - r) / (1.0 + r))
    statistic = abs(fit.slope) / (fit.stderr * inflation)
    p_value = 2.0 * float(stats.t.sf(statistic, effective - 2.0))
    return p_value < significance


def welch_average(series: Sequence[float] | np.ndarray, window: int) -> np.ndarray:
    """Welch's moving average with half-window ``window`` (Law and Kelton's form).

    Point ``i`` is the mean of points ``i-w .. i+w``; near the start, where that does
    not fit, of ``0 .. 2i``. The last ``window`` points are not defined (NaN).

    >>> welch_average([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 1).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, nan]
    """
    x = np.asarray(series, dtype=float)
    out = np.full(len(x), np.nan)
    cumulative = np.concatenate([[0.0], np.cumsum(x)])
    for i in range(len(x) - window):
        half = min(i, window)
        out[i] = (cumulative[i + half + 1] - cumulative[i - half]) / (2 * half + 1)
    return out


def warmup_series(monthly: pd.DataFrame) -> pd.DataFrame:
    """Each pathway's monthly measures, summed over its services and averaged over replications.

    Columns: ``month, pathway, measure, value``, months in order.
    """
    rows = monthly[monthly["measure"].isin(MEASURES)]
    per_replication = rows.groupby(["replication", "month", "pathway", "measure"], sort=False)[
        "value"
    ].sum()
    mean = per_replication.groupby(["month", "pathway", "measure"], sort=False).mean()
    return mean.reset_index().sort_values(["pathway", "measure", "month"], kind="stable")


def month_start_days(months: Sequence[str], start_date: dt.date) -> list[float]:
    """Days from ``start_date`` to the start of each ``YYYY-MM`` month (the first is 0).

    >>> month_start_days(["2026-04", "2026-05", "2027-04"], dt.date(2026, 4, 1))
    [0.0, 30.0, 365.0]
    """
    days = []
    for i, label in enumerate(months):
        first = dt.date(int(label[:4]), int(label[5:7]), 1)
        days.append(0.0 if i == 0 else float((first - start_date).days))
    return days


def analysis_scenario(scenario: Scenario, years: float) -> Scenario:
    """The scenario as a warm-up analysis runs it: from its start state, for ``years``.

    No warm-up (it starts empty, or from its census), demand growth held at zero, no
    dated changes and no reinvestment, so that what is left to settle is start-up bias.

    >>> from simulation.api import demo_scenario, load
    >>> s = load(demo_scenario(), {"pathways.adult_ed.annual_growth": 0.03})
    >>> run = analysis_scenario(s, 12)
    >>> run.warmup_days, run.horizon_years, run.pathways["adult_ed"].annual_growth
    (0.0, 12.0, 0.0)
    """
    changes: dict[str, Any] = {f"pathways.{name}.annual_growth": 0.0 for name in scenario.pathways}
    changes.update(warmup_days=0.0, horizon_years=float(years), changes=(), reinvestment=())
    return derive(scenario, changes, {"horizon_years": "the years of the warm-up analysis"})


def default_years(scenario: Scenario) -> float:
    """Run length for an analysis, 10 to 50 years.

    Four times the present warm-up, and at least ten mean lengths of stay of the longest
    service (a system of long stays fills over several of them, and MSER needs the
    settled part to be at least as long as the transient).

    >>> from simulation.api import demo_scenario, load
    >>> default_years(load(demo_scenario())), default_years(load(demo_scenario(),
    ...     {"warmup_days": 3653}))
    (10.0, 41.0)
    """
    stays = [
        service.length_of_stay.mean_days
        for spec in scenario.pathways.values()
        for service in spec.services.values()
    ]
    years = max(4 * scenario.warmup_days, 10 * max(stays, default=0.0)) / 365.25
    return float(min(MAX_RUN_YEARS, max(10.0, math.ceil(years))))


def _series_label(row: Mapping[Any, Any]) -> str:
    pathway = PATHWAY_LABELS.get(str(row["pathway"]), str(row["pathway"]))
    measure = MEASURE_LABELS.get(str(row["measure"]), str(row["measure"])).lower()
    return f"{pathway} {measure}"


@dataclass
class WarmupAnalysis:
    """What :func:`analyse_warmup` found for one scenario."""

    scenario: str
    start_date: dt.date
    years: float
    replications: int
    current_warmup_days: float
    from_census: bool
    """True if the run started from the scenario's census rather than empty."""
    series: pd.DataFrame
    """:func:`warmup_series` of the empty-start run: ``month, pathway, measure, value``."""
    table: pd.DataFrame
    """One row per pathway and measure: ``truncation_months``, ``truncation_days``,
    ``settled`` (the MSER-5 minimum fell in the first half of the run and what is left
    does not drift: :func:`steady_after`)."""

    @property
    def recommended_days(self) -> float:
        """The longest MSER-5 truncation, in days: the warm-up to use."""
        return float(self.table["truncation_days"].max()) if len(self.table) else 0.0

    @property
    def settled(self) -> bool:
        """True if every series settled within the first half of the run."""
        return bool(self.table["settled"].all())

    @property
    def binding(self) -> dict[str, Any]:
        """The row of the series that sets the recommendation (the first, on a tie)."""
        position = int(self.table["truncation_days"].to_numpy().argmax())
        return dict(self.table.iloc[position])

    def message(self) -> str:
        """The recommendation in a sentence or two."""
        days = self.recommended_days
        what = _series_label(self.binding)
        found = f"{days:,.0f} days"
        if days > 0:
            found += f" ({days / 365.25:.1f} years), set by {what}"
        if self.from_census:
            text = f"From its census, MSER-5 finds a warm-up of {found}" + (
                ": the census start is already warm." if days == 0 else "."
            )
        else:
            text = (
                f"MSER-5 recommends a warm-up of {found}; the scenario has "
                f"{self.current_warmup_days:,.0f} days."
            )
        if not self.settled:
            unsettled = self.table[~self.table["settled"]]
            names = ", ".join(_series_label(row) for row in unsettled.to_dict("records"))
            text += (
                f" Still changing after MSER-5's cut in the {self.years:g}-year run: {names}; "
                "run longer (more years) or with more replications before trusting the "
                "recommendation."
            )
        return text


def analyse_warmup(
    scenario: Scenario,
    years: float | None = None,
    replications: int = 5,
    workers: int | None = None,
    progress: Progress | None = None,
) -> WarmupAnalysis:
    """Run ``scenario`` from empty for ``years`` and apply MSER-5 to its monthly series.

    ``years`` defaults to :func:`default_years`. Replications share nothing with a
    normal run's numbers; their mean is analysed (Hoad et al.'s recommendation).

    >>> from simulation.api import demo_scenario, load
    >>> analysis = analyse_warmup(load(demo_scenario()), years=4, replications=2, workers=1)
    >>> sorted(analysis.table.measure)[:3], analysis.series.groupby("measure").size().iloc[0]
    (['delayed_discharges', 'occupied_beds', 'out_of_area_census'], np.int64(48))
    >>> analysis.message().startswith("MSER-5 recommends a warm-up of")
    True
    """
    years = default_years(scenario) if years is None else float(years)
    if not 0 < years <= MAX_RUN_YEARS:
        raise ValueError(f"years must be above 0 and at most {MAX_RUN_YEARS:g}, got {years}")
    run = analysis_scenario(scenario, years)
    result = run_experiment(run, replications=replications, workers=workers, progress=progress)
    series = warmup_series(result.monthly)
    rows = []
    for (pathway, measure), group in series.groupby(["pathway", "measure"], sort=False):
        values = group["value"].to_numpy(dtype=float)
        found = mser5(values)
        days = month_start_days(list(group["month"]), scenario.start_date)
        rows.append(
            {
                "pathway": pathway,
                "measure": measure,
                "truncation_months": found.truncation,
                "truncation_days": days[found.truncation] if found.truncation < len(days) else 0,
                "settled": found.settled and steady_after(values, found.truncation),
            }
        )
    return WarmupAnalysis(
        scenario=scenario.name,
        start_date=scenario.start_date,
        years=years,
        replications=replications,
        current_warmup_days=scenario.warmup_days,
        from_census=bool(scenario.census_patients),
        series=series,
        table=pd.DataFrame(rows),
    )
