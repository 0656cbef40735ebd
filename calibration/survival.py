"""Durations from an extract: Kaplan-Meier and censored maximum likelihood.

A length of stay in an extract is seldom simply "discharge minus admission". Stays
still open at the extract date are *right-censored*: all that is known is that they
last longer than the time so far. Stays that began before the period and are seen only
because they were still open at its start are *left-truncated*: they are in the data
because they were long. Taking the mean of the completed stays ignores both, and for
adult secure care, where most stays outlast a three-year extract, it is badly biased
(short stays are the ones that complete). This module does it properly:

- :class:`Durations` holds, for each stay, when it entered observation, when it left
  it, and whether it ended (the event) or was censored. Dates are whole days, so a
  completed duration of ``d`` days is known to lie within half a day of ``d``.
- :func:`kaplan_meier` is the product-limit estimate of the survival curve, with
  left truncation in the risk sets and Greenwood (log-log) 95% bands.
- :func:`fit_family` maximises the likelihood ``prod f(t)/S(entry)`` over completed
  stays (interval-censored within the day) and ``S(c)/S(entry)`` over open ones, for
  exponential, gamma, lognormal and Weibull; :func:`fit_durations` fits all four and
  picks the lowest AIC. Confidence intervals come from the observed information
  (numerical Hessian) by the delta method, on the log scale.
- :func:`goodness_of_fit` compares observed and model-expected events in bins of
  duration (a chi-square test valid under censoring and truncation) and the largest
  gap between the Kaplan-Meier and fitted curves.

Only numpy and scipy are used: lifelines would do the same, but these few likelihoods
are short and keep the dependencies to the design's list.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

Z95 = 1.959963984540054
FAMILIES = ("exponential", "gamma", "lognormal", "weibull")
_TINY = 1e-300


@dataclass(frozen=True, eq=False)
class Durations:
    """Durations observed from ``entry`` to ``exit``; ``event`` if the duration ended.

    For an ended duration ``exit`` is its recorded length ``d`` (whole days), known to
    lie in ``[d - 0.5, d + 0.5]``; for a censored one it is the time observed so far.
    ``entry`` is 0 unless the duration began before observation did.
    """

    entry: np.ndarray
    exit: np.ndarray
    event: np.ndarray

    @classmethod
    def build(cls, entry: np.ndarray, exit_: np.ndarray, event: np.ndarray) -> Durations:
        """Checked arrays (entry <= exit, non-negative)."""
        entry = np.asarray(entry, dtype=float)
        exit_ = np.asarray(exit_, dtype=float)
        event = np.asarray(event, dtype=bool)
        if not (entry.shape == exit_.shape == event.shape):
            raise ValueError("entry, exit and event must have the same length")
        if np.any(entry < 0) or np.any(exit_ < 0):
            raise ValueError("durations and entry times must be non-negative")
        return cls(entry, exit_, event)

    def __len__(self) -> int:
        return len(self.exit)

    @property
    def events(self) -> int:
        """Durations that ended."""
        return int(self.event.sum())

    @property
    def censored(self) -> int:
        """Durations still going when observation stopped."""
        return len(self) - self.events

    @property
    def truncated(self) -> int:
        """Durations that began before observation did."""
        return int((self.entry > 0).sum())

    @property
    def naive_mean(self) -> float:
        """Mean of the ended durations only: what ignoring censoring would give."""
        ended = self.exit[self.event]
        return float(ended.mean()) if len(ended) else math.nan

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Interval of each ended duration: within half a day of the recorded length."""
        ended = self.exit[self.event]
        low = np.maximum(ended - 0.5, 0.0)
        low = np.maximum(low, self.entry[self.event])
        return low, ended + 0.5


# -- Kaplan-Meier ----------------------------------------------------------------------
@dataclass(frozen=True)
class KaplanMeier:
    """A product-limit survival curve: S just after each event time, with a 95% band."""

    time: np.ndarray
    survival: np.ndarray
    low: np.ndarray
    high: np.ndarray
    at_risk: np.ndarray

    def at(self, t: np.ndarray) -> np.ndarray:
        """S(t) as a right-continuous step function."""
        index = np.searchsorted(self.time, np.asarray(t, dtype=float), side="right") - 1
        values = np.concatenate([[1.0], self.survival])
        return np.asarray(values[index + 1], dtype=float)


def kaplan_meier(d: Durations) -> KaplanMeier:
    """Kaplan-Meier estimate with left truncation (risk set: entered by t, not yet ended)."""
    times = np.unique(d.exit[d.event])
    entry = np.sort(d.entry)
    exits = np.sort(d.exit)
    ended = np.sort(d.exit[d.event])
    entered = np.searchsorted(entry, times, side="right")
    left_before = np.searchsorted(exits, times, side="left")
    at_risk = (entered - left_before).astype(float)
    events = (
        np.searchsorted(ended, times, side="right") - np.searchsorted(ended, times, side="left")
    ).astype(float)
    keep = at_risk > 0
    times, at_risk, events = times[keep], at_risk[keep], events[keep]
    factor = 1.0 - events / at_risk
    survival = np.cumprod(factor)
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(events / (at_risk * (at_risk - events)))
        log_s = np.log(survival)
        se = np.sqrt(greenwood) / np.abs(log_s)
        low = survival ** np.exp(Z95 * se)
        high = survival ** np.exp(-Z95 * se)
    low = np.where(np.isfinite(low), low, 0.0)
    high = np.where(np.isfinite(high), high, 1.0)
    high = np.where(survival >= 1.0, 1.0, high)
    return KaplanMeier(times, survival, low, high, at_risk)


# -- the four families ------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """A two- (or one-) parameter family on unconstrained parameters ``theta``."""

    name: str
    n_params: int
    logsf: Callable[[np.ndarray, np.ndarray], np.ndarray]
    logcdf: Callable[[np.ndarray, np.ndarray], np.ndarray]
    ppf: Callable[[np.ndarray, float], float]
    integrated_cdf: Callable[[np.ndarray, np.ndarray], np.ndarray]
    """``G(x)``, the integral of the distribution function from 0 to ``x``."""
    mean: Callable[[np.ndarray], float]
    sd: Callable[[np.ndarray], float]
    start: Callable[[Durations], np.ndarray]


def _log_pos(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.asarray(np.log(np.maximum(x, 0.0)))


def _rough_scale(d: Durations) -> float:
    """Time at risk per event: the exponential MLE, a starting point for every family."""
    at_risk = float(np.sum(d.exit - d.entry))
    return max(at_risk / max(d.events, 1), 0.5)


def _exp_logsf(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(-np.maximum(x, 0.0) / math.exp(theta[0]))


def _exp_logcdf(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(_log_pos(-np.expm1(-np.maximum(x, 0.0) / math.exp(theta[0]))))


def _gamma_logsf(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    k, s = math.exp(theta[0]), math.exp(theta[1])
    return np.asarray(np.log(np.maximum(special.gammaincc(k, np.maximum(x, 0.0) / s), _TINY)))


def _gamma_logcdf(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    k, s = math.exp(theta[0]), math.exp(theta[1])
    return np.asarray(_log_pos(special.gammainc(k, np.maximum(x, 0.0) / s)))


def _lognormal_z(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray((_log_pos(x) - theta[0]) / math.exp(theta[1]))


def _weibull_logsf(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    k, s = math.exp(theta[0]), math.exp(theta[1])
    return np.asarray(-((np.maximum(x, 0.0) / s) ** k))


def _weibull_logcdf(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.asarray(_log_pos(-np.expm1(_weibull_logsf(theta, x))))


def _exp_g(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    s = math.exp(theta[0])
    x = np.maximum(x, 0.0)
    return np.asarray(x + s * np.expm1(-x / s))


def _gamma_g(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    k, s = math.exp(theta[0]), math.exp(theta[1])
    x = np.maximum(x, 0.0)
    return np.asarray(x * special.gammainc(k, x / s) - k * s * special.gammainc(k + 1, x / s))


def _lognormal_g(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    sigma = math.exp(theta[1])
    z = _lognormal_z(theta, x)
    mean = math.exp(theta[0] + sigma * sigma / 2)
    return np.asarray(np.maximum(x, 0.0) * special.ndtr(z) - mean * special.ndtr(z - sigma))


def _weibull_g(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    k, s = math.exp(theta[0]), math.exp(theta[1])
    x = np.maximum(x, 0.0)
    cdf = -np.expm1(-((x / s) ** k))
    partial = s * math.gamma(1 + 1 / k) * special.gammainc(1 + 1 / k, (x / s) ** k)
    return np.asarray(x * cdf - partial)


def _lognormal_start(d: Durations) -> np.ndarray:
    scale = _rough_scale(d)
    return np.array([math.log(scale) - 0.5, 0.0])


FAMILY: dict[str, Family] = {
    "exponential": Family(
        "exponential",
        1,
        _exp_logsf,
        _exp_logcdf,
        lambda th, u: -math.exp(th[0]) * math.log1p(-u),
        _exp_g,
        lambda th: math.exp(th[0]),
        lambda th: math.exp(th[0]),
        lambda d: np.array([math.log(_rough_scale(d))]),
    ),
    "gamma": Family(
        "gamma",
        2,
        _gamma_logsf,
        _gamma_logcdf,
        lambda th, u: float(special.gammaincinv(math.exp(th[0]), u) * math.exp(th[1])),
        _gamma_g,
        lambda th: math.exp(th[0] + th[1]),
        lambda th: math.exp(0.5 * th[0] + th[1]),
        lambda d: np.array([0.0, math.log(_rough_scale(d))]),
    ),
    "lognormal": Family(
        "lognormal",
        2,
        lambda th, x: np.asarray(special.log_ndtr(-_lognormal_z(th, x))),
        lambda th, x: np.asarray(special.log_ndtr(_lognormal_z(th, x))),
        lambda th, u: math.exp(th[0] + math.exp(th[1]) * float(special.ndtri(u))),
        _lognormal_g,
        lambda th: math.exp(th[0] + 0.5 * math.exp(2 * th[1])),
        lambda th: (
            math.exp(th[0] + 0.5 * math.exp(2 * th[1])) * math.sqrt(math.expm1(math.exp(2 * th[1])))
        ),
        _lognormal_start,
    ),
    "weibull": Family(
        "weibull",
        2,
        _weibull_logsf,
        _weibull_logcdf,
        lambda th, u: math.exp(th[1]) * (-math.log1p(-u)) ** math.exp(-th[0]),
        _weibull_g,
        lambda th: math.exp(th[1]) * math.gamma(1 + math.exp(-th[0])),
        lambda th: (
            math.exp(th[1])
            * math.sqrt(
                max(
                    math.gamma(1 + 2 * math.exp(-th[0])) - math.gamma(1 + math.exp(-th[0])) ** 2,
                    0.0,
                )
            )
        ),
        lambda d: np.array([0.0, math.log(_rough_scale(d))]),
    ),
}


def _log_interval(
    family: Family, theta: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Log P(low < T <= high), computed on whichever tail keeps its precision."""
    sf_low, sf_high = family.logsf(theta, low), family.logsf(theta, high)
    cdf_low, cdf_high = family.logcdf(theta, low), family.logcdf(theta, high)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        upper = sf_low + np.log(np.maximum(-np.expm1(sf_high - sf_low), _TINY))
        lower = cdf_high + np.log(np.maximum(-np.expm1(cdf_low - cdf_high), _TINY))
    use_lower = cdf_high < math.log(0.5)
    return np.asarray(np.where(use_lower, lower, upper))


SHORT_DAYS = 60
"""Recorded durations up to this many days use the exact whole-day likelihood."""


def _log_whole_days(family: Family, theta: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Log P(recorded length = d) for durations recorded in whole days.

    An event at a uniformly random time of day ``U`` lasting ``T`` is recorded as
    ``d = floor(T + U)`` days, so ``P(d) = G(d + 1) - 2 G(d) + G(d - 1)`` with ``G`` the
    integrated distribution function. Exact, and it matters for short durations (an
    assessment of a few days); for long ones the half-day interval is as good.
    """
    g = family.integrated_cdf
    p = g(theta, days + 1) - 2 * g(theta, days) + g(theta, np.maximum(days - 1, 0.0))
    return np.asarray(np.log(np.maximum(p, _TINY)))


@dataclass(frozen=True)
class _Terms:
    """The likelihood's distinct arguments, each with how many stays share it.

    Lengths are whole days, so a thousand stays have a few hundred distinct values:
    evaluating each once makes a fit several times faster.
    """

    short: tuple[np.ndarray, np.ndarray]
    interval: tuple[np.ndarray, np.ndarray, np.ndarray]
    censored: tuple[np.ndarray, np.ndarray]
    entry: tuple[np.ndarray, np.ndarray]


def _counted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, counts = np.unique(values, return_counts=True)
    return unique, counts.astype(float)


@functools.lru_cache(maxsize=64)
def _terms(d: Durations) -> _Terms:
    ended = d.exit[d.event]
    short = ended <= SHORT_DAYS
    low, high = d.bounds()
    pairs, counts = np.unique(
        np.column_stack([low[~short], high[~short]]), axis=0, return_counts=True
    )
    return _Terms(
        short=_counted(ended[short]),
        interval=(pairs[:, 0], pairs[:, 1], counts.astype(float)),
        censored=_counted(d.exit[~d.event]),
        entry=_counted(d.entry[d.entry > 0]),
    )


def negative_log_likelihood(family: Family, theta: np.ndarray, d: Durations) -> float:
    """Minus the log-likelihood: whole-day, interval, right-censored and truncated terms."""
    t = _terms(d)
    low, high, n_interval = t.interval
    total = float(
        n_interval @ _log_interval(family, theta, low, high)
        + t.short[1] @ _log_whole_days(family, theta, t.short[0])
        + t.censored[1] @ family.logsf(theta, t.censored[0])
        - t.entry[1] @ family.logsf(theta, t.entry[0])
    )
    return -total if math.isfinite(total) else math.inf


# -- fitting -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A fitted quantity: the estimate and its 95% confidence interval."""

    value: float
    low: float
    high: float

    def text(self, digits: int = 3, unit: str = "") -> str:
        """``value (95% CI low to high)`` with ``digits`` significant figures."""
        return (
            f"{significant(self.value, digits)}{unit} "
            f"(95% CI {significant(self.low, digits)} to {significant(self.high, digits)}{unit})"
        )

    def percent(self) -> str:
        """``+1.2% (95% CI -3.0% to +5.6%)`` for a signed share such as a growth."""
        return f"{self.value:+.1%} (95% CI {self.low:+.1%} to {self.high:+.1%})"


def significant(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, with thousands separators.

    Whole numbers are written without decimals.
    """
    if not math.isfinite(x):
        return "∞" if x > 0 else "–"
    if x == 0 or float(x).is_integer():
        return f"{x:,.0f}"
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{x:,.{decimals}f}"


@dataclass
class FamilyFit:
    """One family fitted by maximum likelihood."""

    family: str
    theta: np.ndarray
    covariance: np.ndarray
    nll: float
    converged: bool

    @property
    def aic(self) -> float:
        """Akaike information criterion: 2k + 2 x minus log-likelihood."""
        return 2 * FAMILY[self.family].n_params + 2 * self.nll

    def derived(self, f: Callable[[np.ndarray], float]) -> Estimate:
        """A positive function of the parameters, with a delta-method CI on the log scale."""
        value = f(self.theta)
        if not (math.isfinite(value) and value > 0):
            return Estimate(value, math.nan, math.nan)
        gradient = np.zeros(len(self.theta))
        for i in range(len(self.theta)):
            h = 1e-5 * max(1.0, abs(self.theta[i]))
            up, down = self.theta.copy(), self.theta.copy()
            up[i] += h
            down[i] -= h
            gradient[i] = (math.log(f(up)) - math.log(f(down))) / (2 * h)
        variance = float(gradient @ self.covariance @ gradient)
        se = math.sqrt(variance) if variance > 0 and math.isfinite(variance) else math.nan
        return Estimate(value, value * math.exp(-Z95 * se), value * math.exp(Z95 * se))

    def quantile(self, u: float) -> Estimate:
        """The ``u`` quantile with its CI."""
        family = FAMILY[self.family]
        return self.derived(lambda th: family.ppf(th, u))

    @property
    def mean(self) -> Estimate:
        """The mean with its CI."""
        return self.derived(FAMILY[self.family].mean)

    @property
    def sd(self) -> Estimate:
        """The standard deviation with its CI."""
        return self.derived(FAMILY[self.family].sd)

    def survival(self, t: np.ndarray) -> np.ndarray:
        """The fitted S(t)."""
        return np.asarray(np.exp(FAMILY[self.family].logsf(self.theta, np.asarray(t, dtype=float))))

    def scenario_parameters(self) -> dict[str, float]:
        """The distribution as a scenario writes it, in planner terms."""
        th = self.theta
        if self.family == "exponential":
            return {"mean": math.exp(th[0])}
        if self.family == "gamma":
            return {"mean": self.mean.value, "sd": self.sd.value}
        if self.family == "lognormal":
            return {"median": math.exp(th[0]), "p90": self.quantile(0.9).value}
        return {"shape": math.exp(th[0]), "scale": math.exp(th[1])}

    def parameter_estimates(self) -> dict[str, Estimate]:
        """:meth:`scenario_parameters` with their CIs, plus the mean."""
        th_index = {"shape": 0, "scale": 1}
        out: dict[str, Estimate] = {}
        for name in self.scenario_parameters():
            if name == "mean":
                out[name] = self.mean
            elif name == "sd":
                out[name] = self.sd
            elif name == "median":
                out[name] = self.quantile(0.5)
            elif name == "p90":
                out[name] = self.quantile(0.9)
            else:
                out[name] = self.derived(_exp_of(th_index[name]))
        out.setdefault("mean", self.mean)
        return out


def _exp_of(i: int) -> Callable[[np.ndarray], float]:
    """``theta -> exp(theta[i])``: a parameter fitted on the log scale."""

    def value(theta: np.ndarray) -> float:
        return math.exp(theta[i])

    return value


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    n = len(x)
    h = 1e-3 * np.maximum(1.0, np.abs(x))
    hess = np.zeros((n, n))
    f0 = f(x)
    for i in range(n):
        for j in range(i, n):
            if i == j:
                up, down = x.copy(), x.copy()
                up[i] += h[i]
                down[i] -= h[i]
                hess[i, i] = (f(up) - 2 * f0 + f(down)) / h[i] ** 2
            else:
                pp, pm, mp, mm = x.copy(), x.copy(), x.copy(), x.copy()
                pp[i] += h[i]
                pp[j] += h[j]
                pm[i] += h[i]
                pm[j] -= h[j]
                mp[i] -= h[i]
                mp[j] += h[j]
                mm[i] -= h[i]
                mm[j] -= h[j]
                hess[i, j] = hess[j, i] = (f(pp) - f(pm) - f(mp) + f(mm)) / (4 * h[i] * h[j])
    return hess


def fit_family(name: str, d: Durations) -> FamilyFit:
    """Fit one family by maximum likelihood (Nelder-Mead on the log-scale parameters)."""
    family = FAMILY[name]

    def nll(theta: np.ndarray) -> float:
        if np.any(np.abs(theta) > 50):
            return math.inf
        return negative_log_likelihood(family, theta, d)

    start = family.start(d)
    best = optimize.minimize(
        nll,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 2000},
    )
    theta = np.asarray(best.x, dtype=float)
    hess = _hessian(nll, theta)
    try:
        covariance = np.linalg.inv(hess)
        ok = bool(np.all(np.isfinite(covariance)) and np.all(np.diag(covariance) > 0))
    except np.linalg.LinAlgError:
        covariance, ok = np.full_like(hess, np.nan), False
    return FamilyFit(name, theta, covariance, float(best.fun), bool(best.success) and ok)


@dataclass(frozen=True)
class GoodnessOfFit:
    """Observed against expected events in bins of duration, and the KM gap."""

    edges: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    chi2: float
    df: int
    p_value: float
    max_gap: float
    """Largest |Kaplan-Meier - fitted survival| over the event times."""

    def statement(self) -> str:
        """One sentence a planner can read."""
        verdict = (
            "consistent with the data"
            if self.p_value >= 0.05
            else "departs from the data at the 5% level (see the figure)"
        )
        return (
            f"{verdict} (chi-square {self.chi2:.1f} on {self.df} df, p = {self.p_value:.2f}; "
            f"Kaplan-Meier within {self.max_gap:.2f} of the fitted curve)"
        )


def discrete_hazard(fit: FamilyFit, last_day: int) -> np.ndarray:
    """Hazard of a recorded length of ``d`` whole days, for ``d = 0 .. last_day``.

    ``P(D = d) / P(D >= d)`` with ``P(D = d)`` as in the likelihood: exact for short
    lengths, the half-day interval beyond.
    """
    family = FAMILY[fit.family]
    days = np.arange(last_day + 1, dtype=float)
    short = days <= SHORT_DAYS
    pmf = np.empty_like(days)
    pmf[short] = np.exp(_log_whole_days(family, fit.theta, days[short]))
    low, high = np.maximum(days[~short] - 0.5, 0.0), days[~short] + 0.5
    pmf[~short] = np.exp(_log_interval(family, fit.theta, low, high))
    at_least = np.empty_like(days)
    head = 1.0 - np.concatenate([[0.0], np.cumsum(pmf[short])[:-1]])
    at_least[short] = head
    at_least[~short] = np.exp(family.logsf(fit.theta, days[~short] - 0.5))
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(at_least > 0, pmf / at_least, 1.0)
    return np.asarray(np.clip(hazard, 0.0, 1.0))


def goodness_of_fit(fit: FamilyFit, d: Durations, km: KaplanMeier) -> GoodnessOfFit:
    """Chi-square of observed vs expected ends per bin of recorded length.

    Lengths are recorded in whole days, so the test works in whole days: a stay is at
    risk of ending on day ``k`` from the first whole day after it entered observation
    to the day it ended (or the last day it was seen). The expected number of ends in a
    bin is the sum over stays of the fitted discrete hazard on the days each was at
    risk in it; under the model observed and expected agree. Bins are cut at quantiles
    of the ended lengths (2 to 10 bins, about 15 ends or more each). The statistic is
    referred to chi-square on bins - parameters degrees of freedom (at least 1): an
    approximation, since the parameters were fitted to the same data.
    """
    family = FAMILY[fit.family]
    ended = d.exit[d.event]
    bins = int(min(10, max(2, len(ended) // 15)))
    cuts = np.quantile(ended, np.linspace(0, 1, bins + 1)[1:-1]) if len(ended) else np.empty(0)
    edges = np.unique(np.concatenate([[0.0], np.ceil(cuts), [np.inf]]))
    observed = np.histogram(ended, bins=edges)[0].astype(float)
    last_seen = np.where(d.event, d.exit, np.floor(d.exit)).astype(int)
    first_at_risk = np.ceil(d.entry).astype(int)
    cumulative = np.concatenate([[0.0], np.cumsum(discrete_hazard(fit, int(last_seen.max())))])
    expected = np.zeros(len(edges) - 1)
    for j in range(len(edges) - 1):
        lo = np.maximum(first_at_risk, int(edges[j]))
        hi = np.minimum(last_seen, edges[j + 1] - 1).astype(int)
        inside = hi >= lo
        expected[j] = float(np.sum(cumulative[hi[inside] + 1] - cumulative[lo[inside]]))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (observed - expected) ** 2 / expected, 0.0)
    chi2 = float(terms.sum())
    df = max(len(observed) - family.n_params, 1)
    p_value = float(stats.chi2.sf(chi2, df))
    # The curve of recorded lengths steps at whole days: P(D > d) is about S(d + 0.5).
    fitted = fit.survival(km.time + 0.5)
    gap = float(np.max(np.abs(km.survival - fitted))) if len(km.time) else 0.0
    return GoodnessOfFit(edges, observed, expected, chi2, df, p_value, gap)


@dataclass
class DurationFit:
    """All four families fitted to one set of durations; the best by AIC chosen."""

    durations: Durations
    fits: dict[str, FamilyFit]
    chosen: str
    km: KaplanMeier
    gof: GoodnessOfFit
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> FamilyFit:
        """The chosen family's fit."""
        return self.fits[self.chosen]

    def delta_aic(self) -> dict[str, float]:
        """AIC of each family minus the best's."""
        best = self.best.aic
        return {name: fit.aic - best for name, fit in self.fits.items()}

    def aic_text(self) -> str:
        """``gamma +3.1, weibull +12`` for the families not chosen."""
        others = sorted((v, k) for k, v in self.delta_aic().items() if k != self.chosen)
        return ", ".join(f"{k} +{v:.1f}" if math.isfinite(v) else f"{k} failed" for v, k in others)


def fit_durations(d: Durations, families: tuple[str, ...] = FAMILIES) -> DurationFit:
    """Fit every family and choose the lowest AIC (among fits that converged)."""
    if d.events == 0:
        raise ValueError("no duration ended: nothing to fit a distribution to")
    fits = {name: fit_family(name, d) for name in families}
    usable = [f for f in fits.values() if f.converged and math.isfinite(f.nll)]
    chosen = min(usable or list(fits.values()), key=lambda f: f.aic).family
    km = kaplan_meier(d)
    notes = []
    if not usable:
        notes.append("no family's information matrix could be inverted; CIs are unreliable")
    return DurationFit(d, fits, chosen, km, goodness_of_fit(fits[chosen], d, km), notes)
