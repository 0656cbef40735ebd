"""The simulation clock in the calendar planners use: months and NHS financial years.

The model's clock counts days from the scenario's ``start_date`` (day 0); the warm-up
runs at negative times and is never reported. Reports group by calendar month and by
NHS financial year, April to March, written ``2026/27``. A :class:`Calendar` holds the
month boundaries of the reported period once, so that recorders can bin by index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np


def financial_year(day: dt.date) -> str:
    """NHS financial year of a date, e.g. ``2026/27`` for 1 April 2026 to 31 March 2027.

    >>> financial_year(dt.date(2027, 3, 31))
    '2026/27'
    >>> financial_year(dt.date(2027, 4, 1))
    '2027/28'
    """
    first = day.year if day.month >= 4 else day.year - 1
    return f"{first}/{(first + 1) % 100:02d}"


def _add_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Calendar:
    """Month boundaries of the reported period ``[0, horizon_days]``, in model days."""

    start_date: dt.date
    horizon_days: float
    edges: tuple[float, ...]
    """Day at which each month bin starts, then the horizon (one more than months)."""
    months: tuple[str, ...]
    """``YYYY-MM`` label of each bin (the first and last may be part months)."""
    financial_years: tuple[str, ...]
    """Financial year of each bin."""

    @classmethod
    def build(cls, start_date: dt.date, horizon_days: float) -> Calendar:
        """Cut ``[0, horizon_days]`` at every first of the month."""
        edges = [0.0]
        months = [start_date.strftime("%Y-%m")]
        fys = [financial_year(start_date)]
        boundary = _add_month(start_date)
        while (boundary - start_date).days < horizon_days:
            edges.append(float((boundary - start_date).days))
            months.append(boundary.strftime("%Y-%m"))
            fys.append(financial_year(boundary))
            boundary = _add_month(boundary)
        edges.append(float(horizon_days))
        return cls(start_date, float(horizon_days), tuple(edges), tuple(months), tuple(fys))

    @property
    def n_months(self) -> int:
        """Number of month bins."""
        return len(self.months)

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Bin of each day in ``[0, horizon)``; -1 before day 0, ``n_months`` from the horizon."""
        index = np.searchsorted(np.asarray(self.edges), days, side="right") - 1
        index = np.where(np.asarray(days) < 0, -1, index)
        return np.where(np.asarray(days) >= self.horizon_days, self.n_months, index)

    def month_lengths(self) -> np.ndarray:
        """Days in each bin."""
        return np.diff(np.asarray(self.edges))

    def financial_year_list(self) -> list[str]:
        """Financial years of the reported period, in order."""
        return list(dict.fromkeys(self.financial_years))


def financial_year_days(start_date: dt.date, horizon_days: float) -> dict[str, tuple[int, int]]:
    """Days of each financial year in the period, and days in that whole year.

    The period is ``[start_date, start_date + horizon_days)``; a year with fewer days in
    it than it has is a part year, to be flagged wherever it is shown.

    >>> financial_year_days(dt.date(2026, 4, 1), 730)["2027/28"]
    (365, 366)
    >>> financial_year_days(dt.date(2026, 4, 1), 731)["2027/28"]
    (366, 366)
    """
    end = start_date + dt.timedelta(days=round(horizon_days))
    out: dict[str, tuple[int, int]] = {}
    day = start_date
    while day < end:
        first = day.year if day.month >= 4 else day.year - 1
        year_start, year_end = dt.date(first, 4, 1), dt.date(first + 1, 4, 1)
        stop = min(end, year_end)
        out[financial_year(day)] = ((stop - day).days, (year_end - year_start).days)
        day = stop
    return out
