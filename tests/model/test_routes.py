"""One event log per route through the pathway, in the style of SimPy's own tests.

Nothing is random: the assessment delay, lengths of stay, community episodes and
patience are fixed, every share is 0 or 1, and referrals arrive at regular intervals
at a rate that gives each place exactly one referral inside the horizon. Each test runs
one patient (or the fewest patients the route needs) and compares the log of what
happened, and on which day, with the log worked out by hand; the days are sums of the
fixed values, so they are compared exactly.
"""

from __future__ import annotations

from typing import Any

from simulation import load_scenario_dict
from simulation.core.streams import StreamFactory
from simulation.model.model import Model, ModelOutput
from simulation.model.resources import OUT_OF_AREA

PATHWAY = "adult_secure"
TEAM = "Forensic Team"
HORIZON_DAYS = 199
ONE_A_DAY = 365.25
"""Referrals per 100,000 people per year that make one a day: a place of ``P`` people is
referred a patient every ``100,000 / P`` days, the first on that day. Every place is
referred on day 100 or later, so its second referral falls after the horizon."""


def fixed(days: float) -> dict[str, Any]:
    return {"distribution": "fixed", "value": days}


def unit(name: str, service: str, place: str, linked: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "pathway": PATHWAY,
        "service": service,
        "place": place,
        "beds": 1,
        "cost_per_bed_day_gbp": 500,
        "linked_places": linked,
    }


def scenario(referrals: dict[str, float] | None = None) -> dict[str, Any]:
    """An adult secure pathway in which each place is referred one patient.

    ``referrals`` maps each place to the day of its one medium secure referral (100 by
    default, from North). One medium secure bed (Beacon) and one low secure bed (Cedar),
    both linked to every place; a team (Forensic Team) of one place with community
    episodes of 40 days. Assessment takes 2 days, and everyone is accepted; medium
    secure stays last 30 days, low secure stays 20, and everyone goes home after. No
    maximum wait, withdrawal, diversion or readmission; nobody is referred to low secure.
    """
    referrals = referrals or {"North": 100.0}
    places = list(referrals)
    return {
        "name": "routes",
        "start_date": "2026-04-01",
        "horizon_years": HORIZON_DAYS / 365.25,
        "warmup_days": 0,
        "replications": 1,
        "seed": 1,
        "places": [
            {"name": place, "population": round(100_000 / day)} for place, day in referrals.items()
        ],
        "units": [
            unit("Beacon", "medium", places[0], places),
            unit("Cedar", "low", places[0], places),
        ],
        "community_teams": [
            {
                "name": TEAM,
                "pathway": PATHWAY,
                "places": 1,
                "episode_length": fixed(40),
                "cost_per_place_per_year_gbp": 25_000,
            }
        ],
        "pathways": {
            PATHWAY: {
                "arrivals": "regular",
                "assessment_delay": fixed(2),
                "services": {
                    "medium": {
                        "referral_rate_per_100k_per_year": ONE_A_DAY,
                        "length_of_stay": fixed(30),
                        "out_of_area": {"cost_per_bed_day_gbp": 600, "distance_miles": 110},
                    },
                    "low": {
                        "referral_rate_per_100k_per_year": 0.0,
                        "length_of_stay": fixed(20),
                        "out_of_area": {"cost_per_bed_day_gbp": 520, "distance_miles": 100},
                    },
                },
            }
        },
    }


def run(data: dict[str, Any], patients: int = 1) -> ModelOutput:
    """Run the scenario's one replication, which must see exactly ``patients`` patients."""
    output = Model(load_scenario_dict(data), 0).run()
    assert {e.patient_id for e in output.episodes} == set(range(1, patients + 1))
    return output


REFERRED = {"new": "referred", "readmission": "referred again", "step_down": "referred to {}"}


def log(output: ModelOutput, patient: int = 1) -> list[tuple[str, float]]:
    """What happened to one patient, and on which day, from their episode records.

    In time order; events of the same day keep the order of the records (episode by
    episode, each in the pathway's order).
    """
    events: list[tuple[str, float | None]] = []
    for e in output.episodes:
        if e.patient_id != patient:
            continue
        admitted = (
            "placed out of area" if e.admitted_to == OUT_OF_AREA else f"admitted {e.admitted_to}"
        )
        events += [
            (REFERRED[e.source].format(e.service), e.referral_day),
            (e.decision.replace("_", " "), e.decision_day),
            (admitted, e.admission_day),
            (f"repatriated to {e.repatriated_to}", e.repatriation_day),
            ("withdrew", e.withdrawn_day),
            ("ready", e.ready_day),
            (f"left for {e.step_down_to or e.exit_to}", e.exit_day),
            (f"joined {e.community_team}", e.community_start_day),
            (f"discharged by {e.community_team}", e.community_end_day),
        ]
    happened = [(what, day) for what, day in events if day is not None]
    return sorted(happened, key=lambda event: event[1])


def test_diverted_to_a_community_team() -> None:
    data = scenario()
    data["pathways"][PATHWAY]["diversion"] = {"share": 1.0, "team": TEAM}
    output = run(data)
    assert log(output) == [
        ("referred", 100.0),
        ("diverted", 102.0),  # assessed after 2 days; the team has room
        ("joined Forensic Team", 102.0),
        ("discharged by Forensic Team", 142.0),  # 102 + 40
    ]
    assert output.end_state["teams"][TEAM]["in_use"] == 0


def test_not_accepted_at_assessment() -> None:
    data = scenario()
    data["pathways"][PATHWAY]["not_accepted_share"] = 1.0
    assert log(run(data)) == [("referred", 100.0), ("not accepted", 102.0)]


def test_admitted_to_the_unit_linked_to_the_home_place_before_a_nearer_one() -> None:
    data = scenario()
    # Harbour is in North itself (0 miles) but not linked to it; Beacon is linked, 15 miles.
    data["units"][0]["distance_miles"] = {"North": 15}
    data["units"].insert(0, unit("Harbour", "medium", "North", []))
    output = run(data)
    assert log(output) == [
        ("referred", 100.0),
        ("accepted", 102.0),
        ("admitted Beacon", 102.0),
        ("ready", 132.0),  # 102 + 30
        ("left for home", 132.0),
    ]
    assert output.episodes[0].distance_miles == 15.0


def test_admitted_elsewhere_in_the_footprint_when_the_linked_unit_is_full() -> None:
    data = scenario({"North": 100.0, "South": 125.0})
    data["units"].append(unit("Harbour", "medium", "South", []))
    output = run(data, patients=2)
    assert log(output, 1) == [
        ("referred", 100.0),
        ("accepted", 102.0),
        ("admitted Beacon", 102.0),
        ("ready", 132.0),
        ("left for home", 132.0),
    ]
    assert log(output, 2) == [
        ("referred", 125.0),
        ("accepted", 127.0),
        ("admitted Harbour", 127.0),  # Beacon, the linked unit, is full until day 132
        ("ready", 157.0),
        ("left for home", 157.0),
    ]


def test_out_of_area_past_the_maximum_wait_then_repatriated_when_a_bed_frees() -> None:
    data = scenario({"North": 100.0, "South": 125.0})
    data["pathways"][PATHWAY]["max_wait_days"] = {"routine": 3}
    data["bed_management"] = {"repatriation": True}
    output = run(data, patients=2)
    assert log(output, 1) == [
        ("referred", 100.0),
        ("accepted", 102.0),
        ("admitted Beacon", 102.0),
        ("ready", 132.0),
        ("left for home", 132.0),
    ]
    assert log(output, 2) == [
        ("referred", 125.0),
        ("accepted", 127.0),
        ("placed out of area", 130.0),  # Beacon is full: 127 + the maximum wait of 3
        ("repatriated to Beacon", 132.0),  # the day patient 1 goes home
        ("ready", 160.0),  # the stay counts from the out-of-area admission: 130 + 30
        ("left for home", 160.0),
    ]
    assert output.end_state["repatriations"][(PATHWAY, "medium")] == 1


def test_step_down_from_medium_to_low_secure_then_to_a_community_team() -> None:
    data = scenario()
    services = data["pathways"][PATHWAY]["services"]
    services["medium"]["step_down"] = [{"to": "low", "probability": 1.0}]
    services["low"]["step_down"] = [{"to": TEAM, "probability": 1.0}]
    output = run(data)
    assert log(output) == [
        ("referred", 100.0),
        ("accepted", 102.0),
        ("admitted Beacon", 102.0),
        ("ready", 132.0),
        ("left for low", 132.0),  # Cedar has a free bed
        ("referred to low", 132.0),
        ("accepted", 132.0),
        ("admitted Cedar", 132.0),
        ("ready", 152.0),  # 132 + 20
        ("left for Forensic Team", 152.0),
        ("joined Forensic Team", 152.0),
        ("discharged by Forensic Team", 192.0),  # 152 + 40
    ]
    chain = [(e.service, e.source, e.referral_id, e.episode_id) for e in output.episodes]
    assert chain == [("medium", "new", 1, 1), ("low", "step_down", 1, 2)]


def test_delayed_discharge_until_the_community_team_has_room() -> None:
    # Patient 1 is diverted and holds the team's one place until day 162; patient 2 finds
    # the team full, so is admitted instead, and is ready to step down to it on day 157.
    data = scenario({"North": 100.0, "South": 125.0})
    data["community_teams"][0]["episode_length"] = fixed(60)
    data["pathways"][PATHWAY]["diversion"] = {"share": 1.0, "team": TEAM}
    services = data["pathways"][PATHWAY]["services"]
    services["medium"]["step_down"] = [{"to": TEAM, "probability": 1.0}]
    output = run(data, patients=2)
    assert log(output, 1) == [
        ("referred", 100.0),
        ("diverted", 102.0),
        ("joined Forensic Team", 102.0),
        ("discharged by Forensic Team", 162.0),  # 102 + 60
    ]
    assert log(output, 2) == [
        ("referred", 125.0),
        ("accepted", 127.0),  # not diverted: the team has no room
        ("admitted Beacon", 127.0),
        ("ready", 157.0),
        ("left for Forensic Team", 162.0),  # delayed 5 days, until patient 1's place frees
        ("joined Forensic Team", 162.0),
    ]
    stay = output.episodes[1]
    assert stay.exit_day - stay.ready_day == 5.0
    assert output.delayed[(PATHWAY, "medium")].sum() == 5.0


def test_delayed_discharge_until_a_step_down_bed_frees() -> None:
    # Patient 1 is referred to medium secure on day 100 and is ready to step down on day
    # 132; patient 2, referred straight to low secure on day 125, holds Cedar's one bed
    # from day 127 to day 147.
    data = scenario()
    services = data["pathways"][PATHWAY]["services"]
    services["low"]["referral_rate_per_100k_per_year"] = ONE_A_DAY * 0.8  # every 125 days
    services["medium"]["step_down"] = [{"to": "low", "probability": 1.0}]
    output = run(data, patients=2)
    assert log(output, 2) == [
        ("referred", 125.0),
        ("accepted", 127.0),
        ("admitted Cedar", 127.0),
        ("ready", 147.0),
        ("left for home", 147.0),
    ]
    assert log(output, 1) == [
        ("referred", 100.0),
        ("accepted", 102.0),
        ("admitted Beacon", 102.0),
        ("ready", 132.0),
        ("referred to low", 132.0),
        ("accepted", 132.0),
        ("left for low", 147.0),  # delayed 15 days, until patient 2 leaves Cedar
        ("admitted Cedar", 147.0),
        ("ready", 167.0),  # 147 + 20
        ("left for home", 167.0),
    ]
    medium = next(e for e in output.episodes if e.patient_id == 1 and e.service == "medium")
    assert medium.exit_day - medium.ready_day == 15.0
    assert output.delayed[(PATHWAY, "medium")].sum() == 15.0


def test_withdrawn_from_the_waiting_list_when_patience_runs_out() -> None:
    data = scenario({"North": 100.0, "South": 125.0})
    data["pathways"][PATHWAY]["withdrawal"] = {"patience": fixed(3)}
    output = run(data, patients=2)
    assert log(output, 1)[-1] == ("left for home", 132.0)  # Beacon is full until day 132
    assert log(output, 2) == [
        ("referred", 125.0),
        ("accepted", 127.0),
        ("withdrew", 130.0),  # 127 + a patience of 3, before Beacon frees on day 132
    ]
    assert output.end_state["waiting"][(PATHWAY, "medium")] == 0
    assert output.end_state["occupied"]["Beacon"] == 0


def test_readmitted_after_discharge() -> None:
    data = scenario()
    data["pathways"][PATHWAY]["readmission"] = {"probability": 1.0, "window_days": 10}
    data["pathways"][PATHWAY]["services"]["medium"]["length_of_stay"] = fixed(60)
    # The delay is drawn uniformly over the window (a scenario cannot fix it): it is the
    # first number of its named stream times the window, reproduced here.
    u = StreamFactory(data["seed"], 0).uniform(f"{PATHWAY}.new.readmission_delay")()
    again = 162.0 + u * 10
    assert 162.0 < again < 172.0
    output = run(data)
    assert log(output) == [
        ("referred", 100.0),
        ("accepted", 102.0),
        ("admitted Beacon", 102.0),
        ("ready", 162.0),  # 102 + 60
        ("left for home", 162.0),
        ("referred again", again),
        ("accepted", again + 2),
        ("admitted Beacon", again + 2),  # ready at again + 62, after the horizon
    ]
    readmission = output.episodes[1]
    assert (readmission.source, readmission.priority) == ("readmission", "urgent")
