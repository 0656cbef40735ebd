"""Durations from an extract: Kaplan-Meier and censored maximum likelihood.

A length of stay in an extract is seldom simply "discharge minus admission". Stays
still open at the extract date are *right-censored*: all that is known is that they
last longer than the time so far. Stays that began before the period and are seen only
because they were still open at its start are *left-truncated*: they are in the data
because they were long. Taking the mean of the completed stays ignores both, and for
adult secure care, where most stays outlast a three-year extract, it is badly biased
(short stays are the ones that complete). This module does it properly:

- :class:`~calibration.likelihood.Durations` holds, for each stay, when it entered
  observation, when it left it, and whether it ended or was censored, and
  :mod:`calibration.likelihood` its likelihood under each family.
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

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from calibration.estimate import Z95, Estimate
from calibration.likelihood import (
    FAMILIES,
    FAMILY,
    SHORT_DAYS,
    Durations,
    log_interval,
    log_whole_days,
    negative_log_likelihood,
)


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


# -- fitting -------------------------------------------------------------------------------
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
        p = f"{self.p_value:.3f}" if self.p_value < 0.1 else f"{self.p_value:.2f}"
        test = (
            f"chi-square {self.chi2:.1f} on {self.df} df, p = {p}; "
            f"Kaplan-Meier within {self.max_gap:.2f} of the fitted curve"
        )
        if self.p_value >= 0.05:
            return f"consistent with the data ({test})"
        return f"departs from the data at the 5% level ({test}): see the figure"


def discrete_hazard(fit: FamilyFit, last_day: int) -> np.ndarray:
    """Hazard of a recorded length of ``d`` whole days, for ``d = 0 .. last_day``.

    ``P(D = d) / P(D >= d)`` with ``P(D = d)`` as in the likelihood: exact for short
    lengths, the half-day interval beyond.
    """
    family = FAMILY[fit.family]
    days = np.arange(last_day + 1, dtype=float)
    short = days <= SHORT_DAYS
    pmf = np.empty_like(days)
    pmf[short] = np.exp(log_whole_days(family, fit.theta, days[short]))
    low, high = np.maximum(days[~short] - 0.5, 0.0), days[~short] + 0.5
    pmf[~short] = np.exp(log_interval(family, fit.theta, low, high))
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
