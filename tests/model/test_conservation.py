"""Conservation: every referral is accounted for, and two accountings agree.

At the horizon each referral is in exactly one state, in every replication. The
patients the episode records say are waiting, in a bed, out of area or on a caseload
must be the ones the model's live resources hold (queues, unit occupancy, the
out-of-area census, caseloads). And the bed days, waiting days, delayed-discharge days
and caseload days integrated by the level recorders (the KPIs) must equal the sums of
the intervals in the episode records: two independent bookkeepings of the same time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simulation
from simulation.model.model import Model, ModelOutput
from simulation.model.records import Episode
from simulation.model.resources import OUT_OF_AREA
from simulation.results.kpis import kpi_rows, referral_states
from simulation.scenario.loading import derive
from tests.builders import flow_scenario, transition_scenario

REPLICATIONS = 3
STATES = {
    "assessment",
    "not_accepted",
    "diverted",
    "withdrawn",
    "waiting",
    "in_bed",
    "out_of_area",
    "in_community",
    "discharged",
}


def episode_timeline(e: Episode) -> list[float]:
    """The episode's recorded times in the order the pathway passes them."""
    times = [
        e.referral_day,
        e.decision_day,
        e.admission_day,
        e.repatriation_day,
        e.ready_day,
        e.exit_day,
        e.community_end_day,
    ]
    return [t for t in times if t is not None]


def baseline() -> simulation.Scenario:
    scenario = simulation.load_scenario("scenarios/baseline.yaml")
    return derive(scenario, {"horizon_years": 2.0, "warmup_days": 730.0})


def flow(allocation: str = "continuous", changes: bool = False) -> simulation.Scenario:
    data = flow_scenario(allocation=allocation)
    if changes:
        # Close beds below occupancy (they close as patients leave), cut the team, and
        # reopen later: the accounting must still hold.
        data["changes"] = [
            {"date": "2027-01-01", "set": "beds", "unit": "North Medium", "to": 3},
            {"date": "2027-06-01", "set": "places", "team": "Forensic Team", "to": 2},
            {"date": "2028-01-01", "set": "beds", "unit": "North Medium", "to": 10},
        ]
    return simulation.load_scenario_dict(data)


def moving_at_18(move: str) -> simulation.Scenario:
    """Young people who turn 18 in a CAMHS bed move to the adult pathway (tight adult beds,
    so transfers wait in their CAMHS beds and some go out of area)."""
    return simulation.load_scenario_dict(transition_scenario(move, adult_beds=(3, 1)))


SCENARIOS = {
    "baseline": baseline,
    "flow_continuous": lambda: flow("continuous"),
    "flow_weekly_panel": lambda: flow("weekly_panel"),
    "flow_with_changes": lambda: flow("continuous", changes=True),
    "transfer_at_18": lambda: moving_at_18("transfer"),
    "discharge_at_18": lambda: moving_at_18("discharge"),
}


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def outputs(request: pytest.FixtureRequest) -> list[ModelOutput]:
    scenario = SCENARIOS[request.param]()
    return [Model(scenario, r).run() for r in range(REPLICATIONS)]


# -- helpers ----------------------------------------------------------------------------
def chains(output: ModelOutput) -> dict[int, list[Episode]]:
    """Each referral's episodes (its first stay, then its step-downs), in order."""
    out: dict[int, list[Episode]] = defaultdict(list)
    for e in sorted(output.episodes, key=lambda e: e.episode_id):
        out[e.referral_id].append(e)
    return dict(out)


def pending_step_down(e: Episode) -> bool:
    """A step-down episode still waiting for its bed (the patient is in the previous one)."""
    return e.source == "step_down" and e.admission_day is None


def bed_intervals(
    output: ModelOutput,
) -> Iterator[tuple[str, float, float]]:
    """(unit or OUT_OF_AREA, start, end) of every bed occupied, from the episode records."""
    horizon = output.scenario.horizon_days
    for e in output.episodes:
        if e.admission_day is None:
            continue
        end = e.exit_day if e.exit_day is not None else horizon
        assert e.admitted_to is not None
        if e.admitted_to == OUT_OF_AREA and e.repatriation_day is not None:
            assert e.repatriated_to is not None
            yield OUT_OF_AREA, e.admission_day, e.repatriation_day
            yield e.repatriated_to, e.repatriation_day, end
        else:
            yield e.admitted_to, e.admission_day, end


def reported(start: float, end: float, horizon: float) -> float:
    """Days of [start, end) inside the reported period [0, horizon)."""
    return max(0.0, min(end, horizon) - max(start, 0.0))


def horizon_kpi(kpis: pd.DataFrame, kpi: str, **dims: str) -> pd.Series:
    rows = kpis[(kpis["kpi"] == kpi) & (kpis["period"] == "horizon")]
    for dim in ("pathway", "service", "unit", "place"):
        rows = rows[rows[dim] == dims.get(dim, "all")]
    return rows["value"]


def one_kpi(kpis: pd.DataFrame, kpi: str, **dims: str) -> float:
    values = horizon_kpi(kpis, kpi, **dims)
    assert len(values) == 1, (kpi, dims, values)
    return float(values.iloc[0])


# -- every referral in exactly one state ------------------------------------------------
def own_states(output: ModelOutput) -> dict[int, str]:
    """Each referral's state from its records, by predicates checked to be exclusive."""
    result = {}
    for rid, chain in chains(output).items():
        e = chain[-1]
        holding = chain[-2] if pending_step_down(e) else None  # in a bed, waiting to move
        if holding is not None:
            e = holding
        in_stay = e.admission_day is not None and e.exit_day is None
        away = e.admitted_to == OUT_OF_AREA and e.repatriation_day is None
        predicates = {
            "assessment": e.decision == "pending",
            "not_accepted": e.decision == "not_accepted",
            "diverted": e.decision == "diverted",
            "withdrawn": e.decision == "accepted" and e.withdrawn_day is not None,
            "waiting": e.decision == "accepted"
            and e.withdrawn_day is None
            and e.admission_day is None,
            "in_bed": e.decision == "accepted" and in_stay and not away,
            "out_of_area": e.decision == "accepted" and in_stay and away,
            "in_community": e.exit_to == "community" and e.community_end_day is None,
            "discharged": e.exit_day is not None
            and (e.exit_to == "home" or e.community_end_day is not None),
        }
        true = [name for name, holds in predicates.items() if holds]
        assert len(true) == 1, f"referral {rid} is in states {true}: {chain}"
        result[rid] = true[0]
    return result


def test_every_referral_is_in_exactly_one_state(outputs: list[ModelOutput]) -> None:
    for output in outputs:
        referrals = [e for e in output.episodes if e.source != "step_down"]
        assert len(referrals) > 0
        ids = [e.episode_id for e in referrals]
        assert len(set(ids)) == len(ids)
        states = own_states(output)
        assert sorted(states) == sorted(ids)  # one state per referral, none lost or made up
        by_kpis = referral_states(output)
        assert by_kpis.index.is_unique
        assert sorted(by_kpis.index) == sorted(ids)
        assert set(by_kpis) <= STATES
        assert sum(Counter(states.values()).values()) == len(referrals)


def test_episode_records_are_consistent(outputs: list[ModelOutput]) -> None:
    for output in outputs:
        horizon = output.scenario.horizon_days
        ids = [e.episode_id for e in output.episodes]
        assert ids == list(range(1, len(ids) + 1))
        for rid, chain in chains(output).items():
            first, *rest = chain
            assert first.episode_id == rid
            assert first.source in {"new", "readmission", "transfer_at_18"}
            assert all(e.source == "step_down" for e in rest)
            # A step-down moves the patient from one bed to the next at the same moment.
            for before, after in zip(chain, rest, strict=False):
                assert before.exit_to == "step_down_bed" or (
                    before.exit_day is None and pending_step_down(after)
                ), (before, after)
                assert before.step_down_to in (None, after.service)
                if after.admission_day is not None:
                    assert after.admission_day == before.exit_day
                assert after.decision_day == before.ready_day
            assert sum(e.exit_day is None and e.admission_day is not None for e in chain) <= 1
            for e in chain:
                seen = episode_timeline(e)
                assert seen == sorted(seen), e
                assert seen[-1] <= horizon
                if e.withdrawn_day is not None:
                    assert e.admission_day is None and e.decision == "accepted"
                if e.repatriation_day is not None:
                    assert e.admitted_to == OUT_OF_AREA
                if e.community_start_day is not None:
                    assert e.community_team is not None
                    assert e.community_start_day in (e.decision_day, e.exit_day)


def test_live_end_state_matches_the_records(outputs: list[ModelOutput]) -> None:
    """Queues, beds, out-of-area census and caseloads versus the episode records."""
    for output in outputs:
        episodes = output.episodes
        end = output.end_state
        listed = [
            e
            for e in episodes
            if e.source != "step_down"
            and e.decision == "accepted"
            and e.admission_day is None
            and e.withdrawn_day is None
        ]
        assert len(listed) == sum(end["waiting"].values())
        for key, n in end["waiting"].items():
            assert n == sum((e.pathway, e.service) == key for e in listed)

        occupied: Counter[str] = Counter()
        for e in episodes:
            if e.admission_day is not None and e.exit_day is None:
                unit = e.repatriated_to or e.admitted_to
                assert unit is not None
                occupied[unit] += 1
        away = occupied.pop(OUT_OF_AREA, 0)
        assert dict(occupied) == {u: n for u, n in end["occupied"].items() if n}
        assert away == sum(end["out_of_area"].values())

        for name, team in end["teams"].items():
            on_caseload = sum(
                e.community_team == name and e.community_end_day is None
                for e in episodes
                if e.community_start_day is not None
            )
            assert team["in_use"] == on_caseload
        # Patients ready for discharge still in a bed: waiting for a team place or a bed,
        # or, turned 18, for the adult bed they were transferred to (on its waiting list).
        held = [e for e in episodes if e.ready_day is not None and e.exit_day is None]
        pending = {e.referral_id for e in episodes if pending_step_down(e)}
        transferring = {
            e.patient_id
            for e in episodes
            if e.source == "transfer_at_18" and e.admission_day is None
        }
        for_adult = [e for e in held if e.patient_id in transferring]
        assert len(for_adult) == len(transferring)
        held = [e for e in held if e.patient_id not in transferring]
        for_team = [e for e in held if e.referral_id not in pending]
        for_bed = [e for e in held if e.referral_id in pending]
        assert len(for_team) == sum(t["queue"] for t in end["teams"].values())
        assert len(for_bed) == len(pending)


def test_referral_states_count_waiting_in_bed_and_out_of_area_as_the_model_does(
    outputs: list[ModelOutput],
) -> None:
    """The states KPI against the live end state (step-down patients waiting are in bed)."""
    for output in outputs:
        end = output.end_state
        counts = referral_states(output).value_counts()
        assert counts.get("waiting", 0) == sum(end["waiting"].values())
        assert counts.get("in_bed", 0) == sum(end["occupied"].values())
        assert counts.get("out_of_area", 0) == sum(end["out_of_area"].values())
        assert counts.to_dict() == dict(Counter(own_states(output).values()))


# -- time: level recorders versus episode intervals -------------------------------------
def test_bed_days_from_levels_match_episode_intervals(outputs: list[ModelOutput]) -> None:
    for output in outputs:
        scenario = output.scenario
        horizon = scenario.horizon_days
        kpis = kpi_rows(output)
        days: defaultdict[str, float] = defaultdict(float)
        for unit, start, stop in bed_intervals(output):
            days[unit] += reported(start, stop, horizon)
        for unit in scenario.units:
            level_days = one_kpi(
                kpis, "bed_days", pathway=unit.pathway, service=unit.service, unit=unit.name
            )
            assert level_days == pytest.approx(days[unit.name], rel=1e-9, abs=1e-6), unit.name
        for pathway, service in scenario.services():
            ooa_census = one_kpi(kpis, "ooa_census_mean", pathway=pathway, service=service)
            ooa_days = one_kpi(kpis, "ooa_bed_days", pathway=pathway, service=service)
            # The census level (recorder) against the episodes' out-of-area intervals.
            assert ooa_census * horizon == pytest.approx(ooa_days, rel=1e-9, abs=1e-6)
        expected_ooa = days[OUT_OF_AREA]
        total_ooa = sum(one_kpi(kpis, "ooa_bed_days", pathway=p) for p in scenario.pathways)
        assert total_ooa == pytest.approx(expected_ooa, rel=1e-9, abs=1e-6)


def test_waiting_delayed_and_caseload_days_match_episode_intervals(
    outputs: list[ModelOutput],
) -> None:
    for output in outputs:
        scenario = output.scenario
        horizon = scenario.horizon_days
        kpis = kpi_rows(output)
        waiting: defaultdict[tuple[str, str], float] = defaultdict(float)
        delayed: defaultdict[tuple[str, str], float] = defaultdict(float)
        caseload: defaultdict[str, float] = defaultdict(float)
        for e in output.episodes:
            key = (e.pathway, e.service)
            if e.source != "step_down" and e.decision == "accepted":
                assert e.decision_day is not None
                stop = e.admission_day if e.admission_day is not None else e.withdrawn_day
                stop = stop if stop is not None else horizon
                waiting[key] += reported(e.decision_day, stop, horizon)
            if e.ready_day is not None:
                stop = e.exit_day if e.exit_day is not None else horizon
                delayed[key] += reported(e.ready_day, stop, horizon)
            if e.community_start_day is not None:
                assert e.community_team is not None
                stop = e.community_end_day if e.community_end_day is not None else horizon
                caseload[e.community_team] += reported(e.community_start_day, stop, horizon)
        for pathway, service in scenario.services():
            key = (pathway, service)
            mean_waiting = one_kpi(kpis, "waiting_list_mean", pathway=pathway, service=service)
            assert mean_waiting * horizon == pytest.approx(waiting[key], rel=1e-9, abs=1e-6)
            delay_days = one_kpi(kpis, "delayed_discharge_days", pathway=pathway, service=service)
            assert delay_days == pytest.approx(delayed[key], rel=1e-9, abs=1e-6)
        for team in scenario.community_teams:
            mean_caseload = one_kpi(
                kpis, "community_caseload_mean", pathway=team.pathway, unit=team.name
            )
            assert mean_caseload * horizon == pytest.approx(caseload[team.name], rel=1e-9, abs=1e-6)


def test_beds_are_never_over_occupied(outputs: list[ModelOutput]) -> None:
    for output in outputs:
        scenario = output.scenario
        most = {u.name: u.beds for u in scenario.units}
        for change in scenario.changes:
            unit = getattr(change, "unit", None)
            if unit is not None:
                most[unit] = max(most[unit], change.to)  # type: ignore[union-attr]
        moves: defaultdict[str, list[tuple[float, int]]] = defaultdict(list)
        for unit, start, stop in bed_intervals(output):
            if unit != OUT_OF_AREA and stop > start:
                moves[unit] += [(start, 1), (stop, -1)]
        for unit, events in moves.items():
            # Leaving sorts before arriving at the same moment (-1 < 1): a freed bed reused.
            peak = np.max(np.cumsum([delta for _, delta in sorted(events)]))
            assert peak <= most[unit], unit


def test_the_flow_scenario_exercises_every_route() -> None:
    """Guard: the conservation tests above are only as good as the routes taken."""
    output = Model(flow("continuous"), 0).run()
    episodes = output.episodes
    seen = {
        "not accepted": any(e.decision == "not_accepted" for e in episodes),
        "diverted": any(e.decision == "diverted" for e in episodes),
        "withdrawn": any(e.withdrawn_day is not None for e in episodes),
        "out of area": any(e.admitted_to == OUT_OF_AREA for e in episodes),
        "repatriated": any(e.repatriation_day is not None for e in episodes),
        "step-down to a bed": any(e.exit_to == "step_down_bed" for e in episodes),
        "step-down to a team": any(e.exit_to == "community" for e in episodes),
        "readmitted": any(e.source == "readmission" for e in episodes),
        "urgent": any(e.priority == "urgent" for e in episodes),
        "delayed discharge": any(
            e.ready_day is not None and (e.exit_day or np.inf) > e.ready_day for e in episodes
        ),
        "waiting at the end": sum(output.end_state["waiting"].values()) > 0
        or any(pending_step_down(e) for e in episodes),
    }
    assert all(seen.values()), seen


# -- the bed manager's rules, checked on the records ------------------------------------
def bed_waits(output: ModelOutput) -> list[dict[str, Any]]:
    """Every wait for a footprint bed: referrals on the list and step-downs in a bed."""
    horizon = output.scenario.horizon_days
    waits = []
    for e in output.episodes:
        if e.decision != "accepted":
            continue
        assert e.decision_day is not None
        if e.admission_day is not None:
            end, outcome = e.admission_day, e.admitted_to
        elif e.withdrawn_day is not None:
            end, outcome = e.withdrawn_day, "withdrawn"
        else:
            end, outcome = horizon, "waiting"
        waits.append(
            {
                "service": (e.pathway, e.service),
                "urgent": e.priority == "urgent",
                "start": e.decision_day,
                "end": end,
                "outcome": outcome,
                "source": e.source,
                "id": e.episode_id,
                "search_day": e.ooa_search_day,
                "reason": e.ooa_reason,
                "kind": (e.sex, e.stream, e.age_band),
                "home": e.home_place,
            }
        )
    return waits


def test_waits_respect_the_maximum_wait(outputs: list[ModelOutput]) -> None:
    for output in outputs:
        for w in bed_waits(output):
            if w["source"] == "step_down":
                continue  # a step-down waits in a bed; the maximum wait does not apply
            if w["start"] < -output.scenario.warmup_days and w["end"] <= 0:
                continue  # a census patient placed before the run: given, not simulated
            pathway, service = w["service"]
            limits = output.scenario.pathways[pathway].max_wait_days
            limit = limits.urgent if w["urgent"] else limits.routine
            waited = w["end"] - w["start"]
            searched = output.scenario.pathways[pathway].services[service].out_of_area.search
            if searched is not None and limit is not None:
                # The search for an out-of-area bed begins at the maximum wait (at once if
                # no unit takes the patient) and the patient waits on while it goes on.
                if w["outcome"] == OUT_OF_AREA:
                    until_search = w["search_day"] - w["start"]
                    if w["reason"] == "no_compatible_unit":
                        assert until_search == pytest.approx(0.0, abs=1e-9), w
                    else:
                        assert until_search == pytest.approx(limit, abs=1e-9), w
            elif limit is not None:
                assert waited <= limit + 1e-9, w
                if w["outcome"] == OUT_OF_AREA:
                    assert waited == pytest.approx(limit, abs=1e-9), w
            else:
                assert w["outcome"] != OUT_OF_AREA, w


def could_use(scenario: Any, unit_name: str, kind: tuple[Any, Any, Any], home: str) -> bool:
    """Whether the bed manager may offer a bed of this unit to this patient."""
    unit = next(u for u in scenario.units if u.name == unit_name)
    sex, stream, age_band = kind
    if scenario.bed_management.scope == "linked_units" and home not in unit.linked_places:
        return False
    return (
        (unit.sex == "any" or sex is None or unit.sex == sex)
        and (not unit.streams or stream is None or stream in unit.streams)
        and (not unit.age_bands or age_band is None or age_band in unit.age_bands)
    )


def test_beds_go_to_urgent_patients_first_then_in_order_of_waiting(
    outputs: list[ModelOutput],
) -> None:
    """No bed is given past a patient of higher priority, or of the same priority who
    has waited longer, who was still waiting for that service at that moment and whom
    the unit would take."""
    for output in outputs:
        by_service: defaultdict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for w in bed_waits(output):
            by_service[w["service"]].append(w)
        checked = 0
        for waits in by_service.values():
            for got in waits:
                if got["outcome"] in (OUT_OF_AREA, "withdrawn", "waiting"):
                    continue
                t = got["end"]
                if t <= got["start"]:
                    continue  # admitted on arrival: nobody was waiting
                checked += 1
                for other in waits:
                    if other["id"] == got["id"] or not (other["start"] < t < other["end"]):
                        continue
                    if not could_use(output.scenario, got["outcome"], other["kind"], other["home"]):
                        continue  # the bed was not one ``other`` could have had
                    # ``other`` was waiting when ``got`` was given a bed.
                    assert not other["urgent"] or got["urgent"], (got, other)
                    if other["urgent"] == got["urgent"]:
                        assert other["start"] >= got["start"], (got, other)
        assert checked > 0 or output.scenario.name == "baseline"


def free_bed_intervals(
    output: ModelOutput,
) -> dict[tuple[str, str], list[tuple[float, float, str]]]:
    """Stretches of time in which a unit of a service had a free bed (fixed beds), with
    the unit's name."""
    moves: defaultdict[str, list[tuple[float, int]]] = defaultdict(list)
    for unit, start, stop in bed_intervals(output):
        if unit != OUT_OF_AREA:
            moves[unit] += [(start, 1), (stop, -1)]
    horizon = output.scenario.horizon_days
    free: defaultdict[tuple[str, str], list[tuple[float, float, str]]] = defaultdict(list)
    start = -float(output.scenario.warmup_days)
    for unit in output.scenario.units:
        occupied, since = 0, start
        for t, delta in sorted(moves[unit.name]):
            if occupied < unit.beds and t > since:
                free[(unit.pathway, unit.service)].append((since, t, unit.name))
            occupied += delta
            since = max(t, start)  # a census's stays began before the run: not simulated
        if occupied < unit.beds and horizon > since:
            free[(unit.pathway, unit.service)].append((since, horizon, unit.name))
    return free


def test_no_bed_stands_empty_while_someone_could_use_it(outputs: list[ModelOutput]) -> None:
    """Continuous allocation: a free bed goes at once to the queue, else to a patient out
    of area (repatriation), if the unit takes them. Weekly panels leave beds empty until
    the panel meets."""
    for output in outputs:
        scenario = output.scenario
        if scenario.bed_management.allocation != "continuous" or scenario.changes:
            continue
        free = free_bed_intervals(output)
        wanting = [
            (w["service"], w["start"], w["end"], w["kind"], w["home"]) for w in bed_waits(output)
        ]
        if scenario.bed_management.repatriation:
            for e in output.episodes:
                if e.admitted_to == OUT_OF_AREA:
                    assert e.admission_day is not None
                    ends = [e.repatriation_day, e.ready_day, scenario.horizon_days]
                    end = min(t for t in ends if t is not None)
                    kind = (e.sex, e.stream, e.age_band)
                    wanting.append(
                        ((e.pathway, e.service), e.admission_day, end, kind, e.home_place)
                    )
        checked = 0
        run_start = -float(scenario.warmup_days)
        for service, start, end, kind, home in wanting:
            start = max(start, run_start)  # a census patient's wait before the run is given
            if end - start <= 1e-9:
                continue
            checked += 1
            for a, b, unit in free.get(service, []):
                if not could_use(scenario, unit, kind, home):
                    continue
                overlap = min(b, end) - max(a, start)
                assert overlap <= 1e-9, (service, (start, end), (a, b))
        assert checked > 0


def test_the_moves_at_18_exercise_their_routes() -> None:
    """Guard: the conservation tests of the moves at 18 see waits, beds out of area and
    adult step-downs, not only the easy path."""
    output = Model(moving_at_18("transfer"), 0).run()
    transfers = [e for e in output.episodes if e.source == "transfer_at_18"]
    seen = {
        "transferred": len(transfers) > 10,
        "waited in the CAMHS bed": any(
            e.admission_day is not None and e.admission_day > e.referral_day for e in transfers
        ),
        "out of area as an adult": any(e.admitted_to == OUT_OF_AREA for e in transfers),
        "adult step-down": any(e.exit_to == "community" for e in transfers),
    }
    assert all(seen.values()), seen
    moved = [e for e in Model(moving_at_18("discharge"), 0).run().episodes]
    assert any(e.adult_services_day is not None and e.community_team == "Adult Team" for e in moved)
