"""Census files from data: who was in a bed, waiting or in assessment on a given day.

A run that starts from a census (see :mod:`simulation.scenario.census`) needs a file listing the
patients in the system on its start date. This module makes one from two sources:

- an extract (:func:`census_from_extract`), on any day of its period or the day after
  it: patients admitted and not yet discharged are in a bed (in the unit they are in
  that day, or out of area), with their ready-for-discharge date if they are ready and
  the step-down they are waiting for if known; accepted referrals not yet admitted or
  withdrawn are waiting; referrals not yet decided are in assessment. Community
  caseloads are not in an extract (it ends at discharge), yet for adult secure a full
  community team is what keeps patients in beds after they are ready, so they are
  *estimated* (:func:`community_caseload`): each discharge to a team, and each
  diversion, is still on the caseload with the probability that an episode of the base
  scenario's length lasts that long; episodes that began before the period are added
  as a steady inflow at the period's observed rate would have left them. Likewise the
  patients discharged home within the readmission window, who may yet be readmitted:
  those in the extract, and an estimate of those discharged before it. The draws use
  the scenario's seed and the result is written to the census file, so it is traceable;
- a model run (:func:`census_from_episodes`), at day 0 of a run warmed up from empty:
  the state of its patients at that moment, community caseloads included. This is how
  the baseline's census is made, consistent with its own parameters.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from calibration.extract import MIX_COLUMNS, Extract
from simulation.model.records import Episode
from simulation.model.resources import OUT_OF_AREA
from simulation.scenario.census import HOME
from simulation.scenario.schema import Scenario


def _date(day: float, start: dt.date) -> str:
    return (start + dt.timedelta(days=math.floor(day))).isoformat()


def census_from_extract(
    extract: Extract, day: int, scenario: Scenario, seed: int
) -> list[dict[str, str]]:
    """The census on ``day`` as rows of a census file.

    ``day`` counts from the period start; the day after the extract is
    ``extract.period_days``.

    Patients discharged home within the scenario's readmission window, and not yet
    referred again, are listed as ``discharged``: they may still be readmitted. Those
    discharged before the period are estimated (see :func:`_discharged_from_extract`),
    with random draws from ``numpy.random.default_rng(seed)``.
    """
    frame = extract.rows
    referred = extract.day("referral_date")
    decided = extract.day("decision_date")
    admitted = extract.day("admission_date")
    repatriated = extract.day("repatriation_date")
    withdrawn = extract.day("withdrawn_date")
    ready = extract.day("ready_date")
    discharged = extract.day("discharge_date")

    def before(values: np.ndarray) -> np.ndarray:
        return np.asarray(~np.isnan(values) & (values < day))

    def not_before(values: np.ndarray) -> np.ndarray:
        return np.asarray(np.isnan(values) | (values >= day))

    source = frame["source"].to_numpy()
    decision = frame["decision"].to_numpy()
    in_bed = before(admitted) & not_before(discharged)
    waiting = (
        (decision == "accepted")
        & before(referred)
        & (before(decided) | np.isnan(decided))
        & not_before(admitted)
        & not_before(withdrawn)
    )
    in_assessment = before(referred) & ((decision == "") | (~np.isnan(decided) & (decided >= day)))
    # A step-down not yet taken up is where a patient in a bed is heading, not a referral
    # of its own: the patient waits in their current bed.
    heading: dict[str, str] = {}
    for i in np.flatnonzero(waiting & (source == "step_down")):
        heading[str(frame.at[i, "patient_id"])] = str(frame.at[i, "service"])
    start = extract.start
    rows: list[dict[str, str]] = []
    for i in np.flatnonzero(in_bed | (waiting & (source != "step_down")) | in_assessment):
        row = frame.iloc[i]
        entry = {
            "patient_id": str(row["patient_id"]),
            "pathway": str(row["pathway"]),
            "service": str(row["service"]),
            "home_place": str(row["home_place"]),
            "priority": str(row["priority"]),
        }
        for column in MIX_COLUMNS:
            if column in frame.columns:
                entry[column] = str(row[column])
        if in_bed[i]:
            where = str(row["admitted_to"])
            if before(repatriated[i : i + 1])[0]:
                where = str(row["repatriated_to"])
            entry["status"] = "out_of_area" if where == OUT_OF_AREA else "in_bed"
            entry["unit"] = "" if where == OUT_OF_AREA else where
            entry["since_date"] = _date(admitted[i], start)
            if before(ready[i : i + 1])[0]:
                entry["ready_date"] = _date(ready[i], start)
                to = str(row["discharge_to"]) or heading.get(entry["patient_id"], "")
                entry["discharge_to"] = to
        elif waiting[i]:
            entry["status"] = "waiting"
            since = decided[i] if not np.isnan(decided[i]) else referred[i]
            entry["since_date"] = _date(since, start)
        else:
            entry["status"] = "assessment"
            entry["since_date"] = _date(referred[i], start)
        rows.append(entry)
    rng = np.random.default_rng(seed)
    return rows + _discharged_from_extract(extract, day, scenario, rng)


def _discharged_from_extract(
    extract: Extract, day: int, scenario: Scenario, rng: np.random.Generator
) -> list[dict[str, str]]:
    """Patients discharged home before ``day``, inside the readmission window.

    Those in the extract not yet referred again, and an estimate of those discharged
    before the period: a steady inflow at the period's rate of discharges home, each
    still unreferred with probability ``1 - p a / w`` at ``a`` days of a window ``w``.
    """
    frame = extract.rows
    referred = extract.day("referral_date")
    discharged = extract.day("discharge_date")
    again: dict[str, np.ndarray] = {}
    referrals = frame[(frame["source"] != "step_down")]
    for pid, group in referrals.groupby("patient_id"):
        again[str(pid)] = referred[group.index.to_numpy()]
    rows = []

    def add(i: int, out: float) -> None:
        row = frame.iloc[i]
        rows.append(
            {
                "patient_id": str(row["patient_id"]),
                "pathway": str(row["pathway"]),
                "service": str(row["service"]),
                "home_place": str(row["home_place"]),
                "status": "discharged",
                "since_date": _date(out, extract.start),
            }
        )

    home = (frame["discharge_to"] == HOME).to_numpy() & ~np.isnan(discharged)
    for pathway, spec in scenario.pathways.items():
        window, p = spec.readmission.window_days, spec.readmission.probability
        mine = np.flatnonzero(home & (frame["pathway"] == pathway).to_numpy())
        for i in mine[discharged[mine] < day]:
            out = discharged[i]
            later = again.get(str(frame.at[i, "patient_id"]), np.empty(0))
            if day - out < window and not np.any((later >= out) & (later < day)):
                add(int(i), out)
        in_period = mine[(discharged[mine] >= 0) & (discharged[mine] < extract.period_days)]
        unseen_days = window - day
        if len(in_period) == 0 or unseen_days <= 0 or p <= 0:
            continue
        rate = len(in_period) / extract.period_days
        for _ in range(int(rng.poisson(rate * unseen_days))):
            age = day + rng.random() * unseen_days
            if rng.random() < 1 - p * age / window:
                add(int(in_period[rng.integers(len(in_period))]), day - age)
    return rows


@dataclass(frozen=True)
class _Start:
    """A community episode that began on ``day`` (days from the period start)."""

    day: float
    status: str  # community | diverted
    row: dict[str, str]


def _team_starts(extract: Extract, base: Scenario) -> dict[str, list[_Start]]:
    """Community episodes seen in the extract: discharges to a team and diversions."""
    frame = extract.rows
    discharged = extract.day("discharge_date")
    decided = extract.day("decision_date")
    referred = extract.day("referral_date")
    teams = {t.name for t in base.community_teams}
    starts: dict[str, list[_Start]] = {t: [] for t in teams}
    for i, row in enumerate(frame.itertuples(index=False)):
        who = {
            "patient_id": str(row.patient_id),
            "pathway": str(row.pathway),
            "service": str(row.service),
            "home_place": str(row.home_place),
            "priority": str(row.priority),
        }
        if row.discharge_to in teams and not np.isnan(discharged[i]):
            starts[str(row.discharge_to)].append(_Start(discharged[i], "community", who))
        elif row.decision == "diverted":
            diversion = base.pathways[str(row.pathway)].diversion
            if diversion is not None:
                day = decided[i] if not np.isnan(decided[i]) else referred[i]
                starts[diversion.team].append(_Start(day, "diverted", who))
    return starts


def community_caseload(
    extract: Extract,
    base: Scenario,
    day: int,
    seed: int,
    full: frozenset[str] = frozenset(),
) -> list[dict[str, str]]:
    """An estimate of each team's caseload on ``day`` (days from the period start).

    A community episode that began ``a`` days before is still going with probability
    ``S(a)`` under the base scenario's episode length: each seen episode is kept with
    that probability. Episodes that began before the period are not in the extract;
    assuming the period's inflow held before it too, their number is Poisson with mean
    ``inflow x integral of S beyond the days since the period start``, and their ages
    follow ``S`` there. A team is never filled beyond its places (the youngest
    episodes are kept); a team in ``full`` (one that patients ready for discharge are
    waiting for on the day, so it had no room) is filled to its places with more
    episodes drawn the same way. Random draws come from ``numpy.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    for team, starts in _team_starts(extract, base).items():
        spec = base.team(team)
        length = spec.episode_length
        inflow = [s for s in starts if 0 <= s.day < extract.period_days]
        kept: list[tuple[float, _Start]] = []
        for s in starts:
            age = day - s.day - 0.5
            if age > 0 and rng.random() < 1.0 - float(length.cdf(np.array([age]))[0]):
                kept.append((age, s))
        if inflow:
            # Ages beyond the period's start, with density proportional to S(age).
            top = max(float(length.ppf(np.array([0.9999]))[0]), day + 1.0)
            grid = np.linspace(day, top, 2000)
            survival = 1.0 - length.cdf(grid)
            steps = np.diff(grid) * (survival[1:] + survival[:-1]) / 2
            area = np.concatenate([[0.0], np.cumsum(steps)])

            rate = len(inflow) / extract.period_days
            count = int(rng.poisson(rate * area[-1])) if area[-1] > 0 else 0
            if team in full:
                count = max(count, spec.places - len(kept))
            for _ in range(count):
                age = float(np.interp(rng.random() * area[-1], area, grid))
                kept.append((age, inflow[int(rng.integers(len(inflow)))]))
        kept.sort(key=lambda item: item[0])
        for age, s in kept[: spec.places]:
            since = extract.start + dt.timedelta(days=math.floor(day - age))
            rows.append(
                {**s.row, "status": s.status, "team": team, "since_date": since.isoformat()}
            )
    return rows


def waited_for(rows: list[dict[str, str]]) -> frozenset[str]:
    """Destinations that patients ready for discharge in a census are waiting for."""
    return frozenset(r.get("discharge_to", "") for r in rows if r.get("ready_date")) - {""}


def census_from_episodes(
    episodes: list[Episode], scenario: Scenario, day: float = 0.0
) -> list[dict[str, str]]:
    """The census of a model run at ``day`` (model days), as rows of a census file.

    Dates are the days events fell on, counted from the scenario's start date. A
    patient ready for discharge is listed with the step-down bed they wait for, or the
    team if their service steps down to one team only.
    """
    start = scenario.start_date
    heading: dict[int, str] = {}
    for e in episodes:
        if e.source == "step_down" and e.referral_day < day and not _admitted_by(e, day):
            heading[e.referral_id] = e.service
    teams_of = {
        (p, s): [r.to for r in svc.step_down if r.to not in spec.services]
        for p, spec in scenario.pathways.items()
        for s, svc in spec.services.items()
    }
    readmitted: dict[int, list[float]] = {}
    for e in episodes:
        if e.source == "readmission":
            readmitted.setdefault(e.patient_id, []).append(e.referral_day)
    rows: list[dict[str, str]] = []
    for e in episodes:
        if e.referral_day >= day:
            continue
        left = _left_pathway(e, day)
        if left is not None:
            window = scenario.pathways[e.pathway].readmission.window_days
            again = [t for t in readmitted.get(e.patient_id, []) if left <= t < day]
            if day - left < window and not again:
                rows.append(
                    {
                        "patient_id": f"P{e.patient_id}",
                        "pathway": e.pathway,
                        "service": e.service,
                        "home_place": e.home_place,
                        "status": "discharged",
                        "since_date": _date(left, start),
                        **_mix_of(e),
                    }
                )
            continue
        row = {
            "patient_id": f"P{e.patient_id}",
            "pathway": e.pathway,
            "service": e.service,
            "home_place": e.home_place,
            "priority": e.priority,
            **_mix_of(e),
        }
        ended = e.exit_day is not None and e.exit_day < day
        if e.decision == "pending" or (e.decision_day is not None and e.decision_day >= day):
            if e.source == "step_down":
                continue  # waiting in the bed it is leaving: listed with that bed
            row.update(status="assessment", since_date=_date(e.referral_day, start))
        elif e.decision == "diverted" or (ended and e.exit_to == "community"):
            if e.community_end_day is not None and e.community_end_day < day:
                continue
            if e.community_start_day is None or e.community_start_day >= day:
                continue  # waiting for a team place (from a bed): listed with the bed
            row.update(
                status="diverted" if e.decision == "diverted" else "community",
                team=str(e.community_team),
                since_date=_date(e.community_start_day, start),
            )
        elif (
            e.decision != "accepted"
            or ended
            or (e.withdrawn_day is not None and e.withdrawn_day < day)
        ):
            continue
        elif not _admitted_by(e, day):
            if e.source == "step_down":
                continue
            assert e.decision_day is not None
            row.update(status="waiting", since_date=_date(e.decision_day, start))
        else:
            assert e.admission_day is not None
            away = e.admitted_to == OUT_OF_AREA
            if e.repatriation_day is not None and e.repatriation_day < day:
                away = False
                row["unit"] = str(e.repatriated_to)
            elif not away:
                row["unit"] = str(e.admitted_to)
            row.update(
                status="out_of_area" if away else "in_bed",
                since_date=_date(e.admission_day, start),
            )
            if e.ready_day is not None and e.ready_day < day:
                row["ready_date"] = _date(e.ready_day, start)
                teams = teams_of[(e.pathway, e.service)]
                to = heading.get(e.referral_id) or (teams[0] if len(teams) == 1 else "")
                row["discharge_to"] = to
        rows.append(row)
    return rows


def _mix_of(e: Episode) -> dict[str, str]:
    """The patient mix's attributes of an episode, as census cells (blank: not modelled)."""
    return {"sex": e.sex or "", "stream": e.stream or "", "age_band": e.age_band or ""}


def _left_pathway(e: Episode, day: float) -> float | None:
    """When the patient left the pathway, if before ``day``.

    That is the discharge home, or the end of a community episode after a bed.
    """
    if e.exit_day is None or e.exit_day >= day:
        return None
    if e.exit_to == "home":
        return e.exit_day
    if e.exit_to == "community" and e.community_end_day is not None:
        return e.community_end_day if e.community_end_day < day else None
    return None


def _admitted_by(e: Episode, day: float) -> bool:
    return e.admission_day is not None and e.admission_day < day


def summary(rows: list[dict[str, str]]) -> str:
    """``212 in beds, 31 waiting, ...`` for a census."""
    counts = Counter(r["status"] for r in rows)
    words = {
        "in_bed": "in footprint beds",
        "out_of_area": "out of area",
        "waiting": "waiting",
        "assessment": "in assessment",
        "community": "on community caseloads after a bed",
        "diverted": "on community caseloads (diverted)",
        "discharged": "discharged and still within the readmission window",
    }
    parts = [f"{counts[k]} {w}" for k, w in words.items() if counts[k]]
    return f"{len(rows)} patients: " + ", ".join(parts) if parts else "no patients"
