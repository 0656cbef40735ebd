"""Several objectives: the Pareto set, reported whole, from fresh replications."""

import json

import pandas as pd
import pytest

from simulation.core.problems import InputError
from simulation.optimise.optimiser import check, optimise
from simulation.optimise.selection import pareto_front
from simulation.report.publish import write_report

PARETO = """\
objective:
  pareto:
    - {kpi: ooa_bed_days, pathway: all}
    - {kpi: cost_total_gbp, pathway: all}
"""


def _pareto_file(tiny):
    text = tiny.read_text()
    start = text.index("objective:")
    end = text.index("search:")
    text = text[:start] + PARETO + text[end:]
    tiny.write_text(text.replace("selection: {delta: 20, ", "selection: {"))
    return tiny


def test_the_pareto_set_is_reported_whole_with_no_recommendation(tiny, tmp_path):
    path = _pareto_file(tiny)
    result = optimise(path, tmp_path / "results", workers=1)
    info = json.loads((result.folder / "selection.json").read_text())
    assert info["objective"]["kind"] == "pareto" and info["recommended_file"] is None
    assert not (result.folder / "recommended.yaml").exists()
    members = [m["candidate"] for m in info["members"]]
    assert 1 <= len(members) <= 3
    # The members are exactly the non-dominated allocations by the search's means.
    search = pd.read_csv(result.folder / "search_values.csv")
    assert search["candidate"].nunique() == 10
    cleanup = pd.read_csv(result.folder / "cleanup_values.csv")
    for member in info["members"]:
        mine = cleanup[cleanup["candidate"] == member["candidate"]]
        today = cleanup[cleanup["candidate"] == "today"]
        first = member["effects"][0]["versus_today"]["mean"]
        expected = mine["ooa_bed_days:all"].mean() - today["ooa_bed_days:all"].mean()
        assert first == pytest.approx(expected)
    page = write_report(result.folder).html.read_text()
    assert "form the Pareto set" in page and "The Pareto set, on the clean-up replications" in page


def test_members_are_not_dominated_on_the_search_means(tiny, tmp_path):
    from simulation.optimise.evaluate import Evaluations, measures_of
    from simulation.optimise.pareto import pareto_members
    from simulation.optimise.search import enumerate_all

    problem, space = check(_pareto_file(tiny))
    measures = measures_of(problem)
    evaluations = Evaluations(tmp_path, space, measures, workers=1)
    index = [measures.index(("ooa_bed_days", "all")), measures.index(("cost_total_gbp", "all"))]

    def first(candidates, replications):
        return evaluations.measure("search", 1, list(candidates), replications)[..., index[0]]

    search = enumerate_all(space.feasible, first, 3)
    members = pareto_members(problem, space, search, evaluations)
    candidates = list(search.records)
    means = evaluations.measure("search", 1, candidates, range(3))[..., index].mean(axis=1)
    front = {candidates[i] for i in pareto_front(means)}
    assert set(members) <= front and members
    for member in members:
        mine = means[candidates.index(member)]
        assert not any(((m <= mine).all() and (m < mine).any()) for m in means)


def test_a_pareto_set_too_large_to_enumerate_is_refused(tiny):
    path = _pareto_file(tiny)
    path.write_text(
        path.read_text().replace(
            "search: {replications: 3,", "search: {enumerate_up_to: 4, replications: 3,"
        )
    )
    with pytest.raises(InputError) as caught:
        check(path)
    assert (
        "a Pareto set is found by running every feasible allocation, and this file has 10"
        in str(caught.value)
    )


def test_a_single_objective_needs_delta(tiny):
    tiny.write_text(tiny.read_text().replace("selection: {delta: 20, ", "selection: {"))
    with pytest.raises(InputError) as caught:
        check(tiny)
    assert "selection: missing 'delta'" in str(caught.value)
