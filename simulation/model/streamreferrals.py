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

from simulation.model.pathway import ProcessGen, referral_arrivals
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

    As :func:`~simulation.model.pathway.arrivals`, at the stream's own rate and growth
    and from the stream's own arrival stream; the pathway's seasonality shapes every
    stream alike.
    """
    uniform = system.streams.uniform(f"arrivals.{pathway}.{service}.{place}.{stream}")
    return referral_arrivals(
        system, pathway, service, place, rate_per_year, annual_growth, uniform, draws
    )
