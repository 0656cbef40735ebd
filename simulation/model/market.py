"""The out-of-area market: finding a bed outside the footprint takes time and may fail.

A bed manager who cannot place a patient in the footprint rings round providers for a
bed elsewhere. :class:`Market` is one service's market: a search goes in rounds, each
taking a drawn time (counted in working days, Monday to Friday, where the scenario says
so) and finding a bed with a fixed probability; the bed found has a price and a distance
from home, drawn where the scenario gives distributions. Draws come from the streams
``market.<pathway>.<service>.*``, used only by searches. A service without a search
finds a bed at once, always, at its fixed cost and distance, and draws nothing.
"""

from __future__ import annotations

import datetime as dt
import math

from simulation.core.streams import StreamFactory
from simulation.scenario.schema import OutOfArea

WORKING_DAYS = 5
"""Monday to Friday: ``date.weekday()`` below this is a working day."""


def working_days_later(now: float, days: float, weekday_of_day_zero: int) -> float:
    """The model time ``days`` working days after ``now``, skipping Saturdays and Sundays.

    A search round that starts at a weekend starts on Monday morning; time runs only on
    working days.
    """
    t, left = now, days
    while True:
        day = math.floor(t)
        weekday = (weekday_of_day_zero + day) % 7
        if weekday >= WORKING_DAYS:
            t = float(day + 7 - weekday)
            continue
        room = day + 1 - t
        if left <= room:
            return t + left
        left -= room
        t = float(day + 1)


class Market:
    """One service's out-of-area market: rounds of search, a bed found, its price and miles."""

    def __init__(
        self,
        streams: StreamFactory,
        pathway: str,
        service: str,
        spec: OutOfArea,
        start_date: dt.date,
    ):
        search = spec.search
        assert search is not None
        prefix = f"market.{pathway}.{service}"
        self.round_days = streams.values(f"{prefix}.round", search.round_days.ppf)
        self.found_uniform = streams.uniform(f"{prefix}.found")
        self.probability_found = search.probability_found
        self.working_days_only = search.working_days_only
        self.weekday_of_day_zero = start_date.weekday()
        self.price = (
            streams.values(f"{prefix}.price", search.cost_per_bed_day_gbp.ppf)
            if search.cost_per_bed_day_gbp is not None
            else None
        )
        self.distance = (
            streams.values(f"{prefix}.distance", search.distance_miles.ppf)
            if search.distance_miles is not None
            else None
        )
        self.fixed_distance_miles = spec.distance_miles

    def round_end(self, now: float) -> float:
        """When a search round that starts now ends."""
        days = self.round_days()
        if self.working_days_only:
            return working_days_later(now, days, self.weekday_of_day_zero)
        return now + days

    def found(self) -> bool:
        """Whether the round that just ended found a bed."""
        return self.found_uniform() < self.probability_found

    def bed(self) -> tuple[float | None, float]:
        """The bed found: its price per day (None: the service's cost) and miles from home."""
        price = self.price() if self.price is not None else None
        miles = self.distance() if self.distance is not None else self.fixed_distance_miles
        return price, miles
