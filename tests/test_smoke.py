"""The shipped baseline loads and one short replication runs end to end."""

from simulation import load_scenario, run_experiment
from simulation.scenario.loading import derive


def test_baseline_runs_one_short_replication():
    scenario = derive(
        load_scenario("scenarios/baseline.yaml"), {"horizon_years": 1.0, "warmup_days": 365.0}
    )
    result = run_experiment(scenario, replications=1, workers=1)
    referrals = result.summary.query(
        "kpi == 'referrals' and period == 'horizon' and service == 'all' and place == 'all'"
    )
    assert set(referrals["pathway"]) == {"adult_secure", "camhs_t4", "adult_ed"}
    assert (referrals["mean"] > 0).all()
