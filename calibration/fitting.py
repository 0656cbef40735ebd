"""Fitting a scenario's parameters to an extract.

:func:`fit_extract` turns a checked :class:`~calibration.extract.Extract` into a
:class:`Fit`: for each pathway its referral model (:mod:`calibration.rates`), priority
mix, assessment delay, shares not accepted and diverted, readmission probability and
maximum waits before out of area; for each service its length of stay
(:mod:`calibration.survival`), step-down routes, out-of-area share and the delay from
ready for discharge to discharge. Every estimate carries a 95% confidence interval and
the number of observations behind it; where the data are too few to say anything the
base scenario's value stands, and a note says so.

Days are counted from the period start; a date stands for the middle of its day, so a
stay open at the extract date has lasted ``end - admission - 0.5`` days, and one that
began before the period entered observation ``start - admission - 0.5`` days into it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from calibration.estimate import Z95, Estimate
from calibration.extract import HOME, Extract
from calibration.likelihood import Durations
from calibration.rates import PathwayRates, fit_rates
from calibration.survival import DurationFit, fit_durations
from simulation.model.resources import OUT_OF_AREA
from simulation.scenario.schema import Scenario

MIN_EVENTS = 10
"""Fewest ended durations to fit a distribution to."""
MIN_N = 20
"""Fewest observations to estimate a share from; with fewer the base value stands."""


@dataclass(frozen=True)
class Share:
    """A proportion k/n with its Wilson 95% interval."""

    k: int
    n: int

    @property
    def estimate(self) -> Estimate:
        """The share and its Wilson score interval."""
        if self.n == 0:
            return Estimate(math.nan, math.nan, math.nan)
        p = self.k / self.n
        z2 = Z95 * Z95
        centre = (p + z2 / (2 * self.n)) / (1 + z2 / self.n)
        half = Z95 * math.sqrt(p * (1 - p) / self.n + z2 / (4 * self.n**2)) / (1 + z2 / self.n)
        return Estimate(p, max(centre - half, 0.0), min(centre + half, 1.0))

    @property
    def enough(self) -> bool:
        """Whether there are enough observations to write the estimate."""
        return self.n >= MIN_N


@dataclass(frozen=True)
class Readmission:
    """Chance of readmission within a window, from discharges home with partial follow-up.

    The model readmits a share ``p`` of discharged patients at a time uniform over the
    window; a discharge followed for ``f`` days is then readmitted by ``f`` with
    probability ``p f / window``. Maximising that likelihood uses every discharge, not
    only those followed for the whole window.
    """

    probability: Estimate
    n: int
    readmitted: int
    window_days: float

    @property
    def enough(self) -> bool:
        """Whether there are enough discharges to write the estimate."""
        return self.n >= MIN_N


@dataclass(frozen=True)
class DelaySummary:
    """Time from ready for discharge to leaving the bed (a result, not a parameter)."""

    ready: int
    discharged: int
    delayed: int
    mean_days: float
    still_waiting: int
    by_destination: dict[str, tuple[int, float]]
    """Discharges and mean delay (days) per destination."""


@dataclass(frozen=True)
class MaxWait:
    """Median wait before an out-of-area placement: the maximum wait in practice."""

    days: Estimate
    n: int


@dataclass
class ServiceFit:
    """What the extract says about one service."""

    pathway: str
    service: str
    los: DurationFit | None
    stays: int
    routes: dict[str, Share]
    """Share of discharges to each destination (home, a service or a team)."""
    out_of_area: Share
    delay: DelaySummary
    notes: list[str] = field(default_factory=list)
    stream_los: dict[str, DurationFit] = field(default_factory=dict)
    """Length of stay of each clinical stream with enough stays in the extract."""


@dataclass
class PathwayFit:
    """What the extract says about one pathway."""

    pathway: str
    rates: PathwayRates
    urgent: Share
    not_accepted: Share
    diverted: Share
    readmission: Readmission | None
    assessment: DurationFit | None
    max_wait: dict[str, MaxWait]
    notes: list[str] = field(default_factory=list)
    mix: dict[str, dict[str, Share]] = field(default_factory=dict)
    """Shares of new referrals by sex, stream and age band (the patient mix's fields),
    among those whose value the extract gives."""


@dataclass
class Fit:
    """Everything fitted from one extract against one base scenario."""

    extract: Extract
    base: Scenario
    pathways: dict[str, PathwayFit]
    services: dict[tuple[str, str], ServiceFit]


# -- durations from rows ---------------------------------------------------------------
def durations_between(
    start: np.ndarray, stop: np.ndarray, end_day: float, open_at_start: np.ndarray | None = None
) -> Durations:
    """Durations from ``start`` to ``stop`` (days from the period start; NaN: not yet).

    A duration that began before the period (``start < 0``) is kept only if it had not
    ended by the period start, and enters observation at ``-start - 0.5``; one still
    going at ``end_day`` is censored there.
    """
    start = np.asarray(start, dtype=float)
    stop = np.asarray(stop, dtype=float)
    ended = ~np.isnan(stop)
    keep = ~ended | (stop >= 0)
    if open_at_start is not None:
        keep &= open_at_start
    start, stop, ended = start[keep], stop[keep], ended[keep]
    entry = np.where(start < 0, -start - 0.5, 0.0)
    exit_ = np.where(ended, stop - start, end_day - start - 0.5)
    exit_ = np.maximum(exit_, entry)
    return Durations.build(entry, exit_, ended)


def _fit_if_enough(d: Durations, what: str, notes: list[str]) -> DurationFit | None:
    if d.events < MIN_EVENTS:
        notes.append(
            f"{what}: only {d.events} ended of {len(d)} observed; the base distribution is kept"
        )
        return None
    return fit_durations(d)


# -- per service -----------------------------------------------------------------------
def _delay_summary(rows: pd.DataFrame, extract: Extract) -> DelaySummary:
    ready = extract.day("ready_date")[rows.index]
    discharge = extract.day("discharge_date")[rows.index]
    in_period = ~np.isnan(ready) & (ready >= 0)
    discharged = in_period & ~np.isnan(discharge)
    delays = (discharge - ready)[discharged]
    destinations = rows["discharge_to"].to_numpy()[discharged]
    by_destination = {
        str(dest): (int((destinations == dest).sum()), float(delays[destinations == dest].mean()))
        for dest in sorted(set(destinations))
    }
    return DelaySummary(
        ready=int(in_period.sum()),
        discharged=int(discharged.sum()),
        delayed=int((delays > 0).sum()),
        mean_days=float(delays.mean()) if len(delays) else math.nan,
        still_waiting=int((in_period & np.isnan(discharge)).sum()),
        by_destination=by_destination,
    )


def fit_service(extract: Extract, pathway: str, service: str) -> ServiceFit:
    """Length of stay, routes, out-of-area share and discharge delay of one service."""
    frame = extract.rows
    mine = frame[(frame["pathway"] == pathway) & (frame["service"] == service)]
    admitted = mine[mine["admission_date"].notna()]
    notes: list[str] = []
    admission = extract.day("admission_date")[admitted.index]
    ready = extract.day("ready_date")[admitted.index]
    stays = durations_between(admission, ready, extract.period_days)
    los = _fit_if_enough(stays, "length of stay", notes)
    discharge = extract.day("discharge_date")[mine.index]
    left = mine[~np.isnan(discharge) & (discharge >= 0)]
    counts = left["discharge_to"].value_counts()
    routes = {str(dest): Share(int(k), len(left)) for dest, k in counts.items()}
    first = admitted[admitted["source"] != "step_down"]
    first = first[extract.day("admission_date")[first.index] >= 0]
    ooa = Share(int((first["admitted_to"] == OUT_OF_AREA).sum()), len(first))
    stream_los: dict[str, DurationFit] = {}
    for stream in sorted(set(admitted["stream"]) - {""}):
        own = admitted[admitted["stream"] == stream]
        own_stays = durations_between(
            extract.day("admission_date")[own.index],
            extract.day("ready_date")[own.index],
            extract.period_days,
        )
        fitted = _fit_if_enough(own_stays, f"length of stay of {stream}", notes)
        if fitted is not None:
            stream_los[str(stream)] = fitted
    return ServiceFit(
        pathway=pathway,
        service=service,
        los=los,
        stays=len(stays),
        routes=routes,
        out_of_area=ooa,
        delay=_delay_summary(admitted, extract),
        notes=notes,
        stream_los=stream_los,
    )


# -- per pathway -----------------------------------------------------------------------
def _readmission(extract: Extract, rows: pd.DataFrame, window: float) -> Readmission | None:
    """Readmission within ``window`` days of a discharge home (see :class:`Readmission`)."""
    discharge = extract.day("discharge_date")
    home = rows[(rows["discharge_to"] == HOME) & ~np.isnan(discharge[rows.index])]
    home = home[discharge[home.index] >= 0]
    if home.empty:
        return None
    referrals = rows[rows["source"] != "step_down"]
    referred = extract.day("referral_date")
    later: dict[str, np.ndarray] = {
        str(pid): np.sort(referred[group.index]) for pid, group in referrals.groupby("patient_id")
    }
    followed = np.empty(len(home))
    delay = np.full(len(home), np.nan)
    for i, (index, pid) in enumerate(zip(home.index, home["patient_id"], strict=True)):
        out = discharge[index]
        followed[i] = min(extract.period_days - 0.5 - out, window)
        times = later.get(str(pid), np.empty(0))
        after = times[(times >= out) & (times - out <= window)]
        if len(after):
            delay[i] = after[0] - out
    hit = ~np.isnan(delay)
    share = np.clip(followed / window, 0.0, 1.0)

    def nll(p: float) -> float:
        misses = float(np.sum(np.log1p(-p * share[~hit])))
        return -(float(hit.sum()) * math.log(max(p, 1e-12)) + misses)

    result = optimize.minimize_scalar(nll, bounds=(1e-9, 1 - 1e-9), method="bounded")
    p = float(result.x)
    h = 1e-4
    curvature = (nll(min(p + h, 1 - 1e-9)) - 2 * nll(p) + nll(max(p - h, 1e-9))) / h**2
    se = 1 / math.sqrt(curvature) if curvature > 0 else math.nan
    estimate = Estimate(p, max(p - Z95 * se, 0.0), min(p + Z95 * se, 1.0))
    return Readmission(estimate, len(home), int(hit.sum()), window)


def _max_waits(extract: Extract, rows: pd.DataFrame) -> dict[str, MaxWait]:
    """Median wait (decision to admission) of out-of-area first admissions per priority."""
    admission = extract.day("admission_date")
    decision = extract.day("decision_date")
    away = rows[
        (rows["admitted_to"] == OUT_OF_AREA)
        & (rows["source"] != "step_down")
        & ~np.isnan(decision[rows.index])
    ]
    away = away[admission[away.index] >= 0]
    out: dict[str, MaxWait] = {}
    for priority, group in away.groupby("priority"):
        waits = np.sort(admission[group.index] - decision[group.index])
        n = len(waits)
        if n < 5 or not priority:
            continue
        # Order-statistic 95% interval for the median (binomial with p = 1/2).
        half = Z95 * math.sqrt(n) / 2
        lo = int(max(math.floor(n / 2 - half), 0))
        hi = int(min(math.ceil(n / 2 + half), n - 1))
        out[str(priority)] = MaxWait(
            Estimate(float(np.median(waits)), float(waits[lo]), float(waits[hi])), n
        )
    return out


def fit_pathway(extract: Extract, base: Scenario, pathway: str) -> PathwayFit:
    """Referral model and routing shares of one pathway."""
    frame = extract.rows
    rows = frame[frame["pathway"] == pathway]
    spec = base.pathways[pathway]
    notes: list[str] = []
    referred = extract.day("referral_date")
    in_period = rows[(referred[rows.index] >= 0) & (referred[rows.index] < extract.period_days)]
    new = in_period[in_period["source"] == "new"]
    rates = fit_rates(
        pathway,
        list(spec.services),
        {p.name: p.population for p in base.places},
        new[["service", "home_place", "referral_date"]],
        extract.start,
        extract.end,
        spec.annual_growth,
    )
    with_priority = new[new["priority"] != ""]
    urgent = Share(int((with_priority["priority"] == "urgent").sum()), len(with_priority))
    referrals = in_period[in_period["source"] != "step_down"]
    decided = referrals[referrals["decision"] != ""]
    not_accepted = Share(int((decided["decision"] == "not_accepted").sum()), len(decided))
    offered = decided[decided["decision"] != "not_accepted"]
    diverted = Share(int((offered["decision"] == "diverted").sum()), len(offered))
    if diverted.k and spec.diversion is None:
        notes.append(
            f"{diverted.k} referrals were diverted but the base scenario has no diversion "
            "team for this pathway; diversion is not fitted"
        )
    readmission = _readmission(extract, rows, spec.readmission.window_days)
    assessment = None
    decision_day = extract.day("decision_date")
    first = rows[rows["source"] != "step_down"]
    has_dates = first["decision"] == ""
    has_dates |= ~np.isnan(decision_day[first.index])
    if len(first) and bool(has_dates.all()):
        delays = durations_between(
            referred[first.index], decision_day[first.index], extract.period_days
        )
        if delays.events and float(np.max(delays.exit[delays.event])) == 0.0:
            notes.append("assessment: every decision on the day of referral (no delay)")
        else:
            assessment = _fit_if_enough(delays, "assessment delay", notes)
    else:
        notes.append("assessment: decision dates missing; the base delay is kept")
    mix: dict[str, dict[str, Share]] = {}
    for column, field_name in (("sex", "sex"), ("stream", "streams"), ("age_band", "age_bands")):
        known = new[new[column] != ""]
        if len(known):
            counts = known[column].value_counts()
            mix[field_name] = {str(v): Share(int(k), len(known)) for v, k in counts.items()}
    return PathwayFit(
        pathway=pathway,
        rates=rates,
        urgent=urgent,
        not_accepted=not_accepted,
        diverted=diverted,
        readmission=readmission,
        assessment=assessment,
        max_wait=_max_waits(extract, rows),
        notes=notes,
        mix=mix,
    )


def fit_extract(extract: Extract, base: Scenario) -> Fit:
    """Fit every pathway and service of the base scenario that the extract covers."""
    present = set(extract.rows["pathway"])
    pathways = {p: fit_pathway(extract, base, p) for p in base.pathways if p in present}
    services = {
        (p, s): fit_service(extract, p, s) for p in pathways for s in base.pathways[p].services
    }
    return Fit(extract, base, pathways, services)
