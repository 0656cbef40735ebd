"""The researcher's API: load scenarios, run them, and read tidy results.

Four functions and one results object, for notebooks and scripts:

- :func:`load` a scenario from a file or a dict, with dotted overrides validated like
  the file (``{"units.Beacon Low Secure.beds": 60}``);
- :func:`run` one or more scenarios with replications and workers, or with
  ``replications="auto"`` until the headline KPIs' confidence intervals are narrow
  enough (:mod:`simulation.experiment.precision`);
- :func:`compare` alternatives with a base: paired differences under common random
  numbers (:mod:`simulation.experiment.comparison`);
- :func:`open_results` on a folder that ``pathways run`` or ``pathways compare`` (or
  :meth:`Results.save`) wrote.

A :class:`Results` holds tidy pandas DataFrames with a ``scenario`` column: per
replication KPIs, the summary with 95% CIs, monthly series, the ledger and, when asked,
the patient-level event log. Figures are in :mod:`simulation.plots`, the warm-up in
:mod:`simulation.experiment.warmup`. Nothing here computes a KPI or an interval: it calls the
same functions as the command line and arranges their tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml

from simulation.core.problems import InputError, Problem
from simulation.experiment.comparison import ComparisonResult, aligned, compare_results
from simulation.experiment.experiment import ExperimentResult, Progress, run_experiments
from simulation.experiment.precision import (
    DEFAULT_CAP,
    DEFAULT_PRECISION,
    PrecisionReport,
    run_to_precision,
)
from simulation.report.wording import (
    ADDITIVE_KPIS,
    estimate,
    feasible,
    kpi_label_with_unit,
    pathway_label,
)
from simulation.results.catalogue import ALL, HEADLINE_KPIS, HORIZON, KPI_INFO
from simulation.results.equity import EQUITY_KPIS, deprivation_gaps, quintile_summary
from simulation.scenario.explain import suggest
from simulation.scenario.inheritance import resolve
from simulation.scenario.loading import derive, scenario_to_yaml, validate_data
from simulation.scenario.overrides import apply_overrides
from simulation.scenario.schema import PATHWAY_LABELS, Scenario
from simulation.scenario.yamlsource import LocatedData, read_yaml_file
from simulation.store.reader import (
    ComparisonFolder,
    NotAResultsFolder,
    RunFolder,
    read_results_folder,
)
from simulation.store.writer import copy_results_folder, write_comparison, write_results

ScenarioLike = Scenario | str | Path | Mapping[str, Any]
"""A loaded scenario, the path of a scenario file, or a scenario as plain data."""


def demo_scenario(name: str = "demo") -> dict[str, Any]:
    """A one-unit adult eating disorder service as plain data: runs in a blink.

    Ten beds for one place of 200,000 people, about 0.7 referrals a week, stays of 60
    days on average and a one-year horizon: for trying the API and for its examples.

    >>> s = load(demo_scenario(), {"units.Unit.beds": 12})
    >>> s.units[0].beds
    12
    """
    return {
        "name": name,
        "start_date": "2026-04-01",
        "horizon_years": 1,
        "warmup_days": 180,
        "replications": 3,
        "seed": 1,
        "places": [{"name": "Home", "population": 200_000}],
        "units": [
            {
                "name": "Unit",
                "pathway": "adult_ed",
                "service": "inpatient",
                "place": "Home",
                "beds": 10,
                "cost_per_bed_day_gbp": 600,
                "linked_places": ["Home"],
            }
        ],
        "pathways": {
            "adult_ed": {
                "priority_mix": {"urgent": 0.2, "routine": 0.8},
                "assessment_delay": {"distribution": "fixed", "value": 7},
                "not_accepted_share": 0.1,
                "max_wait_days": {"urgent": 7, "routine": 60},
                "services": {
                    "inpatient": {
                        "referral_rate_per_100k_per_year": 20,
                        "length_of_stay": {"distribution": "gamma", "mean": 60, "sd": 30},
                        "out_of_area": {"cost_per_bed_day_gbp": 700, "distance_miles": 80},
                    }
                },
            }
        },
    }


def load(
    source: str | Path | Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    name: str = "<scenario>",
) -> Scenario:
    """Load and validate a scenario from a YAML file or plain data, with overrides.

    ``overrides`` maps dotted paths to new values (see :mod:`simulation.scenario.overrides`);
    they are validated with the rest, so a bad value is an
    :class:`~simulation.core.problems.InputError` naming the field, exactly as in a file.
    A dict may ``extends`` a file (relative to the working folder); ``name`` labels it
    in messages. The ``money.budget_from`` comparator always has the scenario's seed,
    start date and horizon, and overriding ``warmup_days`` sets its warm-up too, so that
    budgets and spend cover the same years after the same warm-up.

    >>> s = load(demo_scenario(), {"warmup_days": 365, "pathways.adult_ed.annual_growth": 0.02})
    >>> s.warmup_days, s.pathways["adult_ed"].annual_growth
    (365.0, 0.02)
    >>> try:
    ...     load(demo_scenario(), {"units.Unit.beds": -1})
    ... except InputError as error:
    ...     print(error.problems[0].field, "|", error.problems[0].message[-16:])
    units[0].beds | (from overrides)
    """
    if isinstance(source, Mapping):
        located = resolve(LocatedData(dict(source), {}, name))
    else:
        located = resolve(read_yaml_file(source))
    return validate_data(apply_overrides(located, overrides or {}))


def _as_scenario(item: ScenarioLike) -> tuple[Scenario, Path | None]:
    if isinstance(item, Scenario):
        return item, None
    if isinstance(item, Mapping):
        return load(item, name=str(item.get("name", "<scenario>"))), None
    return load(item), Path(item)


def _listed(items: ScenarioLike | Sequence[ScenarioLike]) -> list[ScenarioLike]:
    if isinstance(items, Scenario | str | Path | Mapping):
        return [items]
    return list(items)


def _frame(results: Sequence[ExperimentResult], part: str) -> pd.DataFrame | None:
    frames = []
    for result in results:
        frame = getattr(result, part)
        if frame is not None:
            frames.append(frame.assign(scenario=result.scenario.name))
    if not frames:
        return None
    return _scenario_first(pd.concat(frames, ignore_index=True))


def _scenario_first(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[:, ["scenario", *(c for c in frame.columns if c != "scenario")]]


def _stacked(runs: Sequence[RunFolder], part: str) -> pd.DataFrame | None:
    """One table of every run folder read back, with a ``scenario`` column first."""
    frames = [
        getattr(run, part).assign(scenario=run.name)
        for run in runs
        if getattr(run, part) is not None
    ]
    if not frames:
        return None
    return _scenario_first(pd.concat(frames, ignore_index=True))


@contextmanager
def _folder_not_found() -> Iterator[None]:
    """A folder that is not a complete results folder is, to a user, a file not found."""
    try:
        yield
    except NotAResultsFolder as error:
        raise FileNotFoundError(str(error)) from None


@dataclass(repr=False)
class Results:
    """Tidy results of one or more scenarios, run here or read from a folder.

    Every frame has a ``scenario`` column; the first scenario is the base of
    :attr:`comparison`.
    """

    names: list[str]
    """Scenario names, base first."""
    kpis: pd.DataFrame
    """One row per scenario, replication and KPI: ``scenario, replication, pathway,
    service, unit, place, period, kpi, value`` (``all`` marks a total over a dimension;
    ``period`` is a financial year or ``horizon``)."""
    summary: pd.DataFrame
    """Per scenario and KPI: ``mean, sd, n, ci_low, ci_high, half_width`` (95% t CI)."""
    monthly: pd.DataFrame
    """Monthly time-averages per replication: ``month, pathway, service, resource,
    measure, value`` (occupied beds per unit, waiting list, out of area, ...)."""
    ledger: pd.DataFrame | None = None
    """Money per replication, pathway and financial year: budget, spend, savings, ..."""
    events: pd.DataFrame | None = None
    """Patient-level episode records, when run with ``events=True``."""
    comparison: pd.DataFrame | None = None
    """Paired differences of each alternative from the base, with 95% CIs."""
    notes: dict[str, str] = field(default_factory=dict)
    """Per alternative: whether it shares the base's referrals, and what follows."""
    scenario_yaml: dict[str, str] = field(default_factory=dict)
    """Each scenario fully resolved, as YAML."""
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    """The scenarios run (empty for results read from a folder)."""
    precision: PrecisionReport | None = None
    """With ``replications="auto"``: the target, and whether it or the cap was reached."""
    path: Path | None = None
    """The folder these results were read from or last saved to."""
    _runs: list[ExperimentResult] = field(default_factory=list)
    _files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def from_runs(
        cls,
        runs: Sequence[ExperimentResult],
        files: Mapping[str, Path] | None = None,
        precision: PrecisionReport | None = None,
    ) -> Results:
        """Arrange experiment results (base first, same seed) as one :class:`Results`."""
        runs = list(runs)
        comparison: ComparisonResult | None = None
        if len(runs) > 1:
            comparison = compare_results(runs[0], runs[1:])
        kpis, summary, monthly = (_frame(runs, part) for part in ("kpis", "summary", "monthly"))
        assert kpis is not None and summary is not None and monthly is not None
        return cls(
            names=[r.scenario.name for r in runs],
            kpis=kpis,
            summary=summary,
            monthly=monthly,
            ledger=_frame(runs, "ledger"),
            events=_frame(runs, "events"),
            comparison=comparison.table if comparison else None,
            notes=comparison.notes if comparison else {},
            scenario_yaml={r.scenario.name: scenario_to_yaml(r.scenario) for r in runs},
            scenarios={r.scenario.name: r.scenario for r in runs},
            precision=precision,
            _runs=runs,
            _files=dict(files or {}),
        )

    @classmethod
    def open(cls, folder: str | Path) -> Results:
        """Read a folder written by ``pathways run``, ``pathways compare`` or :meth:`save`.

        Raises :class:`FileNotFoundError`, in one sentence, for a folder that is not a
        complete results folder.
        """
        with _folder_not_found():
            read = read_results_folder(folder)
            runs = read.runs if isinstance(read, ComparisonFolder) else (read,)
            kpis, summary, monthly = (_stacked(runs, p) for p in ("kpis", "summary", "monthly"))
            ledger, events = _stacked(runs, "ledger"), _stacked(runs, "events")
        assert kpis is not None and summary is not None and monthly is not None
        comparison = read if isinstance(read, ComparisonFolder) else None
        return cls(
            names=[run.name for run in runs],
            kpis=kpis,
            summary=summary,
            monthly=monthly,
            ledger=ledger,
            events=events,
            comparison=comparison.table if comparison else None,
            notes=comparison.notes if comparison else {},
            scenario_yaml={run.name: run.scenario_yaml for run in runs},
            path=read.path,
        )

    @property
    def base(self) -> str:
        """The first scenario's name: the base of the comparison."""
        return self.names[0]

    @property
    def replications(self) -> int:
        """Replications per scenario."""
        return int(self.kpis["replication"].nunique())

    def _scenario(self, scenario: str | None) -> str:
        """``scenario`` (the base if None), refused in a sentence if these results lack it."""
        if scenario is None:
            return self.base
        if scenario not in self.names:
            raise ValueError(
                f"no scenario {scenario!r} in these results, which hold "
                f"{', '.join(map(repr, self.names))}{suggest(scenario, self.names)}"
            )
        return scenario

    def _period(self, period: str, table: pd.DataFrame) -> str:
        """``period`` refused in a sentence if ``table`` has no rows of it."""
        periods = [str(p) for p in table["period"].drop_duplicates()]
        if period not in periods:
            year = next((p for p in periods if p != HORIZON), "2026/27")
            raise ValueError(
                f"no period {period!r} in these results: a period is {HORIZON!r} (the whole "
                f"run) or a financial year written like {year!r}{suggest(period, periods)}"
            )
        return period

    def headline(self, period: str = HORIZON) -> pd.DataFrame:
        """The headline KPIs per scenario and pathway, as the CLI's table shows them.

        Columns: ``scenario, pathway, kpi, label, unit, mean, ci_low, ci_high,
        half_width, n``. Counts, bed days and money are totals over ``period``.

        >>> r = run(demo_scenario(), replications=2, workers=1)
        >>> r.headline().set_index("kpi").loc["admissions", "n"]
        np.int64(2)
        """
        s = self.summary
        period = self._period(period, s)
        rows = s[
            (s["service"] == ALL)
            & (s["unit"] == ALL)
            & (s["place"] == ALL)
            & (s["period"] == period)
            & (s["kpi"].isin(HEADLINE_KPIS))
        ].copy()
        rows["label"] = rows["kpi"].map(lambda k: KPI_INFO[k].label)
        rows["unit"] = rows["kpi"].map(lambda k: KPI_INFO[k].unit)
        order = {k: i for i, k in enumerate(HEADLINE_KPIS)}
        pathways = {p: i for i, p in enumerate(PATHWAY_LABELS)}
        rows = rows.sort_values(
            ["scenario", "pathway", "kpi"],
            key=lambda c: (
                c.map(order if c.name == "kpi" else pathways).fillna(len(order))
                if c.name != "scenario"
                else c.map({n: i for i, n in enumerate(self.names)})
            ),
            kind="stable",
        )
        columns = ["scenario", "pathway", "kpi", "label", "unit"]
        columns += ["mean", "ci_low", "ci_high", "half_width", "n"]
        return rows[columns].reset_index(drop=True)

    def _quintiles(self, name: str) -> dict[str, int | None]:
        data = yaml.safe_load(self.scenario_yaml.get(name) or "{}") or {}
        return {str(p.get("name")): p.get("deprivation_quintile") for p in data.get("places") or []}

    def equity(self, scenario: str | None = None) -> pd.DataFrame:
        """Waits from referral, out-of-area share and distance by home place and quintile.

        Whole period, per pathway, each with its 95% CI: one row per home place
        (``group`` is ``place``) and per deprivation quintile (``group`` is
        ``quintile``, 1 the most deprived; each quintile averages over its places'
        admissions). Columns: ``scenario, pathway, group, name, kpi, mean, ci_low,
        ci_high, n``. :meth:`equity_gaps` gives the most against the least deprived.

        >>> r = run(demo_scenario(), replications=3, workers=1)
        >>> sorted(set(r.equity()["kpi"]))
        ['distance_mean_miles', 'ooa_admission_pct', 'wait_referral_mean_days']
        """
        name = self._scenario(scenario)
        s = self.summary[self.summary["scenario"] == name]
        places = s[
            (s["service"] == ALL)
            & (s["unit"] == ALL)
            & (s["place"] != ALL)
            & (s["period"] == HORIZON)
            & s["kpi"].isin(EQUITY_KPIS)
        ]
        by_place = pd.DataFrame(
            {
                "scenario": name,
                "pathway": places["pathway"],
                "group": "place",
                "name": places["place"].astype(str),
                "kpi": places["kpi"],
                "mean": places["mean"],
                "ci_low": places["ci_low"],
                "ci_high": places["ci_high"],
                "n": places["n"],
            }
        )
        kpis = self.kpis[self.kpis["scenario"] == name]
        quintiles = quintile_summary(kpis.drop(columns=["scenario"]), self._quintiles(name))
        by_quintile = pd.DataFrame(
            {
                "scenario": name,
                "pathway": quintiles["pathway"],
                "group": "quintile",
                "name": quintiles["quintile"].astype(str),
                "kpi": quintiles["kpi"],
                "mean": quintiles["mean"],
                "ci_low": quintiles["ci_low"],
                "ci_high": quintiles["ci_high"],
                "n": quintiles["n"],
            }
        )
        return pd.concat([by_place, by_quintile], ignore_index=True)

    def equity_gaps(self, scenario: str | None = None) -> pd.DataFrame:
        """Per pathway and equity measure: most minus least deprived quintile, paired.

        Columns: ``pathway, kpi, most, least, most_mean, least_mean, diff_mean,
        diff_ci_low, diff_ci_high, n, clear``.

        >>> r = run(demo_scenario(), replications=3, workers=1)
        >>> list(r.equity_gaps().columns)[:4]
        ['pathway', 'kpi', 'most', 'least']
        """
        name = self._scenario(scenario)
        kpis = self.kpis[self.kpis["scenario"] == name].drop(columns=["scenario"])
        gaps = deprivation_gaps(kpis, self._quintiles(name))
        columns = ["pathway", "kpi", "most", "least", "most_mean", "least_mean", "diff_mean"]
        columns += ["diff_ci_low", "diff_ci_high", "n", "clear"]
        return pd.DataFrame([[getattr(g, c) for c in columns] for g in gaps], columns=columns)

    def horizon_years(self, scenario: str | None = None) -> float:
        """The reported period of a scenario (the base by default), in years."""
        name = self._scenario(scenario)
        if name in self.scenarios:
            return float(self.scenarios[name].horizon_years)
        data = yaml.safe_load(self.scenario_yaml.get(name) or "{}") or {}
        return float(data.get("horizon_years") or 1.0)

    def table(self, scenario: str | None = None, per_year: bool = True) -> pd.DataFrame:
        """The headline KPIs as the command line prints them: KPI rows, pathway columns.

        Each cell reads ``mean (95% CI low to high)``; counts, bed days and money are
        per year when ``per_year`` (the total over the horizon divided by its years).

        >>> r = run(demo_scenario(), replications=3, workers=1)
        >>> list(r.table().columns)
        ['Adult eating disorders', 'All pathways']
        """
        name = self._scenario(scenario)
        rows = self.headline()
        rows = rows[rows["scenario"] == name]
        years = self.horizon_years(name)
        cells: dict[str, dict[str, str]] = {}
        for row in rows.to_dict("records"):
            kpi = str(row["kpi"])
            factor = 1 / years if per_year and kpi in ADDITIVE_KPIS else 1.0
            low, high = feasible(
                kpi, "mean", float(row["ci_low"]) * factor, float(row["ci_high"]) * factor
            )
            text = estimate(kpi, float(row["mean"]) * factor, low, high)
            label = kpi_label_with_unit(kpi, per_year=per_year)
            cells.setdefault(pathway_label(str(row["pathway"])), {})[label] = text.replace(
                "95% CI ", ""
            )
        return pd.DataFrame(cells).fillna("–")

    def differences(
        self, period: str = HORIZON, kpis: str | Sequence[str] | None = HEADLINE_KPIS
    ) -> pd.DataFrame:
        """Paired differences from the base of each pathway's KPIs (``None``: every KPI).

        ``kpis`` is a KPI's name or a list of them; a name that is no KPI, or a ``period``
        these results lack, is refused with the nearest one.

        Totals over service, unit and place. Columns as
        :func:`simulation.experiment.comparison.paired_differences` (``diff_mean``, ``diff_ci_low``,
        ``pct_change``, ``clear``, ...) with ``alternative`` and ``label``. Raises
        ``ValueError`` when only one scenario was run.

        >>> fewer = load(demo_scenario("fewer_beds"), {"units.Unit.beds": 6})
        >>> d = compare(demo_scenario(), fewer, replications=3, workers=1).differences()
        >>> row = d.set_index("kpi").loc["referrals"]
        >>> row["alternative"], float(row["diff_mean"])
        ('fewer_beds', 0.0)
        """
        if self.comparison is None:
            raise ValueError("differences need a base and at least one alternative: use compare()")
        t = self.comparison
        period = self._period(period, t)
        known = [str(k) for k in t["kpi"].drop_duplicates()]
        wanted = known if kpis is None else [kpis] if isinstance(kpis, str) else list(kpis)
        for kpi in wanted:  # a KPI of the catalogue these results lack has no rows
            if kpi not in known and kpi not in KPI_INFO:
                raise ValueError(
                    f"no KPI {kpi!r} in this comparison"
                    + (suggest(kpi, known) or " (its 'kpi' column lists those it has)")
                )
        rows = t[
            (t["service"] == ALL)
            & (t["unit"] == ALL)
            & (t["place"] == ALL)
            & (t["period"] == period)
            & (t["kpi"].isin(wanted))
        ].copy()
        rows["label"] = rows["kpi"].map(lambda k: KPI_INFO[k].label if k in KPI_INFO else k)
        return rows.reset_index(drop=True)

    def save(self, root: str | Path = "results", command: list[str] | None = None) -> Path:
        """Write a results folder under ``root`` as the CLI does; return its path.

        One scenario gives ``<root>/<scenario>/<timestamp>/``, several a comparison
        folder ``<root>/compare-<base>/<timestamp>/``. Results read from a folder are
        copied. The folder is written atomically and never overwrites another.
        """
        if not self._runs:
            if self.path is None:
                raise ValueError("nothing to save: these results were neither run nor read")
            with _folder_not_found():
                read = read_results_folder(self.path)
            self.path = copy_results_folder(read, root)
            return self.path
        if len(self._runs) == 1:
            run = self._runs[0]
            self.path = write_results(run, root, self._files.get(run.scenario.name), command)
        else:
            table = self.comparison
            assert table is not None
            comparison = ComparisonResult(self._runs[0], self._runs[1:], table, self.notes)
            files = {name: str(path) for name, path in self._files.items()}
            self.path = write_comparison(comparison, root, dict(files), command)
        return self.path

    def __repr__(self) -> str:
        where = f", from {self.path}" if self.path else ""
        auto = ""
        if self.precision is not None:
            auto = ", target reached" if self.precision.reached else ", stopped at the cap"
        return f"<Results: {', '.join(self.names)}; {self.replications} replications{auto}{where}>"


def open_results(folder: str | Path) -> Results:
    """Reopen a results folder written by the CLI or :meth:`Results.save`.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as root:
    ...     folder = run(demo_scenario(), replications=2, workers=1).save(root)
    ...     again = open_results(folder)
    >>> again.names, again.replications
    (['demo'], 2)
    """
    return Results.open(folder)


def run(
    scenarios: ScenarioLike | Sequence[ScenarioLike],
    replications: int | Literal["auto"] | None = None,
    workers: int | None = None,
    events: bool = False,
    seed: int | None = None,
    precision: float = DEFAULT_PRECISION,
    max_replications: int = DEFAULT_CAP,
    progress: Progress | None = None,
    cluster: str | None = None,
) -> Results:
    """Run one or more scenarios and return their :class:`Results`.

    ``scenarios`` is a scenario or a file, or a list of them. Several are run with the
    first one's seed and replication numbers (common random numbers), and
    :attr:`Results.comparison` holds each one's paired differences from the first.
    ``replications`` defaults to the first scenario's; ``"auto"`` runs batches until
    every headline KPI's 95% CI half-width is within ``precision`` of its mean, or
    ``max_replications`` (see :attr:`Results.precision`). ``workers`` defaults to one
    per core and never changes a number. ``events=True`` keeps the event log.
    ``cluster`` runs the replications on Dask: a scheduler's address
    (``"tcp://HOST:PORT"``), or ``"local"`` for a LocalCluster of ``workers`` processes.

    >>> r = run(demo_scenario(), replications=3, workers=1)
    >>> r.replications, list(r.kpis.columns)[:3]
    (3, ['scenario', 'replication', 'pathway'])
    >>> r.summary.query("kpi == 'admissions' and period == 'horizon'")["n"].iloc[0]
    np.int64(3)
    """
    items = _listed(scenarios)
    if not items:
        raise ValueError("give at least one scenario")
    loaded = [_as_scenario(item) for item in items]
    names = [s.name for s, _ in loaded]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            [
                Problem(
                    "scenarios",
                    None,
                    "name",
                    f"scenarios run together need different names; "
                    f"{', '.join(repeated)} is used more than once",
                )
            ]
        )
    files = {s.name: path for s, path in loaded if path is not None}
    base, base_file = loaded[0]
    if seed is not None:
        where = None if base_file is None else str(base_file)
        base = derive(base, {"seed": seed}, "the argument seed", where)
    fixed = None if replications == "auto" else replications
    scenarios_run = aligned(base, [s for s, _ in loaded[1:]], fixed)
    if replications == "auto":
        runs, report = run_to_precision(
            scenarios_run,
            precision=precision,
            max_replications=max_replications,
            workers=workers,
            keep_events=events,
            progress=progress,
            cluster=cluster,
        )
        return Results.from_runs(runs, files, report)
    runs = run_experiments(
        scenarios_run, workers=workers, keep_events=events, progress=progress, cluster=cluster
    )
    return Results.from_runs(runs, files)


def compare(
    base: ScenarioLike,
    alternatives: ScenarioLike | Sequence[ScenarioLike],
    replications: int | Literal["auto"] | None = None,
    workers: int | None = None,
    events: bool = False,
    seed: int | None = None,
    precision: float = DEFAULT_PRECISION,
    max_replications: int = DEFAULT_CAP,
    progress: Progress | None = None,
    cluster: str | None = None,
) -> Results:
    """Run a base and alternatives with common random numbers; see :meth:`Results.differences`.

    The same as :func:`run` with the base first; ``cluster`` runs the replications on
    Dask (a scheduler's address, or ``"local"``).

    >>> more_beds = load(demo_scenario("more_beds"), {"units.Unit.beds": 14})
    >>> r = compare(demo_scenario(), more_beds, replications=3, workers=1)
    >>> d = r.differences().set_index(["pathway", "kpi"])
    >>> bool(d.loc[("adult_ed", "ooa_admissions"), "diff_mean"] <= 0)
    True
    """
    return run(
        [base, *_listed(alternatives)],
        replications=replications,
        workers=workers,
        events=events,
        seed=seed,
        precision=precision,
        max_replications=max_replications,
        progress=progress,
        cluster=cluster,
    )
