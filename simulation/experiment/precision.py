"""How many replications: the confidence-interval method for a target precision.

Each replication is one independent observation of every KPI. With ``n`` of them the 95%
confidence interval of a KPI's mean is ``mean ± t(0.975, n-1) · s / √n``, so its
half-width shrinks like ``1/√n``: four times the replications for half the width. The
*confidence-interval method* (Robinson, *Simulation: the practice of model development
and use*, 2014, ch. 9; automated by Hoad, Robinson and Davies, JORS 2010) adds
replications until the half-width is within a target share of the mean, for example 5%:
the mean is then known to about ±5%, 19 times out of 20.

Two uses. :func:`replications_needed` applies the method to a sequence of replication
values, and :func:`cumulative_intervals` shows the interval narrowing as replications
are added. :func:`run_to_precision` runs scenarios in batches until every headline KPI
(over the horizon, per pathway) is precise enough, or a cap is reached, and says which.
Intervals come from :func:`simulation.results.analysis.summarise`, the same as every summary.
Batches never change a number: replication ``r`` depends only on (scenario, seed, r).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulation.experiment.experiment import ExperimentResult, Progress, combine, run_experiments
from simulation.results.analysis import KEYS, Moments, summarise, summary_table, t_quantile
from simulation.results.catalogue import ALL, HEADLINE_KPIS, HORIZON, KPI_INFO
from simulation.scenario.schema import MAX_REPLICATIONS, PATHWAY_LABELS, Scenario

DEFAULT_PRECISION = 0.05
"""Target half-width as a share of the mean: ±5%."""
DEFAULT_INITIAL = 10
"""Replications in the first batch."""
DEFAULT_CAP = 100
"""Most replications :func:`run_to_precision` runs unless told otherwise."""


def _relative(half_width: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Half-width over |mean|; 0 when the half-width is 0 (a KPI that never varies)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(half_width == 0, 0.0, half_width / np.abs(mean))
    return np.asarray(ratio, dtype=float)


def cumulative_intervals(values: Sequence[float] | np.ndarray, level: float = 0.95) -> pd.DataFrame:
    """The confidence interval after the first 1, 2, ..., n replications.

    One row per number of replications: ``replications, mean, sd, half_width, ci_low,
    ci_high, relative_half_width`` (the half-width over the absolute mean). With one
    replication there is no interval (NaN).

    >>> table = cumulative_intervals([10.0, 12.0, 8.0, 10.0])
    >>> print(table[["replications", "mean", "half_width"]].round(2).to_string(index=False))
     replications  mean  half_width
                1  10.0         NaN
                2  11.0       12.71
                3  10.0        4.97
                4  10.0        2.60
    """
    x = np.asarray(values, dtype=float)
    n = np.arange(1, len(x) + 1)
    mean = np.cumsum(x) / n
    squares = np.cumsum(x * x) - n * mean * mean
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.maximum(squares, 0.0) / (n - 1))
    quantile = t_quantile(0.5 + level / 2, np.maximum(n - 1, 1))
    half = np.where(n > 1, quantile * sd / np.sqrt(n), np.nan)
    sd = np.where(n > 1, sd, np.nan)
    return pd.DataFrame(
        {
            "replications": n,
            "mean": mean,
            "sd": sd,
            "half_width": half,
            "ci_low": mean - half,
            "ci_high": mean + half,
            "relative_half_width": _relative(half, mean),
        }
    )


def replications_needed(
    values: Sequence[float] | np.ndarray,
    precision: float = DEFAULT_PRECISION,
    level: float = 0.95,
    min_replications: int = 3,
    look_ahead: int = 0,
) -> int | None:
    """The fewest replications whose interval is within ``precision`` of the mean.

    The confidence-interval method on replication values in the order they were run:
    the smallest ``n`` (at least ``min_replications``) at which the half-width of the
    ``level`` interval is at most ``precision`` times the absolute mean, and stays so for
    the next ``look_ahead`` replications (Hoad et al.'s guard against a lucky early
    interval). ``None`` if the values given never get there.

    >>> replications_needed([100, 110, 90, 100, 100, 100], precision=0.1)
    5
    >>> replications_needed([100, 110, 90], precision=0.01) is None
    True
    """
    table = cumulative_intervals(values, level)
    ok = (table["relative_half_width"] <= precision).to_numpy()
    total = len(ok)
    for i in range(max(min_replications, 2) - 1, total):
        window = ok[i : min(i + look_ahead + 1, total)]
        if window.all():
            return i + 1
    return None


def projected_replications(n: int, relative_half_width: float, precision: float) -> float:
    """Replications a KPI would need, from its width now: ``n · (width / target)²``.

    >>> projected_replications(10, 0.10, 0.05)
    40
    """
    if math.isnan(relative_half_width):
        return math.inf
    return max(n, math.ceil(n * (relative_half_width / precision) ** 2 - 1e-9))


def headline_rows(
    kpis: pd.DataFrame, kpi_names: Sequence[str] = HEADLINE_KPIS, period: str = HORIZON
) -> pd.DataFrame:
    """The rows of the KPIs judged for precision: each pathway's total over ``period``."""
    return kpis[
        (kpis["service"] == ALL)
        & (kpis["unit"] == ALL)
        & (kpis["place"] == ALL)
        & (kpis["period"] == period)
        & (kpis["kpi"].isin(list(kpi_names)))
    ]


def precision_table(
    kpis: pd.DataFrame,
    precision: float = DEFAULT_PRECISION,
    level: float = 0.95,
    kpi_names: Sequence[str] = HEADLINE_KPIS,
    period: str = HORIZON,
) -> pd.DataFrame:
    """Per scenario, pathway and headline KPI: how wide its interval is against the target.

    ``kpis`` are per-replication KPI rows (with a ``scenario`` column when there are
    several). Columns: the keys, ``n, mean, half_width, relative_half_width, met`` and
    ``needed`` (the replications the KPI would need at its present spread). A KPI that
    never varies (always zero, say) is met; one undefined in every replication is left out.

    >>> from simulation.api import demo_scenario, run
    >>> table = precision_table(run(demo_scenario(), replications=4, workers=1).kpis, 0.2)
    >>> row = table.set_index("kpi").loc["referrals"]
    >>> int(row["n"]), bool(row["met"]) == bool(row["relative_half_width"] <= 0.2)
    (4, True)
    """
    return _judged(summarise(headline_rows(kpis, kpi_names, period), level), precision)


def _judged(summary: pd.DataFrame, precision: float) -> pd.DataFrame:
    """:func:`precision_table` from the summary of the headline rows."""
    summary = summary[summary["n"] > 0].copy()
    summary["relative_half_width"] = _relative(
        summary["half_width"].to_numpy(dtype=float), summary["mean"].to_numpy(dtype=float)
    )
    summary["met"] = summary["relative_half_width"] <= precision
    summary["needed"] = [
        projected_replications(int(n), float(r), precision)
        for n, r in zip(summary["n"], summary["relative_half_width"], strict=True)
    ]
    keys = [c for c in ("scenario", "pathway", "kpi") if c in summary.columns]
    columns = [*keys, "n", "mean", "half_width", "relative_half_width", "met", "needed"]
    return summary[columns].reset_index(drop=True)


class PrecisionTracker:
    """The headline KPIs' intervals, brought up to date as each replication is added.

    Holds running moments of the headline rows (see :class:`~simulation.results.analysis.Moments`),
    never the replications, so batches can be judged however many have run. With
    several scenarios the table has a ``scenario`` column, as :func:`precision_table`
    has for stacked KPI rows.
    """

    def __init__(
        self,
        scenarios: Sequence[str],
        precision: float = DEFAULT_PRECISION,
        level: float = 0.95,
        kpi_names: Sequence[str] = HEADLINE_KPIS,
        period: str = HORIZON,
    ):
        self.several = len(scenarios) > 1
        self.precision = precision
        self.level = level
        self.kpi_names = list(kpi_names)
        self.period = period
        self._moments = Moments(["scenario", *KEYS] if self.several else KEYS)

    def add(self, scenario: str, kpis: pd.DataFrame) -> None:
        """Add one replication's KPI rows of one scenario."""
        rows = headline_rows(kpis, self.kpi_names, self.period)
        self._moments.add(rows.assign(scenario=scenario) if self.several else rows)

    def table(self) -> pd.DataFrame:
        """The :func:`precision_table` of every replication added so far."""
        return _judged(summary_table(self._moments, self.level), self.precision)


@dataclass
class PrecisionReport:
    """What :func:`run_to_precision` did: the target, the stopping reason and the widths."""

    precision: float
    level: float
    max_replications: int
    replications: int
    reached: bool
    """True if every headline KPI met the target; False if the cap stopped the run."""
    table: pd.DataFrame
    """The last :func:`precision_table`."""
    history: list[int] = field(default_factory=list)
    """Replications after each batch."""

    @property
    def unmet(self) -> pd.DataFrame:
        """The KPIs still wider than the target, widest first."""
        unmet = self.table[~self.table["met"]]
        return unmet.sort_values("relative_half_width", ascending=False)

    def message(self, limit: int = 5) -> str:
        """One paragraph saying whether the target or the cap stopped the run, and why."""
        target = f"±{self.precision * 100:g}% of the mean"
        level = f"{self.level * 100:g}%"
        if self.reached:
            return (
                f"Target reached: with {self.replications} replications every headline KPI's "
                f"{level} confidence interval is within {target}."
            )
        unmet = self.unmet
        lines = []
        for row in unmet.head(limit).to_dict("records"):
            label = KPI_INFO[str(row["kpi"])].label if row["kpi"] in KPI_INFO else row["kpi"]
            pathway = PATHWAY_LABELS.get(str(row["pathway"]), str(row["pathway"]))
            where = f"{row['scenario']}, {pathway}" if "scenario" in row else pathway
            needed = row["needed"]
            need = "" if math.isinf(needed) else f", about {needed:,.0f} replications needed"
            lines.append(f"{label} ({where}): ±{row['relative_half_width']:.0%}{need}")
        more = len(unmet) - limit
        tail = f"; and {more} more" if more > 0 else ""
        return (
            f"Cap reached: stopped at the cap of {self.replications} replications; "
            f"{len(unmet)} headline KPI interval(s) still wider than {target}: "
            + "; ".join(lines)
            + tail
            + "."
        )


def _next_size(n: int, cap: int, table: pd.DataFrame) -> int:
    """Replications for the next round: the projection, at most double, at least one more."""
    unmet = table[~table["met"]]
    projected = float(unmet["needed"].max()) if len(unmet) else float(n + 1)
    return int(min(cap, max(n + 1, min(2 * n, projected))))


def to_precision(
    run_batch: Callable[[int, int], pd.DataFrame],
    precision: float = DEFAULT_PRECISION,
    max_replications: int = DEFAULT_CAP,
    initial: int = DEFAULT_INITIAL,
    level: float = 0.95,
) -> PrecisionReport:
    """The confidence-interval method's batches, whoever runs them.

    ``run_batch(first, end)`` runs replications ``first .. end-1`` of every scenario and
    returns the :func:`precision_table` over all replications run so far. The first
    batch has ``initial`` replications; after each, unless every headline KPI is within
    ``precision`` of its mean, the next goes as far as the widest KPI projects it needs,
    but never more than double and never beyond ``max_replications``. The batches depend
    only on the tables, so running them again from saved replications decides the same.

    >>> widths = iter([0.2, 0.1, 0.04])
    >>> def batch(first: int, end: int) -> pd.DataFrame:
    ...     width = next(widths)
    ...     return pd.DataFrame({"met": [width <= 0.05], "needed": [end * (width / 0.05) ** 2]})
    >>> to_precision(batch, 0.05, 100, initial=5).history
    [5, 10, 20]
    """
    if (
        isinstance(max_replications, bool)
        or not isinstance(max_replications, int)
        or not 2 <= max_replications <= MAX_REPLICATIONS
    ):
        raise ValueError(
            f"max_replications must be a whole number from 2 to {MAX_REPLICATIONS:,} (a "
            f"confidence interval needs two replications), got {max_replications!r}"
        )
    cap = max_replications
    target = max(2, min(initial, cap))
    history: list[int] = []
    n = 0
    while True:
        table = run_batch(n, target)
        n = target
        history.append(n)
        reached = bool(table["met"].all())
        if reached or n >= cap:
            return PrecisionReport(precision, level, cap, n, reached, table, history)
        target = _next_size(n, cap, table)


def run_to_precision(
    scenarios: Sequence[Scenario],
    precision: float = DEFAULT_PRECISION,
    max_replications: int = DEFAULT_CAP,
    initial: int = DEFAULT_INITIAL,
    level: float = 0.95,
    workers: int | None = None,
    keep_events: bool = False,
    progress: Progress | None = None,
    kpi_names: Sequence[str] = HEADLINE_KPIS,
    cluster: str | None = None,
) -> tuple[list[ExperimentResult], PrecisionReport]:
    """Run scenarios in batches until every headline KPI is precise enough, or the cap.

    Starts with ``initial`` replications of each scenario; after each batch checks every
    headline KPI of every scenario (over the horizon, per pathway) and, unless all are
    within ``precision`` of their mean, runs more (see :func:`to_precision`). Scenarios
    should share a seed (see :func:`simulation.experiment.comparison.aligned`); ``cluster`` is as
    for :func:`~simulation.experiment.experiment.run_experiment`. Returns one result per scenario
    and a :class:`PrecisionReport`.

    >>> from simulation.api import demo_scenario, load
    >>> runs, report = run_to_precision([load(demo_scenario())], 0.01, 6, initial=3, workers=1)
    >>> report.history, report.reached, len(runs[0].replications)
    ([3, 6], False, 6)
    """
    if not scenarios:
        raise ValueError("give at least one scenario")
    if not precision > 0:
        raise ValueError(f"precision must be a share above 0, got {precision}")
    batches: list[list[ExperimentResult]] = [[] for _ in scenarios]
    tracker = PrecisionTracker([s.name for s in scenarios], precision, level, kpi_names)

    def run_batch(first: int, end: int) -> pd.DataFrame:
        planned = end * len(scenarios)
        done_before = first * len(scenarios)

        def step(done: int, _: int) -> None:
            if progress:
                progress(done_before + done, planned)

        runs = run_experiments(
            scenarios,
            replications=end - first,
            workers=workers,
            keep_events=keep_events,
            progress=step,
            first=first,
            cluster=cluster,
        )
        for index, (scenario, batch) in enumerate(zip(scenarios, runs, strict=True)):
            batches[index].append(batch)
            for replication in batch.replications:
                tracker.add(scenario.name, replication.kpis)
        return tracker.table()

    report = to_precision(run_batch, precision, max_replications, initial, level)
    return [combine(*batch) for batch in batches], report
