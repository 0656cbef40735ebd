"""Referral rates: a Poisson model of monthly counts with trend and monthly seasonality.

The scenario says each service of a pathway receives new referrals at a rate per
100,000 population per year, the same in every place, growing by ``annual_growth`` a
year and multiplied by a factor for each calendar month. Fitting that model is a
Poisson regression of the monthly count of new referrals per (service, place):

    E[count] = exposure x exp(b_service + g t + s_month)

where exposure is population / 100,000 x days of the month in the period / 365.25,
``t`` is the time in years from the *fitted scenario's* start date (the day after the
extract), so ``exp(b_service)`` is the rate on that date, ``exp(g) - 1`` is the annual
growth and ``s`` are monthly effects summing to zero. It is fitted by Newton-Raphson
(iteratively reweighted least squares); standard errors come from the Fisher
information. A likelihood-ratio test says whether the monthly pattern is real (it is
written to the scenario only if it is, at 5%), one whether the growth differs from the
base scenario's (only then is it written), and one whether places differ in rate per
head, which the scenario cannot represent (it is reported). Seasonality needs two years
of data and a trend one; with less the base scenario's values stand.

Growth is projected over a horizon of years, so it is held to a higher standard: its
95% interval is the profile-likelihood interval, widened (quasi-Poisson) by the Pearson
dispersion when counts vary more than Poisson ones, its test is scaled the same way,
and a growth fitted from fewer than :data:`MONTHS_FOR_GROWTH` months is reported with
its interval but not written: the base's growth stands, and the notes say so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from calibration.estimate import Z95, Estimate

DAYS_PER_YEAR = 365.25
MONTHS_FOR_TREND = 12
MONTHS_FOR_SEASONALITY = 24
MONTHS_FOR_GROWTH = 36
"""Months of data before a fitted growth replaces the base's: a trend fitted over less is
shown with its interval but never projected over a horizon of years."""


@dataclass(frozen=True)
class MonthCell:
    """A calendar month of the period, clipped to it."""

    label: str  # YYYY-MM
    month: int  # 1..12
    days: float
    mid_years: float  # midpoint, years from the fitted start (negative)


def months_of(start: dt.date, end: dt.date) -> list[MonthCell]:
    """The months from ``start`` up to (not including) ``end``, clipped to the period."""
    cells = []
    first = start.replace(day=1)
    while first < end:
        following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        lo, hi = max(first, start), min(following, end)
        mid = lo + (hi - lo) / 2
        cells.append(
            MonthCell(
                first.strftime("%Y-%m"),
                first.month,
                float((hi - lo).days),
                (mid - end).days / DAYS_PER_YEAR,
            )
        )
        first = following
    return cells


@dataclass
class PoissonFit:
    """A Poisson log-linear model fitted by IRLS."""

    coef: np.ndarray
    covariance: np.ndarray
    deviance: float
    fitted: np.ndarray
    pearson_dispersion: float


def fit_poisson(x: np.ndarray, y: np.ndarray, offset: np.ndarray) -> PoissonFit:
    """Maximum likelihood for ``y ~ Poisson(exp(offset + x @ coef))``."""
    coef = np.zeros(x.shape[1])
    positive = y.sum() / np.exp(offset).sum() if y.sum() > 0 else 1e-6
    coef_start = math.log(max(positive, 1e-9))
    eta = offset + coef_start
    mu = np.exp(eta)
    for _ in range(100):
        w = mu
        z = eta - offset + (y - mu) / mu
        xtw = x.T * w
        new = np.linalg.lstsq(xtw @ x, xtw @ z, rcond=None)[0]
        eta = offset + x @ new
        mu = np.exp(eta)
        if np.max(np.abs(new - coef)) < 1e-10:
            coef = new
            break
        coef = new
    info = (x.T * mu) @ x
    covariance = np.linalg.pinv(info)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)
    deviance = float(2 * terms.sum())
    dof = max(len(y) - x.shape[1], 1)
    dispersion = float(np.sum((y - mu) ** 2 / mu) / dof)
    return PoissonFit(coef, covariance, deviance, mu, dispersion)


def _profile_interval(
    deviance_at: Callable[[float], float],
    estimate: float,
    se: float,
    minimum: float,
    phi: float,
) -> tuple[float, float]:
    """The 95% profile-likelihood interval of a log growth rate.

    The bounds are where the deviance with the growth held fixed (every other parameter
    refitted), scaled by the dispersion ``phi``, exceeds its minimum by the chi-squared
    95% point. Unlike a Wald interval it follows the likelihood's own shape.
    """
    limit = float(stats.chi2.ppf(0.95, 1))

    def excess(g: float) -> float:
        return (deviance_at(g) - minimum) / phi - limit

    bounds = []
    for side in (-1.0, 1.0):
        step = max(se, 1e-4) * 2
        far = estimate + side * step
        tries = 0
        while excess(far) < 0 and tries < 30:
            step *= 2
            far = estimate + side * step
            tries += 1
        if excess(far) < 0:
            bounds.append(math.inf * side)
            continue
        bounds.append(float(optimize.brentq(excess, *sorted((estimate, far)), xtol=1e-6)))
    return bounds[0], bounds[1]


@dataclass
class PathwayRates:
    """The fitted referral model of one pathway."""

    pathway: str
    services: list[str]
    rate_per_100k: dict[str, Estimate]
    """Rate per 100,000 a year on the fitted start date, per service."""
    referrals: dict[str, int]
    growth: Estimate | None
    """Fitted annual growth (a share, e.g. 0.02); None when the period is too short."""
    growth_used: bool
    """Whether the fitted growth differs from the base's at 5% and so is written."""
    growth_p: float | None
    """Likelihood-ratio test of the fitted growth against the base's."""
    base_growth: float
    seasonality: list[float] | None
    """12 monthly factors, January first, averaging 1; None if not fitted."""
    seasonality_ci: list[tuple[float, float]] | None
    seasonality_p: float | None
    """Likelihood-ratio test of the monthly pattern (None if not tested)."""
    place_p: float | None
    """Likelihood-ratio test of differences between places in rate per head."""
    dispersion: float
    months: list[MonthCell]
    observed: pd.DataFrame
    """Monthly observed and fitted new referrals per service (long)."""
    notes: list[str] = field(default_factory=list)

    @property
    def seasonal(self) -> bool:
        """Whether the monthly pattern is significant at 5% (and so written)."""
        return self.seasonality_p is not None and self.seasonality_p < 0.05


def _design(
    cells: pd.DataFrame, services: list[str], trend: bool, season: bool, places: list[str] | None
) -> np.ndarray:
    columns = [(cells["service"] == s).to_numpy(dtype=float) for s in services]
    if trend:
        columns.append(cells["t"].to_numpy(dtype=float))
    if season:
        month = cells["month"].to_numpy()
        for m in range(1, 12):  # sum-to-zero contrasts: December is minus the rest
            columns.append((month == m).astype(float) - (month == 12).astype(float))
    if places:
        place = cells["place"].to_numpy()
        for p in places[1:]:
            columns.append((place == p).astype(float) - (place == places[0]).astype(float))
    return np.column_stack(columns)


def fit_rates(
    pathway: str,
    services: list[str],
    populations: dict[str, int],
    referral_dates: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    base_growth: float = 0.0,
) -> PathwayRates:
    """Fit one pathway's new-referral model.

    ``referral_dates`` has columns ``service``, ``home_place`` and ``referral_date``
    (new referrals only, in ``[start, end)``). The trend is tested against the base
    scenario's ``base_growth``: a few years of a small pathway cannot tell a growth of
    1% from -5% a year, and projecting a noisy trend for years would mislead, so the
    fitted growth is used only if it differs from the base's at 5%.
    """
    months = months_of(start, end)
    n_months = sum(c.days for c in months) / (DAYS_PER_YEAR / 12)
    can_trend = n_months >= MONTHS_FOR_TREND
    season = n_months >= MONTHS_FOR_SEASONALITY
    notes: list[str] = []
    if not can_trend:
        notes.append(f"{n_months:.0f} months of data: too short to fit a trend; base growth kept")
    if not season:
        notes.append(
            f"{n_months:.0f} months of data: seasonality needs {MONTHS_FOR_SEASONALITY}; not fitted"
        )
    labels = [c.label for c in months]
    places = list(populations)
    dates = referral_dates["referral_date"].to_numpy(dtype="datetime64[D]")
    month_label = np.datetime_as_string(dates, unit="M")
    counts = (
        pd.DataFrame(
            {
                "service": referral_dates["service"].to_numpy(),
                "place": referral_dates["home_place"].to_numpy(),
                "label": month_label,
            }
        )
        .groupby(["service", "place", "label"])
        .size()
    )
    rows = []
    for s in services:
        for p in places:
            for c in months:
                exposure = populations[p] / 1e5 * c.days / DAYS_PER_YEAR
                count = float(counts.get((s, p, c.label), 0))
                rows.append((s, p, c.label, c.month, c.mid_years, exposure, count))
    cells = pd.DataFrame(rows, columns=["service", "place", "label", "month", "t", "exposure", "y"])
    y = cells["y"].to_numpy()
    offset = np.log(cells["exposure"].to_numpy())
    base_offset = offset + math.log1p(base_growth) * cells["t"].to_numpy()
    k = len(services)

    def model(trend: bool, seasonal: bool, by_place: bool = False) -> PoissonFit:
        x = _design(cells, services, trend, seasonal, places if by_place else None)
        return fit_poisson(x, y, offset if trend else base_offset)

    growth: Estimate | None = None
    trend_p: float | None = None
    use_trend = False
    if can_trend:
        free = model(True, season)
        fixed = model(False, season)
        # Quasi-Poisson: counts that vary more than Poisson ones (referrals that come in
        # clusters, a rate that drifts) widen the interval and weaken the test by the
        # Pearson dispersion, never narrow them.
        phi = max(1.0, free.pearson_dispersion)
        trend_p = float(stats.chi2.sf(max(fixed.deviance - free.deviance, 0.0) / phi, 1))
        g = float(free.coef[k])
        held = _design(cells, services, False, season, None)
        t = cells["t"].to_numpy(dtype=float)
        low, high = _profile_interval(
            lambda growth_log: fit_poisson(held, y, offset + growth_log * t).deviance,
            g,
            math.sqrt(max(free.covariance[k, k], 1e-12) * phi),
            free.deviance,
            phi,
        )
        growth = Estimate(math.expm1(g), math.expm1(low), math.expm1(high))
        long_enough = n_months >= MONTHS_FOR_GROWTH
        use_trend = trend_p < 0.05 and long_enough
        if not long_enough:
            notes.append(
                f"growth {growth.percent()} a year from {n_months:.0f} months of data: too "
                f"short to tell a trend from chance ({MONTHS_FOR_GROWTH} months are needed "
                f"to project one); the base's {base_growth:+.1%} is kept"
            )
        elif not use_trend:
            notes.append(
                f"growth {growth.value:+.1%} a year does not differ from the base's "
                f"{base_growth:+.1%} (p = {trend_p:.2f}); the base growth is kept"
            )
    full = model(use_trend, season)
    final = full
    seasonality = seasonality_ci = None
    seasonality_p = None
    scale = 1.0
    if season:
        reduced = model(use_trend, False)
        seasonality_p = float(stats.chi2.sf(max(reduced.deviance - full.deviance, 0.0), 11))
        if seasonality_p >= 0.05:
            final = reduced  # no monthly pattern to speak of: rates without one
        else:
            first = k + (1 if use_trend else 0)
            effects = full.coef[first : first + 11]
            factors = np.exp(np.concatenate([effects, [-effects.sum()]]))
            scale = float(factors.mean())
            seasonality = [float(f) for f in factors / scale]
            contrast = np.zeros((12, len(full.coef)))
            for m in range(11):
                contrast[m, first + m] = 1.0
            contrast[11, first : first + 11] = -1.0
            se_s = np.sqrt(np.einsum("ij,jk,ik->i", contrast, full.covariance, contrast))
            seasonality_ci = [
                (f * math.exp(-Z95 * e), f * math.exp(Z95 * e))
                for f, e in zip(seasonality, se_s, strict=True)
            ]
    place_p = None
    if len(places) > 1:
        with_places = model(use_trend, seasonality is not None, by_place=True)
        place_p = float(
            stats.chi2.sf(max(final.deviance - with_places.deviance, 0.0), len(places) - 1)
        )
    rates = {}
    for i, s in enumerate(services):
        b, se = final.coef[i], math.sqrt(max(final.covariance[i, i], 0.0))
        value = math.exp(b) * scale
        rates[s] = Estimate(value, value * math.exp(-Z95 * se), value * math.exp(Z95 * se))
    cells["fitted"] = final.fitted
    observed = cells.groupby(["service", "label"], as_index=False)[["y", "fitted"]].sum()
    observed["label"] = pd.Categorical(observed["label"], categories=labels, ordered=True)
    observed = observed.sort_values(["service", "label"]).reset_index(drop=True)
    referrals = {s: int(cells.loc[cells["service"] == s, "y"].sum()) for s in services}
    return PathwayRates(
        pathway=pathway,
        services=services,
        rate_per_100k=rates,
        referrals=referrals,
        growth=growth,
        growth_used=use_trend,
        growth_p=trend_p,
        base_growth=base_growth,
        seasonality=seasonality,
        seasonality_ci=seasonality_ci,
        seasonality_p=seasonality_p,
        place_p=place_p,
        dispersion=final.pearson_dispersion,
        months=months,
        observed=observed,
        notes=notes,
    )
