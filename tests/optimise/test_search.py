"""The search: enumeration runs everything; COMPASS stays feasible, repeats, finds the optimum."""

import numpy as np

from simulation.optimise.search import compass, enumerate_all


def _grid(size: int, dims: int) -> np.ndarray:
    return np.indices([size] * dims).reshape(dims, -1).T


def _quadratic(optimum, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    calls = []

    def evaluate(candidates, replications):
        calls.append((list(candidates), replications))
        truth = np.array([sum((np.array(c) - optimum) ** 2) for c in candidates], dtype=float)
        return truth[:, None] + noise * rng.standard_normal((len(candidates), len(replications)))

    return evaluate, calls


def test_enumeration_runs_every_feasible_allocation_with_the_same_replications():
    feasible = _grid(3, 2)
    evaluate, calls = _quadratic(np.array([1, 2]))
    result = enumerate_all(feasible, evaluate, 4)
    assert len(result.records) == 9
    assert all(r.n == 4 for r in result.records.values())
    assert calls == [([tuple(int(i) for i in row) for row in feasible], range(0, 4))]
    assert result.ranked()[0] == (1, 2)


def test_compass_finds_the_optimum_of_a_convex_function_on_a_constrained_grid():
    grid = _grid(15, 3)
    feasible = grid[grid.sum(axis=1) <= 24]  # a linear constraint cuts the grid
    evaluate, _ = _quadratic(np.array([9, 3, 12]), noise=0.5)
    result = compass(feasible, evaluate, 3, 3000, 6, seed=11)
    visited = {tuple(int(i) for i in row) for row in feasible}
    assert set(result.records) <= visited  # never leaves the feasible set
    best = min(result.records, key=lambda c: result.records[c].mean)
    assert sum((np.array(best) - np.array([9, 3, 12])) ** 2) <= 2
    assert len(result.records) < len(feasible) / 4  # it searched, it did not enumerate
    assert result.replications <= 3000


def test_compass_is_repeatable_and_stays_within_its_budget():
    feasible = _grid(12, 2)
    first = compass(feasible, _quadratic(np.array([3, 8]), 1.0, seed=5)[0], 3, 200, 4, seed=2)
    again = compass(feasible, _quadratic(np.array([3, 8]), 1.0, seed=5)[0], 3, 200, 4, seed=2)
    assert list(first.records) == list(again.records)
    assert first.trace == again.trace
    assert first.replications <= 200


def test_compass_stops_when_the_most_promising_area_is_exhausted():
    feasible = _grid(4, 1)
    result = compass(feasible, _quadratic(np.array([2]))[0], 2, 10_000, 2, seed=0)
    assert "exhausted" in result.stopped
    assert min(result.records, key=lambda c: result.records[c].mean) == (2,)
