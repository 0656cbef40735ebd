"""Output analysis: from replications to means with honest confidence intervals.

Each replication is one independent observation of every KPI. The summary of a KPI is
its mean over replications with a 95% confidence interval from Student's t
distribution (``mean ± t(0.975, n-1) · sd / √n``). A KPI that is undefined in some
replications (a mean wait where nobody was admitted) is summarised over those where it
is defined, and ``n`` says how many that was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from simulation.kpis import DIMENSIONS

KEYS = [*DIMENSIONS, "period", "kpi"]


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean, lower and upper bound of a t confidence interval, and n (NaNs dropped)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    mean = float(values.mean())
    if n == 1:
        return mean, float("nan"), float("nan"), 1
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half, n


def summarise(kpis: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation and confidence interval of every KPI over replications.

    ``kpis`` has one row per replication and KPI (columns ``replication``, the
    dimensions, ``period``, ``kpi``, ``value``); extra key columns such as ``scenario``
    are kept.
    """
    keys = [c for c in ("scenario", *KEYS) if c in kpis.columns]
    grouped = kpis.groupby(keys, sort=False, dropna=False)["value"]
    summary = grouped.agg(mean="mean", sd="std", n="count").reset_index()
    quantile = stats.t.ppf(0.5 + level / 2, np.maximum(summary["n"] - 1, 1))
    half = quantile * summary["sd"] / np.sqrt(summary["n"])
    half = half.where(summary["n"] > 1)
    summary["ci_low"] = summary["mean"] - half
    summary["ci_high"] = summary["mean"] + half
    summary["half_width"] = half
    summary["n"] = summary["n"].astype(int)
    return summary
