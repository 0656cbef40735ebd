"""The one set of rules for printed numbers, shared by the terminal, the report and the API.

An interval is cut where the quantity ends, in one place; "the same in every
replication" is said only of numbers that are the same; a row of a table shares one
precision; a difference that is exactly zero in every replication reads *identical*.
"""

from __future__ import annotations

import pandas as pd
from rich.console import Console

from simulation import load
from simulation.cli.terminal import comparison_tables, format_estimate
from simulation.report import wording
from simulation.report.tables import _cell
from tests.builders import flow_scenario


def test_same_in_every_replication_only_when_the_values_are_identical():
    # A caseload that ranged 9.7 to 12.4 has an interval that can round to its mean at
    # the scale of a larger reference; it must still be printed as an interval.
    text = wording.estimate("community_caseload_mean", 11.02, 10.96, 11.08, ref=40)
    assert wording.SAME not in text
    low, high = text.split("95% CI ")[1].rstrip(")").split(" to ")
    assert low != high
    spend = wording.estimate("cost_total_gbp", 4_510_000.0, 4_470_000.0, 4_550_000.0)
    assert wording.SAME not in spend and "95% CI" in spend
    assert wording.SAME in wording.estimate("beds", 20.0, 20.0, 20.0)


def test_a_bound_that_is_not_zero_is_not_printed_as_zero():
    text = wording.estimate("pct_change", -1.1, -2.3, -0.02, signed=True)
    assert text.split(" to ")[1] != "0%)", text


def test_intervals_are_cut_where_the_quantity_ends_in_the_terminal_too():
    assert format_estimate("ooa_bed_days", 100.0, -20.0, 220.0) == "100 (0 to 220)"
    occupancy = format_estimate("occupancy_pct", 99.8, 99.0, 100.6)
    assert "100.6" not in occupancy and occupancy.endswith("to 100.0%)")
    # The report's cell follows the same rule.
    assert _cell("occupancy_pct", 99.8, 99.0, 100.6)[1] == "(99.0% to 100.0%)"


def test_a_row_shares_one_precision():
    assert wording.quantity("wait_mean_days", 8.1, ref=12.3) == "8"
    assert wording.quantity("wait_mean_days", 8.1, ref=9.0) == "8.1"


def test_an_identical_pathway_reads_identical_not_no_clear_difference():
    scenario = load(flow_scenario(horizon_years=1.0))
    rows = []
    for kpi, diff, sd, clear in (
        ("admissions", 0.0, 0.0, False),
        ("ooa_bed_days", -10.0, 4.0, False),
    ):
        rows.append(
            {
                "alternative": "alt",
                "pathway": "adult_secure",
                "service": "all",
                "unit": "all",
                "place": "all",
                "period": "horizon",
                "kpi": kpi,
                "base_mean": 50.0,
                "alt_mean": 50.0 + diff,
                "diff_mean": diff,
                "diff_sd": sd,
                "diff_ci_low": diff - 2 * sd,
                "diff_ci_high": diff + 2 * sd,
                "pct_change": 100 * diff / 50,
                "clear": clear,
            }
        )
    (table,) = comparison_tables(pd.DataFrame(rows), scenario, ["alt"])
    console = Console(width=200, record=True)
    console.print(table)
    text = console.export_text()
    admissions = next(line for line in text.splitlines() if "Admissions" in line)
    days = next(line for line in text.splitlines() if "Out-of-area bed days" in line)
    assert wording.IDENTICAL in admissions and wording.NO_CLEAR not in admissions
    assert wording.NO_CLEAR in days


def test_an_interval_of_rounding_noise_is_the_same_in_every_replication():
    # Sums taken in a different order differ in the last bits, not in any replication.
    text = wording.estimate("pct_change", 1.4559, 1.4559 - 1e-13, 1.4559 + 1e-13)
    assert text == f"1.5% ({wording.SAME})"
