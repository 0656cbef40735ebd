"""Scaled distributions: ``k`` times a draw, and never a distribution its schema refuses."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simulation.core.distributions import Empirical, Exponential, Fixed, Gamma, LogNormal, Weibull

U = np.array([0.1, 0.5, 0.9])

DISTRIBUTIONS = [
    Exponential(distribution="exponential", mean=30),
    LogNormal(distribution="lognormal", median=580, p90=2000),
    LogNormal(distribution="lognormal", mean=60, sd=30),
    Gamma(distribution="gamma", mean=120, sd=60),
    Weibull(distribution="weibull", shape=1.5, scale=100),
    Fixed(distribution="fixed", value=7),
    Empirical(distribution="empirical", values=(3, 9, 40)),
]


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.distribution)
def test_a_scaled_distribution_draws_k_times_each_draw(dist) -> None:
    scaled = dist.scaled(1.5)
    assert type(scaled) is type(dist)
    np.testing.assert_allclose(scaled.ppf(U), 1.5 * dist.ppf(U), rtol=1e-12)


@pytest.mark.parametrize("dist", DISTRIBUTIONS[:5], ids=lambda d: d.distribution)
@pytest.mark.parametrize("factor", [0.0, -1.0, float("nan"), 1e9])
def test_a_scale_that_leaves_the_allowed_range_is_refused(dist, factor: float) -> None:
    """Zero, negative, NaN or a stay beyond 2,700 years: refused, not a NaN stay later."""
    with pytest.raises(ValidationError):
        dist.scaled(factor)
