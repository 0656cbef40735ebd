"""Referrals by clinical stream: each stream arrives at its own rate, from its own streams.

Where a pathway's patient mix gives ``referrals`` (a stream's own referral rate for a
service, or its own growth), referrals arrive stream by stream instead of service by
service: each (service, home place, clinical stream) has its own arrival process, at the
stream's own rate and growth, with its own arrival stream
(``arrivals.<pathway>.<service>.<place>.<stream>``), and the patients it brings are drawn
from the stream's own patient draws (``<pathway>.new.<stream>.*``), whose patient mix
sets their stream. So a change to one stream's referrals leaves every other stream's
referrals, the times and the patients, as they were (common random numbers). A pathway
without ``referrals`` keeps its arrivals by service (:func:`~simulation.model.pathway.arrivals`),
and its numbers, unchanged.
"""

from __future__ import annotations

import math

from simulation.model.pathway import ProcessGen, referral
from simulation.model.patients import PatientDraws, StreamMix
from simulation.model.system import System


def start_stream_arrivals(system: System, pathway: str) -> None:
    """Start the arrival process of every stream of every service from every place."""
    scenario = system.scenario
    spec = scenario.pathways[pathway]
    draws: dict[str, PatientDraws] = {}
    for stream in spec.patient_mix.streams:
        own = PatientDraws(system.streams, f"{pathway}.new.{stream}", pathway, spec, scenario)
        assert own.mix is not None  # a mix with streams is used
        own.mix = StreamMix(own.mix, stream)
        draws[stream] = system.draws[(pathway, f"new.{stream}")] = own  # dated changes reach it
    for service in spec.services:
        for place in scenario.places:
            for stream, (rate, growth) in spec.stream_referrals(service, place.name).items():
                per_year = rate * place.population / 1e5
                if per_year > 0:
                    system.env.process(
                        stream_arrivals(
                            system,
                            pathway,
                            service,
                            place.name,
                            stream,
                            per_year,
                            growth,
                            draws[stream],
                        )
                    )


def stream_arrivals(
    system: System,
    pathway: str,
    service: str,
    place: str,
    stream: str,
    rate_per_year: float,
    annual_growth: float,
    draws: PatientDraws,
) -> ProcessGen:
    """Referrals of one clinical stream to one service from one place.

    As :func:`~simulation.model.pathway.arrivals`, at the stream's own rate and growth:
    Poisson arrivals by thinning a process at the stream's own peak rate, or regular
    arrivals spaced at the reciprocal of its current rate; the pathway's seasonality
    shapes every stream alike.
    """
    spec = system.scenario.pathways[pathway]
    uniform = system.streams.uniform(f"arrivals.{pathway}.{service}.{place}.{stream}")
    growth = 1.0 + annual_growth
    season = spec.seasonality
    base = rate_per_year / 365.25
    month_of_day = system.months_of_days if season is not None else []
    first_day = math.floor(system.start)

    def rate_at(t: float) -> float:
        # Growth runs from the start date; the warm-up runs at today's demand.
        rate: float = base * growth ** (max(t, 0.0) / 365.25)
        if season is not None:
            rate *= season[month_of_day[math.floor(t) - first_day]]
        return rate

    peak = base * max(1.0, growth ** (system.horizon / 365.25))
    if season is not None:
        peak *= max(season)
    env = system.env
    horizon = system.horizon

    def refer() -> None:
        ref = draws.draw(system.new_patient_id(), service, place, "new", None)
        env.process(referral(system, ref))

    if spec.arrivals == "regular":
        while True:
            gap = 1.0 / rate_at(env.now)
            if env.now + gap >= horizon:
                return
            yield env.timeout(gap)
            refer()
    while True:
        now = env.now
        gap = -math.log1p(-uniform()) / peak
        if now + gap >= horizon:
            return
        yield env.timeout(gap)
        if uniform() * peak < rate_at(now + gap):
            refer()
