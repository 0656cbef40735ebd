"""Finding good allocations: every feasible one when there are few, else a noise-aware search.

When the feasible set is small (``search.enumerate_up_to``) every allocation is run with
the same replications (common random numbers) and the best-looking go to the clean-up.

Otherwise the search is COMPASS (Hong and Nelson 2006, "Discrete optimization via
simulation using COMPASS", Operations Research 54(1):115-129), written here because it
fits the problem as no general library does: the decisions are integers on a grid
(places, beds, steps of a share) under linear constraints, every evaluation is noisy,
and a revisited allocation accumulates replications instead of being judged on one.
Black-box optimisers (Nevergrad, BoTorch) treat constraints as penalties, ask for
continuous or categorical spaces and would add a large dependency for a search of a
few hundred points. Each iteration:

1. the incumbent is the visited allocation with the smallest mean over all its
   replications so far;
2. the *most promising area* is every feasible allocation at least as close to the
   incumbent as to any other visited allocation (distance in steps);
3. ``samples_per_iteration`` unvisited allocations are drawn uniformly from it and run
   with ``replications`` replications each; the incumbent gets more replications as the
   search goes on, so that a lucky start does not stay the incumbent;
4. it stops when the replication budget is spent or the most promising area holds no
   unvisited allocation (the incumbent is then a local optimum: every neighbour has
   been run).

All replications are common random numbers: replication ``r`` of every allocation sees
the same patients. The sampling uses its own generator seeded from the search seed, and
every decision depends only on results that are themselves determined by (scenario,
seed, replication), so a resumed search takes the same path.

Pure: it calls ``evaluate`` and keeps a trace; it runs nothing itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Candidate = tuple[int, ...]
Evaluate = Callable[[Sequence[Candidate], range], np.ndarray]
"""``evaluate(candidates, replications)``: objective values (smaller is better), one row
per candidate, one column per replication."""


@dataclass
class Record:
    """A visited allocation's objective values so far, by replication."""

    values: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Replications run."""
        return len(self.values)

    @property
    def mean(self) -> float:
        """Mean over its replications."""
        return float(np.mean(self.values))

    @property
    def se(self) -> float:
        """Standard error of the mean (nan with one replication)."""
        return float(np.std(self.values, ddof=1) / math.sqrt(self.n)) if self.n > 1 else math.nan


@dataclass
class SearchResult:
    """What the search ran and found."""

    method: str
    """``enumeration`` or ``compass``."""
    records: dict[Candidate, Record]
    trace: list[dict[str, object]]
    replications: int
    """Replications run by the search, over all candidates."""
    stopped: str
    """Why the search stopped, in words."""
    feasible: int

    def ranked(self) -> list[Candidate]:
        """Visited candidates, best-looking first (ties in the order visited)."""
        return sorted(self.records, key=lambda c: self.records[c].mean)

    def finalists(self, k: int) -> list[Candidate]:
        """The ``k`` best-looking candidates."""
        return self.ranked()[:k]


def _run(evaluate: Evaluate, records: dict[Candidate, Record], wanted: dict[Candidate, int]) -> int:
    """Bring each candidate to ``wanted`` replications; return how many were run.

    Candidates that need the same replications are run together, so that common
    random numbers hold within each batch.
    """
    groups: dict[tuple[int, int], list[Candidate]] = {}
    for candidate, target in wanted.items():
        have = records.setdefault(candidate, Record()).n
        if target > have:
            groups.setdefault((have, target), []).append(candidate)
    used = 0
    for (have, target), candidates in groups.items():
        values = np.asarray(evaluate(candidates, range(have, target)), dtype=float)
        for candidate, row in zip(candidates, values, strict=True):
            records[candidate].values.extend(float(v) for v in row)
        used += len(candidates) * (target - have)
    return used


def enumerate_all(feasible: np.ndarray, evaluate: Evaluate, replications: int) -> SearchResult:
    """Run every feasible allocation with the same replications."""
    candidates = [tuple(int(i) for i in row) for row in feasible]
    records: dict[Candidate, Record] = {}
    used = _run(evaluate, records, dict.fromkeys(candidates, replications))
    trace: list[dict[str, object]] = [
        {
            "iteration": 0,
            "candidate": c,
            "replications": records[c].n,
            "mean": records[c].mean,
            "event": "enumerated",
        }
        for c in candidates
    ]
    return SearchResult(
        "enumeration", records, trace, used, "every feasible allocation was run", len(candidates)
    )


def compass(
    feasible: np.ndarray,
    evaluate: Evaluate,
    replications: int,
    budget: int,
    samples: int,
    seed: int,
    start: Sequence[Candidate] = (),
) -> SearchResult:
    """COMPASS over the feasible points (see the module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC0A5]))
    points = np.asarray(feasible, dtype=np.int64)
    nearest = np.full(len(points), np.inf)
    visited: list[Candidate] = []
    index = {tuple(int(i) for i in row): j for j, row in enumerate(points)}
    records: dict[Candidate, Record] = {}
    trace: list[dict[str, object]] = []

    def visit(candidate: Candidate) -> None:
        distance = np.sqrt(((points - np.asarray(candidate)) ** 2).sum(axis=1))
        closer = distance < nearest
        nearest[closer] = distance[closer]
        visited.append(candidate)

    first = [c for c in start if c in index]
    if not first:
        first = [tuple(int(i) for i in points[rng.integers(len(points))])]
    for candidate in first:
        visit(candidate)
    used = _run(evaluate, records, dict.fromkeys(first, replications))
    iteration = 0
    stopped = "the replication budget was spent"
    while True:
        iteration += 1
        incumbent = min(visited, key=lambda c: records[c].mean)
        top_up = min(4 * replications, replications + iteration)
        if used + top_up - records[incumbent].n > budget:
            break
        used += _run(evaluate, records, {incumbent: top_up})
        incumbent = min(visited, key=lambda c: records[c].mean)
        me = np.sqrt(((points - np.asarray(incumbent)) ** 2).sum(axis=1))
        area = np.flatnonzero((me <= nearest + 1e-9) & (nearest > 0))
        trace.append(
            {
                "iteration": iteration,
                "candidate": incumbent,
                "replications": records[incumbent].n,
                "mean": records[incumbent].mean,
                "event": f"incumbent; most promising area {len(area)} unvisited",
            }
        )
        if len(area) == 0:
            stopped = (
                "the most promising area was exhausted: every neighbour of the best "
                "allocation found had been run"
            )
            break
        take = min(samples, len(area), (budget - used) // replications)
        if take <= 0:
            break
        chosen = rng.choice(area, size=take, replace=False)
        new = [tuple(int(i) for i in points[j]) for j in sorted(chosen)]
        used += _run(evaluate, records, dict.fromkeys(new, replications))
        for candidate in new:
            visit(candidate)
            trace.append(
                {
                    "iteration": iteration,
                    "candidate": candidate,
                    "replications": records[candidate].n,
                    "mean": records[candidate].mean,
                    "event": "sampled",
                }
            )
    return SearchResult("compass", records, trace, used, stopped, len(points))
