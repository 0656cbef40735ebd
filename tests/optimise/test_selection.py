"""Procedure NM: its constant, and its probability of correct selection on known answers.

The statistical tests run the procedure many times on oracles whose true means are
known (analytic values plus noise with common random numbers) and check that it selects
the best, or one within delta of it, at least as often as it claims: a one-sided exact
binomial test that fails when the observed share is implausibly low for 95%.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from simulation.optimise.search import enumerate_all
from simulation.optimise.selection import (
    difference_variance,
    mcb_intervals,
    nelson_matejcik,
    nm_constant,
    paired_difference,
    pareto_front,
)
from simulation.theory.queueing import mmc_mean_queue

CONFIDENCE = 0.95


def _not_below(successes: int, trials: int, share: float = CONFIDENCE) -> bool:
    """False when so few successes would happen with probability under 0.001 at ``share``."""
    return stats.binom.cdf(successes, trials, share) >= 0.001


def test_constant_is_students_t_for_two_systems():
    for dof in (5, 9, 40):
        assert nm_constant(2, dof, 0.95) == pytest.approx(stats.t.ppf(0.95, dof), abs=2e-3)


def test_constant_matches_dunnetts_one_sided_table():
    # One-sided Dunnett constants, equicorrelated 1/2, infinite degrees of freedom
    # (Bechhofer, Santner and Goldsman 1995, table): 4 comparisons 2.160, 9 comparisons 2.420.
    assert nm_constant(5, 100_000, 0.95) == pytest.approx(2.160, abs=5e-3)
    assert nm_constant(10, 100_000, 0.95) == pytest.approx(2.420, abs=5e-3)
    # Fewer degrees of freedom, a larger constant.
    assert nm_constant(5, 20, 0.95) > nm_constant(5, 200, 0.95)


def test_constant_has_the_coverage_it_claims_by_simulation():
    rng = np.random.default_rng(7)
    k, dof, n = 4, 12, 200_000
    g = nm_constant(k, dof, 0.90)
    y = rng.standard_normal((n, k))
    z = (y[:, 1:] - y[:, :1]) / math.sqrt(2)
    s = np.sqrt(rng.chisquare(dof, n) / dof)
    covered = np.mean((z / s[:, None]).max(axis=1) <= g)
    assert covered == pytest.approx(0.90, abs=0.005)


def test_difference_variance_of_common_noise_is_zero():
    rng = np.random.default_rng(1)
    common = rng.normal(size=20)
    x = np.vstack([common + shift for shift in (0.0, 1.0, 3.0)])
    assert difference_variance(x) == pytest.approx(0.0, abs=1e-12)


def test_paired_difference_is_the_t_interval_of_differences():
    a = np.array([3.0, 5.0, 4.0, 6.0])
    b = np.array([1.0, 2.0, 2.0, 3.0])
    d = a - b
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    got = paired_difference(a, b)
    assert (got.mean, got.low, got.high) == pytest.approx((2.5, 2.5 - half, 2.5 + half))


def test_mcb_intervals_of_the_chosen_reach_at_most_delta():
    low, high = mcb_intervals(np.array([1.0, 1.2, 3.0]), 0.5)
    assert high[0] == pytest.approx(0.3)  # within 0.3 of the best of the others
    assert low[0] == pytest.approx(-0.7)
    assert low[2] == 0.0 and high[2] == pytest.approx(2.5)  # clearly not the best


def test_pareto_front_keeps_what_nothing_beats_on_every_column():
    points = np.array([[1, 5], [2, 2], [3, 3], [5, 1], [2, 2]])
    assert pareto_front(points) == [0, 1, 3, 4]


def _slippage_oracle(means: np.ndarray, sigma: float, rng: np.random.Generator):
    """Normal outputs with a common random component per replication (CRN)."""
    cache: dict[int, np.ndarray] = {}

    def sample(indices, replications):
        cols = []
        for r in replications:
            if r not in cache:
                common = rng.normal(0, sigma)
                cache[r] = means + common + rng.normal(0, sigma, size=len(means))
            cols.append(cache[r][list(indices)])
        return np.array(cols).T

    return sample


def test_probability_of_correct_selection_in_the_least_favourable_configuration():
    """Best at 0, the others all exactly delta worse: NM's claim is tight here."""
    delta, k, trials = 1.0, 5, 300
    means = np.array([0.0] + [delta] * (k - 1))
    correct = 0
    covered = 0
    for trial in range(trials):
        rng = np.random.default_rng([20261203, trial])
        result = nelson_matejcik(
            _slippage_oracle(means, 1.5, rng), k, delta, CONFIDENCE, 10, 10_000
        )
        correct += result.chosen == 0
        truth = np.array([means[i] - np.delete(means, i).min() for i in range(k)])
        covered += bool(
            np.all((np.array(result.mcb_low) <= truth) & (truth <= np.array(result.mcb_high)))
        )
        assert not result.capped
    assert _not_below(correct, trials), f"correct selection {correct}/{trials}"
    assert _not_below(covered, trials), f"simultaneous coverage {covered}/{trials}"


def test_selection_on_fewer_replications_than_needed_says_so():
    rng = np.random.default_rng(3)
    result = nelson_matejcik(_slippage_oracle(np.zeros(4), 5.0, rng), 4, 0.1, 0.95, 10, 20)
    assert result.capped and result.replications == 20 and result.required > 20
    assert result.delta_achieved > 0.1


# -- a known answer: servers across independent M/M/c queues ----------------------------

ARRIVALS = (2.0, 3.5, 5.0)  # arrivals per unit time; service rate 1 per server
SERVERS = 16


def _mmc_allocations() -> list[tuple[int, ...]]:
    """Every split of 16 servers over the three queues that keeps each stable."""
    out = []
    for c in itertools.product(range(3, 12), repeat=3):
        if sum(c) == SERVERS and all(ci > lam for ci, lam in zip(c, ARRIVALS, strict=True)):
            out.append(c)
    return out


def _true_queue(c: tuple[int, ...]) -> float:
    """Mean number waiting over the three queues, by Erlang C (Little's law)."""
    return sum(mmc_mean_queue(ci, lam, 1.0) for ci, lam in zip(c, ARRIVALS, strict=True))


def test_servers_split_is_chosen_within_delta_of_the_erlang_c_optimum():
    allocations = _mmc_allocations()
    truth = np.array([_true_queue(c) for c in allocations])
    best = truth.min()
    delta, trials = 0.05, 120
    # The analytic optimum is unique, and the next split is within two deltas of it: only
    # the optimum itself counts as a correct selection.
    assert np.sum(truth <= best + delta) == 1 and np.sum(truth <= best + 2 * delta) == 2
    feasible = np.array([[i] for i in range(len(allocations))])
    good = 0
    for trial in range(trials):
        rng = np.random.default_rng([42, trial])
        common: dict[tuple[str, int], float] = {}

        def noisy(stage, candidates, replications, rng=rng, common=common):
            out = np.empty((len(candidates), len(replications)))
            for j, r in enumerate(replications):
                shared = common.setdefault((stage, r), rng.normal(0, 0.3))
                for i, c in enumerate(candidates):
                    out[i, j] = truth[c[0]] * (1 + shared) + rng.normal(0, 0.15)
            return out

        search = enumerate_all(feasible, lambda c, r: noisy("search", c, r), 4)
        finalists = search.finalists(5)
        result = nelson_matejcik(
            lambda idx, reps, finalists=finalists: noisy(
                "cleanup", [finalists[i] for i in idx], reps
            ),
            len(finalists),
            delta,
            CONFIDENCE,
            10,
            5000,
        )
        chosen = finalists[result.chosen][0]
        good += truth[chosen] <= best + delta
    assert _not_below(good, trials), f"within delta of the optimum {good}/{trials}"
