"""Equity: waits, out-of-area placement and distance from home by home place and deprivation.

Reducing inequalities is a stated aim of every provider collaborative, so a result
must say whether patients from the most deprived places fare worse. The KPI rows hold
each measure by home place; this module groups the places by their deprivation
quintile (1 = most deprived) and gives, per replication, the quintile's value as the
admissions-weighted average of its places' values (which is exactly the quintile's own
mean wait, share or distance), then the mean over replications with its 95%
confidence interval. The gap between the most and the least deprived quintile is a
paired difference, replication by replication, like a comparison's.

Only the whole period is grouped (``horizon``); the measures are those of
:data:`EQUITY_KPIS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulation.results.analysis import t_interval
from simulation.results.catalogue import ALL, HORIZON

EQUITY_KPIS = ("wait_referral_mean_days", "ooa_admission_pct", "distance_mean_miles")
"""Measures of equity, each an average over the admissions of a place in the period."""

WEIGHT = "admissions"
"""The KPI whose counts weight places into a quintile (every equity measure is per admission)."""


def _per_replication(kpis: pd.DataFrame, quintiles: Mapping[str, int | None]) -> pd.DataFrame:
    """Per replication, pathway, quintile and measure: the admissions-weighted value."""
    rows = kpis[
        (kpis["service"] == ALL)
        & (kpis["unit"] == ALL)
        & (kpis["place"] != ALL)
        & (kpis["period"] == HORIZON)
        & kpis["kpi"].isin([*EQUITY_KPIS, WEIGHT])
    ]
    keys = [c for c in ("scenario", "replication", "pathway", "place") if c in rows.columns]
    wide = rows.pivot_table(index=keys, columns="kpi", values="value", aggfunc="first")
    wide = wide.reset_index()
    wide["quintile"] = wide["place"].map(lambda p: quintiles.get(str(p)))
    wide = wide[wide["quintile"].notna()]
    out = []
    group = [k for k in keys if k != "place"] + ["quintile"]
    for kpi in EQUITY_KPIS:
        if kpi not in wide.columns:
            continue
        weight = wide[WEIGHT].where(wide[kpi].notna(), 0.0)
        part = wide.assign(_w=weight, _wv=weight * wide[kpi].fillna(0.0))
        sums = part.groupby(group, dropna=False)[["_w", "_wv"]].sum().reset_index()
        sums["value"] = (sums["_wv"] / sums["_w"]).where(sums["_w"] > 0)
        sums["kpi"] = kpi
        out.append(sums.drop(columns=["_w", "_wv"]))
    if not out:
        return pd.DataFrame(columns=[*group, "kpi", "value"])
    frame = pd.concat(out, ignore_index=True)
    frame["quintile"] = frame["quintile"].astype(int)
    return frame


def quintile_summary(kpis: pd.DataFrame, quintiles: Mapping[str, int | None]) -> pd.DataFrame:
    """Each equity measure by pathway and deprivation quintile, whole period, with 95% CIs.

    ``kpis`` are per-replication KPI rows (a ``scenario`` column is kept if present);
    ``quintiles`` gives each home place's quintile (places without one are left out).
    Columns: ``[scenario,] pathway, quintile, kpi, mean, ci_low, ci_high, n``.
    """
    per = _per_replication(kpis, quintiles)
    keys = [c for c in ("scenario", "pathway", "quintile", "kpi") if c in per.columns]
    rows = []
    for key, group in per.groupby(keys, sort=True):
        mean, low, high, n = t_interval(group["value"].to_numpy(dtype=float))
        rows.append((*key, mean, low, high, n))
    return pd.DataFrame(rows, columns=[*keys, "mean", "ci_low", "ci_high", "n"])


@dataclass(frozen=True)
class Gap:
    """The most deprived quintile's value minus the least deprived's, paired by replication."""

    pathway: str
    kpi: str
    most: int
    least: int
    most_mean: float
    least_mean: float
    diff_mean: float
    diff_ci_low: float
    diff_ci_high: float
    n: int

    @property
    def clear(self) -> bool:
        """Whether the interval of the gap excludes zero."""
        return bool(self.diff_ci_low > 0 or self.diff_ci_high < 0)


def deprivation_gaps(kpis: pd.DataFrame, quintiles: Mapping[str, int | None]) -> list[Gap]:
    """Per pathway and equity measure, the gap between the most and least deprived quintile.

    Only where at least two quintiles are present; replications in which either quintile
    has no admissions are left out of that gap.
    """
    per = _per_replication(kpis, quintiles)
    if "scenario" in per.columns:
        per = per[per["scenario"] == per["scenario"].iloc[0]] if len(per) else per
    gaps = []
    for (pathway, kpi), group in per.groupby(["pathway", "kpi"], sort=False):
        present = sorted(group["quintile"].unique().tolist())
        if len(present) < 2:
            continue
        most, least = present[0], present[-1]
        wide = group.pivot_table(
            index="replication", columns="quintile", values="value", aggfunc="first"
        )
        pair = wide[[most, least]].dropna()
        diff = (pair[most] - pair[least]).to_numpy(dtype=float)
        mean, low, high, n = t_interval(diff)
        gaps.append(
            Gap(
                str(pathway),
                str(kpi),
                int(most),
                int(least),
                float(np.mean(pair[most])) if n else float("nan"),
                float(np.mean(pair[least])) if n else float("nan"),
                mean,
                low,
                high,
                n,
            )
        )
    return gaps
