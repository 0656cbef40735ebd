"""The model: one replication of one scenario, built, started and run.

A :class:`Model` is a :class:`~simulation.model.system.System` (beds, teams, streams,
clock, records) that starts the pathway's processes: referrals from each home place
(:mod:`simulation.model.pathway`; stream by stream where a pathway's patient mix gives
``referrals``, :mod:`simulation.model.streamreferrals`), the moves of young people to
an adult pathway at 18 where one is named (:mod:`simulation.model.adulthood`), the
weekly bed-management panel if beds are allocated at a panel, the scenario's dated
changes (:mod:`simulation.model.changes`), the finance year ends
(:mod:`simulation.model.finance`) and the census start
(:mod:`simulation.model.censusstart`). :meth:`Model.run` runs it to the horizon and
returns a :class:`ModelOutput`: what the replication recorded, for the KPIs.

The clock is in days from the start date; the warm-up runs from ``-warmup_days`` and is
not reported.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from simulation.model.adulthood import start_moves_at_18
from simulation.model.censusstart import start_census
from simulation.model.changes import dated_changes
from simulation.model.finance import Finance
from simulation.model.pathway import arrivals, panel
from simulation.model.spend import SpendLevels
from simulation.model.streamreferrals import start_stream_arrivals
from simulation.model.system import System
from simulation.scenario.schema import SHARED_WITH_BUDGET, Scenario


class Model(System):
    """One replication of one scenario. Build, then :meth:`run`."""

    def __init__(
        self,
        scenario: Scenario,
        replication: int,
        budgets: dict[tuple[str, str], float] | None = None,
    ):
        super().__init__(scenario, replication)
        for pathway, spec in scenario.pathways.items():
            if spec.referrals_by_stream:
                start_stream_arrivals(self, pathway)
                continue
            for service, svc in spec.services.items():
                for place in scenario.places:
                    rate = svc.referral_rate_per_100k_per_year * place.population / 1e5
                    if rate > 0:
                        self.env.process(arrivals(self, pathway, service, place.name, rate))
        start_moves_at_18(self)
        if not self.continuous:
            self.env.process(panel(self))
        if scenario.changes:
            self.env.process(dated_changes(self))
        self.finance = Finance(self, budgets)
        self.env.process(self.finance.process())
        if scenario.census_patients:
            start_census(self)

    def run(self) -> ModelOutput:
        """Run from the warm-up start to the horizon and return what was recorded."""
        with cycle_collector_paused():
            self.env.run(until=self.horizon)
        for beds in self.beds.values():
            beds.close(self.horizon)
        for team in self.teams.values():
            team.close(self.horizon)
        self.finance.finish()
        return ModelOutput(self)

    def release(self) -> None:
        """Let go of what the run left waiting, so that reference counting frees the model.

        At the horizon the patients still in a bed, a queue or a search are journeys
        suspended on events held by the schedule, a service's queue or a team's, and
        each event holds the journey waiting on it (a journey waiting for a bed holds its
        request in turn); every journey holds the model, and the model its finance, which
        holds the model. Dropped as it is, the model is one structure of reference cycles
        that only the cycle collector frees: some 7,000 objects after a 5-year baseline,
        episodes included, walked by a collection that cost more than the rest of the
        collector's work on a replication. Emptying the schedule and the queues, each
        waiting event's callbacks, and letting go of the finance leaves no cycle
        (``tests/model/test_gc.py``). What :meth:`run` returned is untouched; the model
        cannot be run again.
        """
        waiting = [event for *_, event in self.env._queue]
        for beds in self.beds.values():
            waiting += [*beds.urgent.values(), *beds.routine.values()]
            beds.urgent.clear()
            beds.routine.clear()
            beds.out_of_area.clear()
        for team in self.teams.values():
            waiting += team.queue
            team.queue.clear()
        for event in waiting:  # each holds the journey waiting on it, which holds it
            if event.callbacks:
                event.callbacks.clear()
        self.env._queue.clear()
        del self.finance


_pause_lock = threading.Lock()
_pauses = 0
_collector_was_on = False


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a model runs, as :mod:`timeit` does.

    A run leaves no reference cycles behind: what it frees, reference counting frees
    (``tests/model/test_gc.py`` holds every shipped scenario to this). The collector's
    passes during a run would only walk the episodes, events and journeys still alive
    and find nothing: 4% of the baseline's run and 11% of a 10-year M/M/50's, as
    medians, and more in a run that a full collection falls in. It is switched back on when the last
    run in this process that paused it ends (runs in several threads pause it together)
    and only if it was on before.
    """
    global _pauses, _collector_was_on
    with _pause_lock:
        if _pauses == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _collector_was_on:
                gc.enable()


class ModelOutput:
    """What one replication recorded: episodes, levels by month, and the end state."""

    def __init__(self, model: Model):
        self.scenario = model.scenario
        self.replication = model.replication
        self.calendar = model.calendar
        self.episodes = model.episodes
        self.events_processed = next(model.env._eid)  # SimPy's count of scheduled events
        self.unit_occupancy = {name: np.array(u.occupancy.bins) for name, u in model.units.items()}
        self.unit_beds = {name: u.beds for name, u in model.units.items()}
        self.unit_bed_days = {name: np.array(u.bed_level.bins) for name, u in model.units.items()}
        """Bed days available (beds open x days) per unit per month."""
        self.ledger = model.finance.ledger
        self.waiting = {key: np.array(b.waiting.bins) for key, b in model.beds.items()}
        self.ooa_census = {key: np.array(b.ooa_census.bins) for key, b in model.beds.items()}
        self.delayed = {key: np.array(b.delayed.bins) for key, b in model.beds.items()}
        self.caseload = {name: np.array(t.caseload.bins) for name, t in model.teams.items()}
        self.places = {name: np.array(t.places.bins) for name, t in model.teams.items()}
        self.searching = {key: np.array(b.searching.bins) for key, b in model.beds.items()}
        """Patient days waiting for an out-of-area bed to be found, per service per month."""
        ooa_cost = {
            key: np.array(b.ooa_cost.bins)
            for key, b in model.beds.items()
            if b.ooa_cost is not None
        }
        self.spend_levels = SpendLevels(
            self.unit_occupancy, self.unit_bed_days, self.ooa_census, self.places, ooa_cost
        )
        """The monthly integrals :func:`~simulation.model.spend.pathway_spend` prices."""
        self.end_state: dict[str, Any] = {
            "waiting": {k: b.queue_length() for k, b in model.beds.items()},
            "occupied": {name: u.occupied for name, u in model.units.items()},
            "out_of_area": {k: round(b.ooa_census.level) for k, b in model.beds.items()},
            "teams": {name: t.summary() for name, t in model.teams.items()},
            "repatriations": {k: b.repatriations for k, b in model.beds.items()},
        }


def run_model(
    scenario: Scenario, replication: int, budgets: dict[tuple[str, str], float] | None = None
) -> ModelOutput:
    """Run one replication of a scenario and release the model (:meth:`Model.release`)."""
    model = Model(scenario, replication, budgets)
    output = model.run()
    model.release()
    return output


def comparator_budgets(scenario: Scenario, replication: int) -> dict[tuple[str, str], float]:
    """Spend of the budget scenario's same replication, by (pathway, financial year).

    The loader gave the budget scenario this scenario's seed, dates and horizon, so each
    financial year has its budget; it keeps its own start state (census or warm-up).
    """
    comparator = scenario.budget_scenario
    if comparator is None:
        return {}
    unshared = [f for f in SHARED_WITH_BUDGET if getattr(comparator, f) != getattr(scenario, f)]
    if unshared:
        raise ValueError(
            f"the budget scenario of {scenario.name} has another {', '.join(unshared)}: a "
            "changed copy of a scenario is made with simulation.scenario.loading.derive, "
            "which keeps them the same"
        )
    output = run_model(comparator, replication)
    return {(r.pathway, r.financial_year): r.values["spend_total_gbp"] for r in output.ledger}
