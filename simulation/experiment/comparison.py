"""Comparing scenarios: paired differences with confidence intervals.

Scenarios compared are run with the same seed and replication numbers, so replication
``r`` of each sees the same random numbers (common random numbers). The difference of a
KPI between an alternative and the base is computed replication by replication, and its
95% confidence interval comes from the t distribution of those paired differences; this
is valid whatever the correlation, and much narrower than comparing two independent
intervals when the scenarios share their patients. A difference is *clear* when its
interval excludes zero.

Scenarios that change demand (places, populations, referral rates, growth, seasonality)
or the run's timing cannot see the same arrivals; :func:`shared_arrivals` says so, and
the comparison reports it, because their intervals are wider for that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.core.problems import InputError, Problem
from simulation.experiment.experiment import ExperimentResult, Progress, run_experiments
from simulation.results.analysis import KEYS, Moments, part_years, t_quantile
from simulation.scenario.loading import derive
from simulation.scenario.schema import Scenario


def arrival_fingerprint(scenario: Scenario) -> tuple[object, ...]:
    """Everything that decides when and where referrals arrive, and the run's timing."""
    return (
        scenario.seed,
        scenario.start_date,
        scenario.horizon_days,
        scenario.warmup_days,
        tuple((p.name, p.population) for p in scenario.places),
        tuple(
            (
                pathway,
                spec.annual_growth,
                spec.seasonality,
                tuple(
                    (name, svc.referral_rate_per_100k_per_year)
                    for name, svc in spec.services.items()
                ),
                # Referrals by stream: the streams' shares and own rates set the arrivals.
                (spec.patient_mix.referrals, spec.patient_mix.streams, spec.patient_mix.places)
                if spec.referrals_by_stream
                else (),
            )
            for pathway, spec in scenario.pathways.items()
        ),
    )


def shared_arrivals(base: Scenario, alternative: Scenario) -> tuple[bool, str]:
    """Whether two scenarios see the same referrals, and a sentence saying what follows.

    The same new referrals from another starting state (another census of the patients
    in the system on the start date) are not paired patient by patient either.
    """
    same_arrivals = arrival_fingerprint(base) == arrival_fingerprint(alternative)
    if same_arrivals and base.census_patients != alternative.census_patients:
        return False, (
            f"{alternative.name} starts from other patients in the system than {base.name} "
            "(another census, or none), so the two do not share their starting state nor "
            "those patients' readmissions. Differences are still paired by replication and "
            "their intervals are valid, but they are wider than for a change of capacity or "
            "policy alone."
        )
    if same_arrivals:
        return True, (
            f"{alternative.name} and {base.name} see the same referrals in each replication "
            "(common random numbers): differences are paired patient by patient."
        )
    return False, (
        f"{alternative.name} changes demand or the run's timing relative to {base.name}, so "
        "the two do not see the same referrals. Differences are still paired by replication "
        "and their intervals are valid, but they are wider than for a change of capacity or "
        "policy alone."
    )


PAIRED = ["value_base", "value_alt", "diff"]
"""The value columns of :func:`paired_rows`: each scenario's value and their difference."""


def paired_rows(base: pd.DataFrame, alternative: pd.DataFrame) -> pd.DataFrame:
    """KPI rows of two scenarios paired on the keys and the replication number.

    Both frames are per-replication KPI rows (``replication`` and the KPI keys). The
    result has ``value_base``, ``value_alt`` and ``diff`` (alternative minus base), in the
    base's row order; a KPI missing or undefined in either scenario's replication is left
    out of that replication's pairs.
    """
    keys = [k for k in KEYS if k in base.columns]
    merged = base.merge(
        alternative, on=[*keys, "replication"], suffixes=("_base", "_alt"), how="inner"
    )
    merged = merged.dropna(subset=[*keys, "value_base", "value_alt"])
    merged["diff"] = merged["value_alt"] - merged["value_base"]
    return merged


def difference_table(moments: Moments, level: float = 0.95) -> pd.DataFrame:
    """Per KPI: both means, the paired difference with its CI, % change and clarity.

    ``moments`` are those of :data:`PAIRED` over :func:`paired_rows`, whether of a whole
    table or built up a replication at a time.
    """
    out = moments.labels()
    mean = moments.mean
    out["base_mean"] = mean[:, 0]
    out["alt_mean"] = mean[:, 1]
    out["diff_mean"] = mean[:, 2]
    out["diff_sd"] = moments.sd[:, 2]
    out["n"] = moments.count[:, 2]
    quantile = t_quantile(0.5 + level / 2, np.maximum(out["n"] - 1, 1))
    half = (quantile * out["diff_sd"].fillna(0.0) / np.sqrt(out["n"])).where(out["n"] > 1)
    out["diff_ci_low"] = out["diff_mean"] - half
    out["diff_ci_high"] = out["diff_mean"] + half
    base_mean = out["base_mean"].where(out["base_mean"] != 0)
    out["pct_change"] = 100 * out["diff_mean"] / base_mean.abs()
    out["pct_ci_low"] = 100 * out["diff_ci_low"] / base_mean.abs()
    out["pct_ci_high"] = 100 * out["diff_ci_high"] / base_mean.abs()
    out["clear"] = (out["diff_ci_low"] > 0) | (out["diff_ci_high"] < 0)
    return out


def paired_differences(
    base: pd.DataFrame, alternative: pd.DataFrame, level: float = 0.95
) -> pd.DataFrame:
    """Per KPI: both means, the paired difference with its CI, % change and clarity.

    Both frames are per-replication KPI rows (``replication`` and the KPI keys). Rows are
    paired on the keys and the replication number (see :func:`paired_rows`); KPIs
    missing in one replication of either scenario are left out of that KPI's pairs.
    """
    keys = [k for k in KEYS if k in base.columns]
    return difference_table(Moments.of(paired_rows(base, alternative), keys, PAIRED), level)


def compare_kpis(
    base_name: str, base: pd.DataFrame, alternatives: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Paired differences of every alternative from the base, stacked with names."""
    tables = {name: paired_differences(base, frame) for name, frame in alternatives.items()}
    return stack_differences(base_name, tables)


def stack_differences(base_name: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each alternative's :func:`difference_table`, named and stacked in the order given."""
    pieces = []
    for name, table in tables.items():
        piece = table.copy()
        piece.insert(0, "alternative", name)
        piece.insert(0, "base", base_name)
        pieces.append(piece)
    return pd.concat(pieces, ignore_index=True)


def mark_comparison_part_years(
    table: pd.DataFrame, base: Scenario, alternatives: list[Scenario]
) -> pd.DataFrame:
    """``table`` (stacked differences) with ``part_year``, as in a run's summary.

    A row is ``True`` where its period is a financial year only partly in the base's
    period or in its alternative's: a part year's difference is not a year's.
    """
    out = table.copy()
    part = pd.Series(False, index=out.index)
    base_years = part_years(base.start_date, base.horizon_days)
    for alternative in alternatives:
        years = base_years | part_years(alternative.start_date, alternative.horizon_days)
        part |= (out["alternative"] == alternative.name) & out["period"].isin(years)
    out["part_year"] = part
    return out


@dataclass
class ComparisonResult:
    """A base scenario and alternatives run with the same seed and replications."""

    base: ExperimentResult
    alternatives: list[ExperimentResult]
    table: pd.DataFrame
    """Paired differences of each alternative from the base (see :func:`compare_kpis`)."""
    notes: dict[str, str]
    """Per alternative, whether it shares the base's referrals and what that means."""


def period_problems(
    base: Scenario, alternatives: list[Scenario], files: Mapping[str, str | None] | None = None
) -> list[Problem]:
    """Each alternative that does not cover the base's period (start date and horizon).

    A comparison pairs totals over the period and per financial year: an alternative
    over one year against a base over five would be read as a cut of four fifths.
    ``files`` (scenario name to file) names an alternative's file in its problem.
    """
    problems = []
    for alt in alternatives:
        if (alt.start_date, alt.horizon_years) == (base.start_date, base.horizon_years):
            continue
        fields = [
            name
            for name in ("start_date", "horizon_years")
            if getattr(alt, name) != getattr(base, name)
        ]
        problems.append(
            Problem(
                (files or {}).get(alt.name) or f"scenario {alt.name}",
                None,
                fields[0],
                f"covers {_period(alt)}, and the base {base.name} {_period(base)}: scenarios "
                "compared must cover the same period (the same start date and years "
                f"simulated: {' and '.join(fields)})",
            )
        )
    return problems


def _period(scenario: Scenario) -> str:
    years = scenario.horizon_years
    return f"{years:g} year{'' if years == 1 else 's'} from {scenario.start_date:%-d %B %Y}"


def aligned(
    base: Scenario,
    alternatives: list[Scenario],
    replications: int | None = None,
    files: Mapping[str, str | None] | None = None,
) -> list[Scenario]:
    """The base and alternatives with the base's seed and replications (base first).

    Replication ``r`` of each then shares random numbers with the base's replication ``r``.
    A bad ``replications`` is an :class:`~simulation.core.problems.InputError` naming the
    argument, and so is an alternative over another period (:func:`period_problems`,
    naming its file from ``files``).
    """
    problems = period_problems(base, alternatives, files)
    if problems:
        raise InputError(problems)
    n = replications if replications is not None else base.replications
    if n != base.replications:
        base = derive(base, {"replications": n}, "the argument replications")
    shared = {"seed": base.seed, "replications": n}
    origin = f"the base scenario {base.name}"
    return [base] + [
        derive(alt, {k: v for k, v in shared.items() if getattr(alt, k) != v}, origin)
        for alt in alternatives
    ]


def compare_results(
    base: ExperimentResult, alternatives: list[ExperimentResult]
) -> ComparisonResult:
    """Paired differences of already-run alternatives from a base run with the same seed."""
    table = compare_kpis(
        base.scenario.name, base.kpis, {r.scenario.name: r.kpis for r in alternatives}
    )
    table = mark_comparison_part_years(table, base.scenario, [r.scenario for r in alternatives])
    notes = {
        alt.scenario.name: shared_arrivals(base.scenario, alt.scenario)[1] for alt in alternatives
    }
    return ComparisonResult(base, alternatives, table, notes)


def run_comparison(
    base: Scenario,
    alternatives: list[Scenario],
    replications: int | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    cluster: str | None = None,
) -> ComparisonResult:
    """Run a base and alternatives with the base's seed and replications, and compare.

    Every alternative is run with the base's seed and number of replications (whatever
    its own file says), so that replication ``r`` of each shares random numbers.
    ``cluster`` (a Dask scheduler address, or ``"local"`` for a LocalCluster of
    ``workers`` processes) is as for :func:`~simulation.experiment.experiment.run_experiment`; the
    numbers do not depend on where the replications run.
    """
    scenarios = aligned(base, alternatives, replications)
    results = run_experiments(scenarios, workers=workers, progress=progress, cluster=cluster)
    return compare_results(results[0], results[1:])
