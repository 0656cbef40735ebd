"""Selecting the best of a few finalists, with a stated probability of being right.

The search's best-looking candidate is optimistic: of many noisy estimates, the smallest
is likely to be small partly by chance (Boesel, Nelson and Kim 2003, "Using ranking and
selection to 'clean up' after simulation optimization", Operations Research 51(5):
814-825). So the finalists are run again with fresh random numbers, common to all of
them, and chosen by procedure NM of Nelson and Matejcik (1995, "Using common random
numbers for indifference-zone selection and multiple comparisons in simulation",
Management Science 41(12):1935-1945):

1. run ``n0`` replications of each of the ``k`` finalists, with common random numbers;
2. estimate the variance of the differences, ``S^2 = 2 sum_ij (X_ij - X_i. - X_.j +
   X_..)^2 / ((k-1)(n0-1))``;
3. run each finalist to ``N = max(n0, ceil((g S / delta)^2))`` replications, where ``g``
   is the upper ``1 - alpha`` equicoordinate point of the ``(k-1)``-variate t
   distribution with ``(k-1)(n0-1)`` degrees of freedom and correlations 1/2;
4. choose the smallest sample mean.

With probability at least ``1 - alpha`` the choice is within ``delta`` of the best
finalist's true mean (under the procedure's sphericity assumption, which common random
numbers approximately give), and the multiple comparisons with the best hold jointly:
each finalist's mean minus the best of the others' lies in
``[min(0, D_i - delta), max(0, D_i + delta)]`` with ``D_i`` the difference of sample
means. When a cap on replications stops short of ``N``, the same statement holds with
the larger ``delta`` that the replications run support, ``g S / sqrt(N)``, and the
result says so. Paired differences against a comparator (today's plan, the runner-up)
are Student t intervals on the clean-up replications.

Pure arithmetic on arrays: it runs nothing itself (``sample`` is given).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, stats

Sample = Callable[[Sequence[int], range], np.ndarray]
"""``sample(finalists, replications)``: objective values, one row per finalist (smaller is
better), one column per replication, with common random numbers across rows."""


@lru_cache(maxsize=256)
def nm_constant(k: int, dof: int, confidence: float) -> float:
    """Upper ``confidence`` equicoordinate point of the ``(k-1)``-variate t, correlation 1/2.

    ``P(T_1 <= g, ..., T_{k-1} <= g) = confidence`` where ``T_i = Z_i / s``, the ``Z_i``
    standard normal with correlations 1/2 (``Z_i = (Y_i - Y_0) / sqrt 2``) and ``s^2`` an
    independent chi-square over ``dof``. Computed by quadrature over ``Y_0`` and ``s``;
    for ``k = 2`` it is Student's t quantile.

    >>> round(nm_constant(2, 20, 0.95), 3) == round(float(stats.t.ppf(0.95, 20)), 3)
    True
    """
    if k < 2:
        raise ValueError("selection needs at least two systems")
    y = np.linspace(-8.5, 8.5, 681)
    wy = stats.norm.pdf(y) * (y[1] - y[0])
    u = (np.arange(1000) + 0.5) / 1000
    s = np.sqrt(stats.chi2.ppf(u, dof) / dof)

    def coverage(g: float) -> float:
        inner = stats.norm.cdf(y[None, :] + math.sqrt(2) * g * s[:, None]) ** (k - 1)
        return float((inner @ wy).mean())

    return float(optimize.brentq(lambda g: coverage(g) - confidence, 0.0, 50.0, xtol=1e-6))


def difference_variance(x: np.ndarray) -> float:
    """NM's pooled variance of pairwise differences, from a (systems x replications) array."""
    k, n = x.shape
    residual = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + x.mean()
    return float(2 * (residual**2).sum() / ((k - 1) * (n - 1)))


@dataclass(frozen=True)
class PairedDifference:
    """The mean of paired differences (a minus b) with its confidence interval."""

    mean: float
    low: float
    high: float
    replications: int


def paired_difference(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> PairedDifference:
    """Student t interval of the mean of ``a - b`` over paired replications."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(d)
    mean = float(d.mean())
    if n < 2:
        return PairedDifference(mean, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
    return PairedDifference(mean, mean - half, mean + half, n)


@dataclass(frozen=True)
class SelectionResult:
    """What procedure NM did and concluded."""

    finalists: tuple[int, ...]
    """Indices of the finalists, as given."""
    means: tuple[float, ...]
    """Clean-up sample means (smaller is better), in the order of ``finalists``."""
    chosen: int
    """Position in ``finalists`` of the one chosen (smallest mean)."""
    runner_up: int
    first_stage: int
    replications: int
    """Replications each finalist had in the end (N)."""
    required: int
    """The N the procedure asked for (more than ``replications`` if capped)."""
    constant: float
    """NM's g."""
    variance: float
    """NM's S^2."""
    delta: float
    """The indifference zone asked for."""
    delta_achieved: float
    """The indifference zone the replications run support (equal to ``delta`` unless
    capped)."""
    confidence: float
    mcb_low: tuple[float, ...]
    mcb_high: tuple[float, ...]
    """Simultaneous intervals for each finalist's mean minus the best of the others'."""
    values: np.ndarray
    """The clean-up values (finalists x replications)."""

    @property
    def capped(self) -> bool:
        """Whether the cap on replications stopped short of what the procedure needed."""
        return self.replications < self.required


def mcb_intervals(means: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Multiple comparisons with the best (smaller is better), within ``delta``."""
    k = len(means)
    low = np.empty(k)
    high = np.empty(k)
    for i in range(k):
        others = np.delete(means, i)
        d = means[i] - others.min()
        low[i] = min(0.0, d - delta)
        high[i] = max(0.0, d + delta)
    return low, high


def nelson_matejcik(
    sample: Sample,
    k: int,
    delta: float,
    confidence: float = 0.95,
    first_stage: int = 10,
    max_replications: int = 200,
) -> SelectionResult:
    """Choose the best of ``k`` finalists by procedure NM (see the module docstring).

    ``sample`` runs replications (``range``) of finalists (indices ``0 .. k-1``) and
    returns their objective values with common random numbers. Replications
    ``0 .. n0-1`` are run first, then ``n0 .. N-1``.
    """
    if k < 2:
        raise ValueError("selection needs at least two finalists")
    n0 = min(first_stage, max_replications)
    finalists = list(range(k))
    first = np.asarray(sample(finalists, range(n0)), dtype=float)
    g = nm_constant(k, (k - 1) * (n0 - 1), confidence)
    s2 = difference_variance(first)
    required = max(n0, math.ceil((g * math.sqrt(s2) / delta) ** 2 - 1e-12))
    n = min(required, max(n0, max_replications))
    values = first
    if n > n0:
        more = np.asarray(sample(finalists, range(n0, n)), dtype=float)
        values = np.concatenate([first, more], axis=1)
    means = values.mean(axis=1)
    order = np.argsort(means, kind="stable")
    achieved = max(delta, g * math.sqrt(s2) / math.sqrt(n))
    low, high = mcb_intervals(means, achieved)
    return SelectionResult(
        finalists=tuple(finalists),
        means=tuple(float(m) for m in means),
        chosen=int(order[0]),
        runner_up=int(order[1]),
        first_stage=n0,
        replications=n,
        required=required,
        constant=g,
        variance=s2,
        delta=delta,
        delta_achieved=achieved,
        confidence=confidence,
        mcb_low=tuple(float(v) for v in low),
        mcb_high=tuple(float(v) for v in high),
        values=values,
    )


def pareto_front(points: np.ndarray) -> list[int]:
    """Rows of ``points`` (all to be made small) that no other row beats on every column."""
    keep = []
    for i, p in enumerate(points):
        dominated = np.any(np.all(points <= p, axis=1) & np.any(points < p, axis=1))
        if not dominated:
            keep.append(i)
    return keep
