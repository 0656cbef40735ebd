"""A tiny collaborative and an optimisation over it, written to a temporary folder."""

from pathlib import Path

import pytest
import yaml

from simulation.api import demo_scenario

OPTIMISATION = """\
name: tiny
base: base.yaml
horizon_years: 1
budget: {gbp_per_year: 120000}
variables:
  - {team: Day Service, min: 0, max: 8, step: 2}
  - {unit: Unit, min: 9, max: 11, step: 1, cost_per_unit_gbp_per_year: 100000}
constraints:
  - {terms: {Day Service: 1, Unit: 2}, at_most: 26, description: staff}
objective:
  minimise:
    - {kpi: ooa_bed_days, pathway: all}
search: {replications: 3, finalists: 3}
selection: {delta: 20, first_stage: 5, max_replications: 12}
"""


def write_base(folder: Path) -> Path:
    data = demo_scenario("tiny_base")
    data["warmup_days"] = 60
    data["community_teams"] = [
        {
            "name": "Day Service",
            "pathway": "adult_ed",
            "places": 0,
            "episode_length": {"distribution": "gamma", "mean": 90, "sd": 30},
            "cost_per_place_per_year_gbp": 20000,
        }
    ]
    data["pathways"]["adult_ed"]["diversion"] = {"share": 0.3, "team": "Day Service"}
    data["pathways"]["adult_ed"]["services"]["inpatient"]["referral_rate_per_100k_per_year"] = 40
    path = folder / "base.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """The path of the tiny optimisation file (its base beside it)."""
    write_base(tmp_path)
    path = tmp_path / "tiny.yaml"
    path.write_text(OPTIMISATION)
    return path
