"""Probability distributions of durations, in the terms planners use.

A length of stay or a delay is written in a scenario as a named distribution with
parameters in days: ``{distribution: lognormal, median: 450, p90: 1400}`` rather than
the ``mu`` and ``sigma`` of the underlying normal. Each class validates its own
parameters and offers its quantile function ``ppf``: the model turns one uniform random
number into one duration, so every draw uses exactly one uniform. That keeps random
streams in step between scenarios (common random numbers): a scenario that cuts length
of stay by 10% sees the same patients with stays 10% shorter, not different patients.
``mean_days`` gives the expected value, for plausibility checks such as Little's law.
``cdf`` and :meth:`~_Dist.residual_days` serve a census start: a patient already in a
bed for ``e`` days gets the rest of a stay drawn from the distribution conditional on
lasting at least ``e``, again from one uniform.

``scipy.special`` (the normal and gamma functions) is imported at the first draw, not
with the schema: reading and checking a scenario never draws, and the import is a
tenth of a second of every command's start.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

_Z90 = 1.2815515655446004  # standard normal 90th percentile
_LAST_U = 1.0 - 2.0**-53  # the largest uniform below 1: ppf(1) would be infinite

PositiveFloat = Annotated[float, Field(ge=0.001, le=1_000_000, allow_inf_nan=False)]
"""A duration parameter in days, from about a minute and a half to 2,700 years: finite
(``.inf``, a stay that never ends, is refused), and within the range where every
quantile is a number (a gamma with a sd 10^600 times its mean has NaN quantiles)."""
Shape = Annotated[float, Field(ge=0.01, le=100, allow_inf_nan=False)]
"""A Weibull shape: below 0.01 the mean overflows, above 100 the stays are all equal."""


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Quantile function: the durations (days) at probabilities ``u`` in [0, 1)."""
        raise NotImplementedError

    def cdf(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Distribution function: the probability of a duration of at most ``x`` days."""
        raise NotImplementedError

    def residual_days(self, elapsed_days: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The rest of a duration that has lasted ``elapsed_days`` so far, one uniform each.

        The whole duration is drawn from the distribution conditional on exceeding the
        time elapsed: ``u' = F(e) + u (1 - F(e))``, duration ``ppf(u')``; the residual is
        what remains after ``e`` (zero if the distribution puts no mass beyond ``e``: a
        patient past the longest possible stay is ready at once).
        """
        elapsed = np.asarray(elapsed_days, dtype=float)
        done = np.clip(self.cdf(elapsed), 0.0, 1.0)
        conditional = np.minimum(done + np.asarray(u, dtype=float) * (1.0 - done), _LAST_U)
        return np.asarray(np.maximum(self.ppf(conditional) - elapsed, 0.0), dtype=float)

    def sample(self, rng: np.random.Generator, size: int = 1) -> np.ndarray:
        """Draw ``size`` values in days, one uniform each."""
        return self.ppf(rng.random(size))

    @property
    def mean_days(self) -> float:  # pragma: no cover - abstract
        """Expected value in days."""
        raise NotImplementedError

    def scaled(self, factor: float) -> _Dist:  # pragma: no cover - abstract
        """Return the distribution of ``factor`` times a draw from this one."""
        raise NotImplementedError

    def _with(self, **changes: object) -> Self:
        """A copy with other parameters, checked as the scenario's own are.

        A scale that takes a parameter out of its range (a stay beyond 2,700 years, a
        zero or negative mean) raises pydantic's ``ValidationError`` naming it.
        """
        return self.model_validate({**self.model_dump(), **changes})


class Exponential(_Dist):
    """Exponential with the given mean (memoryless: a Poisson process's gaps)."""

    distribution: Literal["exponential"]
    mean: PositiveFloat

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function."""
        return np.asarray(-self.mean * np.log1p(-u), dtype=float)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Distribution function."""
        return np.asarray(-np.expm1(-np.maximum(x, 0.0) / self.mean), dtype=float)

    @property
    def mean_days(self) -> float:
        """Expected value in days."""
        return self.mean

    def scaled(self, factor: float) -> Exponential:
        """Return the distribution of ``factor`` times a draw."""
        return self._with(mean=self.mean * factor)


class LogNormal(_Dist):
    """Log-normal, given either by ``mean`` and ``sd`` or by ``median`` and ``p90``."""

    distribution: Literal["lognormal"]
    mean: PositiveFloat | None = None
    sd: PositiveFloat | None = None
    median: PositiveFloat | None = None
    p90: PositiveFloat | None = None

    @model_validator(mode="after")
    def _one_parameterisation(self) -> LogNormal:
        by_moments = self.mean is not None or self.sd is not None
        by_quantiles = self.median is not None or self.p90 is not None
        if by_moments and by_quantiles:
            raise ValueError("give either mean and sd, or median and p90, not a mix")
        if by_moments and (self.mean is None or self.sd is None):
            raise ValueError("lognormal by moments needs both mean and sd")
        if by_quantiles and (self.median is None or self.p90 is None):
            raise ValueError("lognormal by quantiles needs both median and p90")
        if not by_moments and not by_quantiles:
            raise ValueError("lognormal needs mean and sd, or median and p90")
        if self.median is not None and self.p90 is not None and self.p90 <= self.median:
            raise ValueError(f"p90 ({self.p90}) must be greater than median ({self.median})")
        return self

    @property
    def mu_sigma(self) -> tuple[float, float]:
        """Parameters of the underlying normal."""
        if self.median is not None and self.p90 is not None:
            mu = math.log(self.median)
            return mu, (math.log(self.p90) - mu) / _Z90
        assert self.mean is not None and self.sd is not None
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        return math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function."""
        mu, sigma = self.mu_sigma
        from scipy import special

        return np.asarray(np.exp(mu + sigma * special.ndtri(u)), dtype=float)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Distribution function."""
        mu, sigma = self.mu_sigma
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(x, 0.0)) - mu) / sigma
        from scipy import special

        return np.asarray(special.ndtr(z), dtype=float)

    @property
    def mean_days(self) -> float:
        """Expected value in days."""
        mu, sigma = self.mu_sigma
        return math.exp(mu + sigma * sigma / 2)

    def scaled(self, factor: float) -> LogNormal:
        """Return the distribution of ``factor`` times a draw."""
        if self.median is not None and self.p90 is not None:
            return self._with(median=self.median * factor, p90=self.p90 * factor)
        assert self.mean is not None and self.sd is not None
        return self._with(mean=self.mean * factor, sd=self.sd * factor)


class Gamma(_Dist):
    """Gamma with the given mean and standard deviation."""

    distribution: Literal["gamma"]
    mean: PositiveFloat
    sd: PositiveFloat

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function."""
        shape = (self.mean / self.sd) ** 2
        scale = self.sd * self.sd / self.mean
        from scipy import special

        return np.asarray(special.gammaincinv(shape, u) * scale, dtype=float)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Distribution function."""
        shape = (self.mean / self.sd) ** 2
        scale = self.sd * self.sd / self.mean
        from scipy import special

        return np.asarray(special.gammainc(shape, np.maximum(x, 0.0) / scale), dtype=float)

    @property
    def mean_days(self) -> float:
        """Expected value in days."""
        return self.mean

    def scaled(self, factor: float) -> Gamma:
        """Return the distribution of ``factor`` times a draw."""
        return self._with(mean=self.mean * factor, sd=self.sd * factor)


class Weibull(_Dist):
    """Weibull with shape ``k`` and scale ``lambda`` (days)."""

    distribution: Literal["weibull"]
    shape: Shape
    scale: PositiveFloat

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function."""
        return np.asarray(self.scale * (-np.log1p(-u)) ** (1 / self.shape), dtype=float)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Distribution function."""
        scaled = np.maximum(x, 0.0) / self.scale
        return np.asarray(-np.expm1(-(scaled**self.shape)), dtype=float)

    @property
    def mean_days(self) -> float:
        """Expected value in days."""
        return self.scale * math.gamma(1 + 1 / self.shape)

    def scaled(self, factor: float) -> Weibull:
        """Return the distribution of ``factor`` times a draw."""
        return self._with(scale=self.scale * factor)


class Fixed(_Dist):
    """Always the same value (zero allowed: an instant step)."""

    distribution: Literal["fixed"]
    value: Annotated[float, Field(ge=0, allow_inf_nan=False)]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function: the value, whatever the probability."""
        return np.full(np.shape(u), self.value, dtype=float)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Distribution function: a step from 0 to 1 at the value."""
        return np.where(np.asarray(x, dtype=float) >= self.value, 1.0, 0.0)

    @property
    def mean_days(self) -> float:
        """Expected value in days."""
        return self.value

    def scaled(self, factor: float) -> Fixed:
        """Return the distribution of ``factor`` times a draw."""
        return self._with(value=self.value * factor)


class Empirical(_Dist):
    """Equally likely draws from observed values (for example, past lengths of stay)."""

    distribution: Literal["empirical"]
    values: Annotated[
        tuple[Annotated[float, Field(ge=0, allow_inf_nan=False)], ...], Field(min_length=1)
    ]

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function: each value with equal probability, in the order given."""
        values = np.asarray(self.values, dtype=float)
        index = np.minimum((np.asarray(u) * len(values)).astype(int), len(values) - 1)
        return np.asarray(values[index], dtype=float)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Distribution function: the share of values at most ``x``."""
        ordered = np.sort(np.asarray(self.values, dtype=float))
        at_most = np.searchsorted(ordered, np.asarray(x, dtype=float), side="right")
        return np.asarray(at_most / len(ordered), dtype=float)

    def residual_days(self, elapsed_days: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The rest of a duration: a value above the time elapsed, equally likely, less it.

        ``ppf`` serves values in the order given, so the conditional draw uses the values
        in increasing order instead; zero when no value exceeds the time elapsed.
        """
        ordered = np.sort(np.asarray(self.values, dtype=float))
        elapsed = np.asarray(elapsed_days, dtype=float)
        done = np.searchsorted(ordered, elapsed, side="right")
        pick = done + (np.asarray(u, dtype=float) * (len(ordered) - done)).astype(int)
        value = ordered[np.minimum(pick, len(ordered) - 1)]
        return np.asarray(np.maximum(value - elapsed, 0.0), dtype=float)

    @property
    def mean_days(self) -> float:
        """Expected value in days."""
        return sum(self.values) / len(self.values)

    def scaled(self, factor: float) -> Empirical:
        """Return the distribution of ``factor`` times a draw."""
        return self._with(values=tuple(v * factor for v in self.values))


Distribution = Annotated[
    Exponential | LogNormal | Gamma | Weibull | Fixed | Empirical,
    Field(discriminator="distribution"),
]
"""Any duration distribution, chosen by its ``distribution`` name."""

DISTRIBUTION_NAMES = ("exponential", "lognormal", "gamma", "weibull", "fixed", "empirical")
