"""The optimisation section of the board report: the recommended split and how sure it is.

A report of a folder written by ``pathways optimise`` opens with this section, before
the comparison of today's plan, the chosen allocation and the runner-up that the rest of
the report describes. It says, in a planner's words, what the search did, which
allocation was chosen from how many finalists and with what guarantee, the recommended
split and its cost, its effect against today's plan and against the runner-up with 95%
intervals (in the objective's units and in pounds of total spend), and what the search
did not consider. A table lists every finalist with its simultaneous interval against
the best of the others.

Every number comes from the optimisation folder's ``selection.json`` and
``selection.csv`` (read by :mod:`simulation.store.optimisation`), which hold the
clean-up replications' statistics only; nothing is recomputed.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from simulation.report.narrative import Quantity, Statement
from simulation.report.tables import Cell, Table
from simulation.store.optimisation import SELECTION, SELECTION_TABLE, OptimisationFolder

HEADING = "Recommended allocation"
LIMITS = "What the optimisation did not consider"


def _date(text: str) -> str:
    day = dt.date.fromisoformat(text)
    return f"{day.day} {day:%B %Y}"


def _money(value: float) -> str:
    sign = "−" if value < 0 else ""
    value = abs(value)
    if value >= 1e6:
        return f"{sign}£{value / 1e6:,.2f}m"
    return f"{sign}£{value:,.0f}"


def _signed_money(value: float) -> str:
    return ("+" if value >= 0 else "") + _money(value)


def _number(value: float, unit: str) -> str:
    if unit.startswith("£"):
        return _money(value)
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return text.replace("-", "−")


def _signed(value: float, unit: str) -> str:
    if unit.startswith("£"):
        return _signed_money(value)
    return ("+" if value >= 0 else "") + _number(value, unit)


def _interval(diff: dict[str, Any], unit: str, money: bool = False) -> str:
    show = _signed_money if money else (lambda v: _signed(v, unit))
    if math.isnan(float(diff["low"])):
        return show(float(diff["mean"]))
    low, high = show(float(diff["low"])), show(float(diff["high"]))
    return f"{show(float(diff['mean']))} (95% CI {low} to {high})"


def _quantity(
    name: str, alternative: str, kpi: str, column: str, diff: dict[str, Any], printed: str
) -> Quantity:
    return Quantity(
        table=SELECTION,
        scenario=name,
        alternative=alternative,
        pathway="all",
        kpi=kpi,
        period="judged years",
        column=column,
        factor=1.0,
        value=float(diff["mean"]),
        low=float(diff.get("low", math.nan)),
        high=float(diff.get("high", math.nan)),
        printed=printed,
    )


def _unit_words(unit: str) -> str:
    return unit.removeprefix("£").strip() if unit.startswith("£") else unit


def _quantity_words(objective: dict[str, Any]) -> str:
    """What the objective measures: ``out-of-area bed days (all pathways) a year``."""
    quantity = str(objective.get("quantity") or "the objective")
    return quantity.removesuffix(" a year").replace(" in pounds a year of ", " in pounds of ")


def _clear(diff: dict[str, Any]) -> bool:
    low, high = float(diff["low"]), float(diff["high"])
    return not (low <= 0 <= high)


def _question(info: dict[str, Any]) -> str:
    budget = info["budget"]
    amount = (
        _money(float(budget["amount"])) + " a year"
        if budget["unit"] == "gbp"
        else f"{float(budget['amount']):,.0f} community places"
    )
    return f"how to split {amount} from {_date(info['takes_effect'])}"


def _pareto_statements(info: dict[str, Any]) -> list[Statement]:
    search = info["search"]
    out = [
        Statement(
            HEADING,
            f"The question: {_question(info)}, judged on {', '.join(info['judged_years'])} "
            f"by {info['objective']['label']}. {search['feasible']:,} allocations fit the "
            f"budget and constraints; every one was run, with {search['replications_each']} "
            "replications each on common random numbers.",
        ),
        Statement(
            HEADING,
            f"{info['statement']} They were run again with "
            f"{info['selection']['replications']} fresh replications each; the figures "
            "below are from those.",
        ),
    ]
    for member in info["members"]:
        effects = []
        quantities = []
        for effect in member["effects"]:
            unit = str(effect["unit"])
            text = _interval(effect["versus_today"], unit)
            effects.append(f"{effect['label']} {text} {unit}")
            quantities.append(
                _quantity(
                    str(info["name"]), str(member["candidate"]), str(effect["label"]),
                    "diff_mean", effect["versus_today"], text,
                )
            )  # fmt: skip
        spend = _interval(member["spend_gbp"], "£", money=True)
        quantities.append(
            _quantity(str(info["name"]), str(member["candidate"]), "cost_total_gbp",
                      "diff_mean", member["spend_gbp"], spend)
        )  # fmt: skip
        out.append(
            Statement(
                HEADING,
                f"Allocation {member['candidate']} ({member['words']}; its places cost "
                f"{_signed_money(float(member['cost_gbp_per_year']))} a year): against "
                f"today's plan, {'; '.join(effects)}; total spend {spend} a year.",
                tuple(quantities),
            )
        )
    out += [Statement(LIMITS, str(note)) for note in info.get("not_considered", [])]
    return out


def optimisation_statements(folder: OptimisationFolder) -> list[Statement]:
    """The section's sentences, each with the numbers it quotes."""
    info = folder.selection
    if info["objective"]["kind"] == "pareto":
        return _pareto_statements(info)
    name = str(info["name"])
    objective = info["objective"]
    unit = str(objective["unit"])
    search = info["search"]
    selection = info["selection"]
    chosen = info["chosen"]
    runner = info["runner_up"]
    how = (
        "every one of them was run"
        if search["method"] == "enumeration"
        else f"a COMPASS search (Hong and Nelson 2006) ran {search['evaluated']:,} of them"
    )
    out = [
        Statement(
            HEADING,
            f"The question: {_question(info)}, so as to get "
            f"the {objective['label']}, judged on {', '.join(info['judged_years'])}. "
            f"{search['feasible']:,} allocations fit the budget and constraints; {how}, "
            f"with {search['replications_each']} replications each on common random numbers.",
        ),
        Statement(
            HEADING,
            f"The best-looking {selection['finalists']} were run again with "
            f"{selection['replications']} fresh replications each and compared by "
            f"{selection['procedure']}. {info['statement']}",
        ),
        Statement(
            HEADING,
            f"Recommended split: {chosen['words']}. At each team's cost per place its places "
            f"cost {_signed_money(float(chosen['cost_gbp_per_year']))} a year against today's "
            "plan. "
            f"It is written as an ordinary scenario file, {info['recommended_file']}, in the "
            "optimisation folder.",
        ),
    ]
    today = info["versus_today"]
    effect = _interval(today["objective"], unit)
    spend = _interval(today["spend_gbp"], unit, money=True)
    verdict = "" if _clear(today["objective"]) else " (no clear difference)"
    out.append(
        Statement(
            HEADING,
            f"Against today's plan it changes {_quantity_words(objective)} by {effect} "
            f"{_unit_words(unit)}"
            f"{verdict}, and total spend by {spend} a year.",
            (
                _quantity(
                    name,
                    str(chosen["candidate"]),
                    "objective",
                    "diff_mean",
                    today["objective"],
                    effect,
                ),
                _quantity(
                    name,
                    str(chosen["candidate"]),
                    "cost_total_gbp",
                    "diff_mean",
                    today["spend_gbp"],
                    spend,
                ),
            ),
        )
    )
    if runner["candidate"] != chosen["candidate"]:
        versus = info["versus_runner_up"]
        effect = _interval(versus["objective"], unit)
        spend = _interval(versus["spend_gbp"], unit, money=True)
        verdict = "" if _clear(versus["objective"]) else " (no clear difference)"
        out.append(
            Statement(
                HEADING,
                f"The runner-up was {runner['words']}; the recommended split differs from it "
                f"by {effect} {_unit_words(unit)}{verdict} and {spend} a year in total spend.",
                (
                    _quantity(
                        name,
                        str(runner["candidate"]),
                        "objective",
                        "diff_mean",
                        versus["objective"],
                        effect,
                    ),
                    _quantity(
                        name,
                        str(runner["candidate"]),
                        "cost_total_gbp",
                        "diff_mean",
                        versus["spend_gbp"],
                        spend,
                    ),
                ),
            )
        )
    if selection.get("capped"):
        out.append(
            Statement(
                HEADING,
                f"The procedure asked for {selection['required']:,} replications per finalist "
                f"to separate them by {_number(float(selection['delta']), unit)}; the cap of "
                f"{selection['replications']:,} stopped it short, so the guarantee holds only "
                f"for the wider margin stated above.",
            )
        )
    out += [Statement(LIMITS, str(note)) for note in info.get("not_considered", [])]
    return out


def _pareto_table(folder: OptimisationFolder) -> Table:
    info = folder.selection
    labels = [str(v) for v in info["today"]["allocation"]]
    terms = info["objective"]["terms"]
    rows: list[tuple[Cell, ...]] = []
    for member in info["members"]:
        allocation = ", ".join(f"{float(member['allocation'][label]):g}" for label in labels)
        cells: list[Cell] = [
            (f"Pareto {member['candidate']}", ""),
            (allocation, ""),
            (_signed_money(float(member["cost_gbp_per_year"])), ""),
        ]
        for effect in member["effects"]:
            unit = str(effect["unit"])
            diff = effect["versus_today"]
            cells.append(
                (
                    _signed(float(diff["mean"]), unit),
                    f"{_signed(float(diff['low']), unit)} to {_signed(float(diff['high']), unit)}",
                )
            )
        rows.append(tuple(cells))
    return Table(
        key="optimisation_pareto",
        title="The Pareto set, on the clean-up replications",
        caption=(
            f"Allocation: {', '.join(labels)}. Each KPI's paired difference against "
            f"today's plan with its 95% interval. Data: {SELECTION_TABLE}."
        ),
        header=(
            "Allocation",
            "Values",
            "Cost against today",
            *(f"{t['label']} against today ({t['unit']})" for t in terms),
        ),
        rows=tuple(rows),
        data=folder.table.copy(),
    )


def optimisation_table(folder: OptimisationFolder) -> Table:
    """Every finalist (and today's plan) with its clean-up statistics."""
    info = folder.selection
    if info["objective"]["kind"] == "pareto":
        return _pareto_table(folder)
    unit = str(info["objective"]["unit"])
    labels = [str(v["label"]) for v in info["variables"]]
    frame = folder.table
    rows: list[tuple[Cell, ...]] = []
    roles = {"chosen": "Chosen", "runner_up": "Runner-up", "finalist": "Finalist"}
    for _, row in frame.iterrows():
        role = roles.get(str(row["role"]), str(row["role"]))
        name = "Today's plan" if row["role"] == "today" else f"{role} {row['candidate']}"
        allocation = ", ".join(f"{float(row[label]):g}" for label in labels)
        if row["role"] == "today":
            mcb: Cell = ("–", "")
            versus: Cell = ("–", "")
        else:
            low = _signed(float(row["mcb_low"]), unit)
            mcb = (f"{low} to {_signed(float(row['mcb_high']), unit)}", "")
            versus = (
                _signed(float(row["vs_today_mean"]), unit),
                f"{_signed(float(row['vs_today_low']), unit)} to "
                f"{_signed(float(row['vs_today_high']), unit)}",
            )
        rows.append(
            (
                (name, ""),
                (allocation, ""),
                (_signed_money(float(row["cost_gbp_per_year"])), ""),
                (_number(float(row["mean"]), unit), ""),
                mcb,
                versus,
            )
        )
    data = frame.copy()
    return Table(
        key="optimisation_finalists",
        title="Finalists of the optimisation, on the clean-up replications",
        caption=(
            f"Allocation: {', '.join(labels)}. Objective: {info['objective']['label']} "
            f"({unit}). 'Against the best of the others' are simultaneous "
            f"{float(info['selection']['confidence']):.0%} intervals (multiple comparisons "
            "with the best): an interval whose upper end is at most the margin means the "
            f"finalist is within it of the best. Data: {SELECTION_TABLE}."
        ),
        header=(
            "Finalist",
            "Allocation",
            "Cost against today",
            str(info["objective"].get("quantity") or "Objective").capitalize(),
            "Against the best of the others",
            "Against today's plan (95% CI)",
        ),
        rows=tuple(rows),
        data=pd.DataFrame(data),
    )
