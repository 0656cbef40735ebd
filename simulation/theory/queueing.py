"""Queueing theory the model is verified against: Erlang B and C, Little's law, priorities.

A single unit of ``c`` beds that receives Poisson referrals at rate ``lambda`` (per day)
and keeps each patient for an exponential stay of mean ``1 / mu`` days is the M/M/c
queue; its offered load is ``a = lambda / mu`` (Erlangs, the mean number of beds that
would be busy with unlimited beds) and its utilisation ``rho = a / c``.

* Patients who find no free bed and are placed out of area at once (no waiting list,
  no repatriation) make the loss system M/M/c/c: the share placed out of area is the
  Erlang B blocking probability :func:`erlang_b`.
* Patients who wait however long it takes make the delay system M/M/c: the share who
  wait at all is the Erlang C probability :func:`erlang_c`, the mean wait is
  :func:`mmc_mean_wait` and the mean waiting list :func:`mmc_mean_queue`.
* With urgent patients served before routine ones (non-pre-emptive priority, equal
  stays), :func:`mmc_priority_waits` gives each class's mean wait (Cobham's formula).

Every function is exact for the model it names; the simulation should agree with it
within sampling error. Erlang B uses the recursion
``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))``, which involves no factorials or powers
and stays accurate for thousands of beds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _check_load(servers: int, offered_load: float) -> None:
    if isinstance(servers, bool) or not isinstance(servers, int):
        raise TypeError(f"servers must be an int, not {type(servers).__name__}")
    if servers < 0:
        raise ValueError(f"servers must be 0 or more, not {servers}")
    if not (offered_load >= 0 and math.isfinite(offered_load)):
        raise ValueError(f"offered load must be finite and 0 or more, not {offered_load}")


def erlang_b(servers: int, offered_load: float) -> float:
    """Blocking probability of the M/M/c/c loss system (Erlang's B formula).

    ``servers`` beds, ``offered_load`` Erlangs (arrival rate times mean stay). The
    result is the long-run share of arrivals who find every bed busy; by PASTA it is
    also the share of time all beds are busy. It holds for any stay distribution with
    that mean (the loss system is insensitive), not only exponential ones.

    >>> erlang_b(1, 1.0)
    0.5
    >>> round(erlang_b(10, 8.0), 6)
    0.121661
    >>> erlang_b(0, 3.0), erlang_b(5, 0.0)
    (1.0, 0.0)
    >>> f"{erlang_b(10_000, 10_000.0):.6f}"  # no overflow with many beds
    '0.007937'
    """
    _check_load(servers, offered_load)
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered_load * blocking / (k + offered_load * blocking)
    return blocking


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival has to wait in the M/M/c queue (Erlang's C formula).

    Needs a stable queue, ``offered_load < servers``; computed from Erlang B as
    ``C = c B / (c - a (1 - B))``.

    >>> erlang_c(1, 0.5)  # M/M/1: the utilisation
    0.5
    >>> round(erlang_c(10, 8.0), 6)
    0.40918
    >>> erlang_c(3, 0.0)
    0.0
    >>> erlang_c(2, 2.0)
    Traceback (most recent call last):
        ...
    ValueError: the queue is unstable: offered load 2.0 >= 2 servers
    """
    _check_load(servers, offered_load)
    if offered_load >= servers:
        raise ValueError(f"the queue is unstable: offered load {offered_load} >= {servers} servers")
    blocking = erlang_b(servers, offered_load)
    return servers * blocking / (servers - offered_load * (1.0 - blocking))


def mmc_mean_wait(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Mean wait in the queue of M/M/c, in the time unit of ``mean_service``.

    ``arrival_rate`` arrivals per time unit, ``mean_service`` the mean stay. The mean
    over all arrivals, including those who do not wait:
    ``W_q = C(c, a) * mean_service / (c - a)``.

    >>> mmc_mean_wait(1, 0.5, 1.0)  # M/M/1: rho / (mu - lambda)
    1.0
    >>> round(mmc_mean_wait(10, 0.8, 10.0), 6)
    2.045901
    """
    _check_rate(arrival_rate, mean_service)
    load = arrival_rate * mean_service
    return erlang_c(servers, load) * mean_service / (servers - load)


def mmc_mean_queue(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Mean number waiting in M/M/c (Little's law on the queue: ``L_q = lambda W_q``).

    >>> mmc_mean_queue(1, 0.5, 1.0)  # M/M/1: rho^2 / (1 - rho)
    0.5
    """
    return arrival_rate * mmc_mean_wait(servers, arrival_rate, mean_service)


def mmc_priority_waits(
    servers: int, arrival_rates: Sequence[float], mean_service: float
) -> list[float]:
    """Mean wait of each priority class in M/M/c with non-pre-emptive priority.

    ``arrival_rates`` lists the classes from the highest priority down; every class has
    the same exponential stay. Cobham's formula, with ``sigma_k`` the utilisation of
    classes 1..k: ``W_k = C(c, a) * mean_service / c / ((1 - sigma_{k-1}) (1 - sigma_k))``.
    The arrival-weighted mean over classes equals :func:`mmc_mean_wait`.

    >>> [round(w, 6) for w in mmc_priority_waits(1, [0.25, 0.25], 1.0)]
    [0.666667, 1.333333]
    >>> waits = mmc_priority_waits(10, [0.2, 0.6], 10.0)
    >>> math.isclose((0.2 * waits[0] + 0.6 * waits[1]) / 0.8, mmc_mean_wait(10, 0.8, 10.0))
    True
    """
    if not arrival_rates:
        raise ValueError("give at least one class")
    for rate in arrival_rates:
        _check_rate(rate, mean_service)
    total = sum(arrival_rates)
    base = erlang_c(servers, total * mean_service) * mean_service / servers
    waits: list[float] = []
    sigma = 0.0
    for rate in arrival_rates:
        before = sigma
        sigma += rate * mean_service / servers
        waits.append(base / ((1.0 - before) * (1.0 - sigma)))
    return waits


def _check_rate(arrival_rate: float, mean_service: float) -> None:
    if not (arrival_rate >= 0 and math.isfinite(arrival_rate)):
        raise ValueError(f"arrival rate must be finite and 0 or more, not {arrival_rate}")
    if not (mean_service > 0 and math.isfinite(mean_service)):
        raise ValueError(f"mean service time must be finite and positive, not {mean_service}")
