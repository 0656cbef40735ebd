"""Recorders: what the model measures while it runs.

Two kinds. A :class:`Level` follows a quantity that changes at events (occupied beds,
the waiting list, the out-of-area census, a team's caseload) and accumulates its
integral over time in monthly bins of the reported period, so that a month's mean is
the bin divided by the month's length and bed days are the bins themselves. An
:class:`Episode` is one flat record per patient stay in a service, from referral to
leaving; analyses are queries over these records (see :mod:`simulation.results.kpis`).
Time before day 0 (the warm-up) is not accumulated.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from simulation.core.calendar import Calendar
from simulation.scenario.schema import Priority

Source = Literal["new", "readmission", "step_down", "transfer_at_18"]
"""How an episode began: a new referral, a readmission, a step-down from another bed, or
a young person's referral to the adult pathway on turning 18 in a bed (``transfer``)."""
Decision = Literal["pending", "not_accepted", "diverted", "accepted"]
"""Assessment's outcome; ``pending`` until the patient has been assessed."""
ExitTo = Literal["home", "step_down_bed", "community"]
"""Where a patient went on leaving a bed."""
OutOfAreaReason = Literal["no_compatible_unit", "compatible_units_full", "max_wait_passed"]
"""Why a patient was placed out of area: no unit the bed manager may use takes them; the
maximum wait passed while beds stood free only in units that could not take them; the
maximum wait passed with no free bed they could have had."""


class Level:
    """A piecewise-constant quantity and its time integral per month of the horizon.

    ``add`` is called at almost every event of the model, so the common case (the level
    has not changed since the last call, or it changes within the same month) is kept
    to a few attribute reads; crossing month boundaries is left to :meth:`_advance`.
    """

    __slots__ = ("_edges", "_index", "_last", "_next_edge", "bins", "level")

    def __init__(self, calendar: Calendar, start_time: float, level: float = 0.0):
        self._edges = calendar.edges
        self.bins = [0.0] * calendar.n_months
        self.level = level
        self._last = start_time
        self._index = 0
        self._next_edge = self._edges[1]  # end of the current bin

    def _advance(self, t: float) -> None:
        a = self._last
        if t <= a:
            return
        level = self.level
        if level and t > 0.0:
            if a < 0.0:
                a = 0.0
            edges = self._edges
            i = self._index
            while t > edges[i + 1]:
                if a < edges[i + 1]:
                    self.bins[i] += level * (edges[i + 1] - a)
                    a = edges[i + 1]
                i += 1
            self.bins[i] += level * (t - a)
            self._index = i
            self._next_edge = edges[i + 1]
        self._last = t

    def add(self, t: float, delta: float) -> None:
        """Change the level by ``delta`` at time ``t`` (times never go backwards)."""
        a = self._last
        if t > a:
            level = self.level
            if level and t > 0.0:
                if a >= 0.0 and t <= self._next_edge:  # within the current month
                    self.bins[self._index] += level * (t - a)
                    self._last = t
                else:
                    self._advance(t)
            else:
                self._last = t
        self.level += delta

    def set(self, t: float, level: float) -> None:
        """Set the level at time ``t``."""
        self._advance(t)
        self.level = level

    def close(self, t: float) -> None:
        """Accumulate up to the end time ``t``."""
        self._advance(t)


@dataclass(slots=True)
class Episode:
    """One patient's passage through one service: the flat record analyses query.

    Times are model days (negative during warm-up); ``None`` means it has not happened
    by the end of the run. ``referral_id`` ties a step-down episode to the referral that
    started the chain; for a referral's first episode it is its own ``episode_id``.
    """

    episode_id: int
    referral_id: int
    patient_id: int
    pathway: str
    service: str
    home_place: str
    source: Source
    priority: Priority
    referral_day: float
    decision: Decision = "pending"
    decision_day: float | None = None
    admission_day: float | None = None
    admitted_to: str | None = None  # unit name, or "out_of_area"
    distance_miles: float | None = None
    repatriation_day: float | None = None
    repatriated_to: str | None = None
    withdrawn_day: float | None = None
    ready_day: float | None = None
    exit_day: float | None = None
    exit_to: ExitTo | None = None
    step_down_to: str | None = None
    community_team: str | None = None
    community_start_day: float | None = None
    community_end_day: float | None = None
    sex: str | None = None
    stream: str | None = None
    age_band: str | None = None
    ooa_reason: OutOfAreaReason | None = None
    ooa_search_day: float | None = None
    """When the search for an out-of-area bed began (an out-of-area admission only)."""
    adult_services_day: float | None = None
    """When a young person who turned 18 in the bed left it for adult services (the
    scenario's adult pathway, where the young people's pathway names one)."""

    # -- what happens to the patient, in the pathway's order ---------------------------
    def decide(self, decision: Decision, day: float) -> None:
        """Assessment's outcome on ``day``: not accepted, diverted or accepted for a bed."""
        self.decision = decision
        self.decision_day = day

    def withdraw(self, day: float) -> None:
        """The patient left the waiting list before a bed was found."""
        self.withdrawn_day = day

    def admit(self, day: float, admitted_to: str, distance_miles: float) -> None:
        """Admitted on ``day`` to a unit (or ``out_of_area``), so far from home."""
        self.admission_day = day
        self.admitted_to = admitted_to
        self.distance_miles = distance_miles

    def place_out_of_area(
        self, day: float, distance_miles: float, reason: OutOfAreaReason, search_day: float
    ) -> None:
        """Admitted out of area on ``day`` for ``reason``, after a search from ``search_day``."""
        self.admit(day, "out_of_area", distance_miles)
        self.ooa_reason = reason
        self.ooa_search_day = search_day

    def ready(self, day: float) -> None:
        """The clinical stay is over: ready for discharge (delayed while there is no room)."""
        self.ready_day = day

    def leave(self, day: float, exit_to: ExitTo, step_down_to: str | None) -> None:
        """Left the bed for home, a step-down bed or a community team."""
        self.exit_day = day
        self.exit_to = exit_to
        self.step_down_to = step_down_to

    def join_team(self, team: str, day: float) -> None:
        """A community episode on ``team``'s caseload began on ``day``."""
        self.community_team = team
        self.community_start_day = day

    def end_community(self, day: float) -> None:
        """The community episode ended."""
        self.community_end_day = day


EPISODE_FIELDS = tuple(f.name for f in fields(Episode))
