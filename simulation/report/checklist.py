"""The STRESS-DES reporting checklist, filled from the scenario and the manifest.

Monks et al. (2019), *Strengthening the reporting of empirical simulation studies:
introducing the STRESS guidelines*, Journal of Simulation 13(1):55-67, list what a
report of a discrete-event simulation study must say so that another team could judge
and reproduce it: objectives, logic, data, experimentation, implementation and code
access. Much of it the tool knows (the model's logic, the scenario's parameters, the
replications, warm-up, seed, software versions and run time) and writes here; some of
it only the study's author knows (why the study was done, where the data came from,
how the warm-up was chosen, where the code is published), and those items are marked
for the author to complete, with a draft where the tool has one. The item wording is
a short paraphrase of the guideline's; read the paper for the full text.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulation.report.wording import pathway_label, scenario_label, years_span
from simulation.results.catalogue import KPI_INFO
from simulation.store.reader import ComparisonFolder, ResultsFolder, RunFolder

FILLED = "Filled from the results"
PARTLY = "Partly filled: author to complete"
AUTHOR = "Author to complete"


@dataclass(frozen=True)
class Item:
    """One checklist item: its number, topic, what it asks, the answer and its status."""

    number: str
    topic: str
    asks: str
    answer: str
    status: str


def _runs(results: ResultsFolder) -> tuple[RunFolder, ...]:
    return results.runs if isinstance(results, ComparisonFolder) else (results,)


def _run_length(run: RunFolder) -> str:
    span = years_span(run.financial_years)
    span = f" ({span})" if span else ""
    length = f"{run.horizon_years:g} year{'' if run.horizon_years == 1 else 's'}"
    return (
        f"{length} from {run.start_date:%-d %B %Y}{span}; the clock is in "
        "days. Results are reported by month and by NHS financial year (April to March)."
    )


def _warmup(run: RunFolder) -> str:
    days = float(run.manifest.get("warmup_days") or 0)
    if days <= 0:
        return "No warm-up: the model starts from its initial state on the start date."
    return (
        f"Non-terminating system with a warm-up of {days:,.0f} days ({days / 365.25:.1f} years) "
        "that starts empty and whose output is discarded; initial conditions are "
        "stochastic (the patients in beds at the end of the warm-up)."
    )


def _versions(run: RunFolder) -> str:
    manifest = run.manifest
    deps = manifest.get("dependencies") or {}
    listed = ", ".join(f"{k} {v}" for k, v in deps.items() if v)
    code = manifest.get("code") or {}
    revision = code.get("revision")
    modified = " (with uncommitted changes)" if code.get("modified") else ""
    rev = f"; git revision {revision}{modified}" if revision else ""
    return (
        f"Python {manifest.get('python', 'unknown')} on {manifest.get('platform', 'unknown')}; "
        f"pathways {manifest.get('version', 'unknown')}{rev}; SimPy discrete-event engine; "
        f"libraries: {listed}."
    )


def checklist(results: ResultsFolder) -> list[Item]:
    """The STRESS-DES items with what the results folder can say about each."""
    runs = _runs(results)
    base = runs[0]
    comparison = isinstance(results, ComparisonFolder)
    scenario = base.scenario
    n = base.replications
    seed = base.manifest.get("seed", results.manifest.get("seed"))
    descriptions = "; ".join(
        f"{scenario_label(r.name)}: "
        + (str(r.scenario.get("description") or "").strip() or "(no description)")
        for r in runs
    )
    kpis = ", ".join(
        f"{info.label} ({'number' if info.unit == 'count' else info.unit})"
        for info in KPI_INFO.values()
    )
    units = scenario.get("units") or []
    teams = scenario.get("community_teams") or []
    beds = sum(int(u.get("beds", 0)) for u in units)
    places = sum(int(t.get("places", 0)) for t in teams)
    pathways = ", ".join(pathway_label(p) for p in base.pathways)
    allocation = (scenario.get("bed_management") or {}).get("allocation", "continuous")
    wall = sum(float(r.manifest.get("wall_seconds") or 0) for r in runs)
    workers = base.manifest.get("workers")
    items = [
        Item("1.1", "Purpose of the model", "Background and objectives of the model.",
             f"Draft from the scenario: {descriptions}", PARTLY),
        Item("1.2", "Model outputs", "Every performance measure reported, how and when it is "
             "computed, and how its uncertainty is estimated.",
             f"KPIs per pathway, service, unit, home place and financial year: {kpis}. Each is "
             "computed from the patient-level records or the time-weighted levels of one "
             "replication, after the warm-up; the report gives the mean over replications with "
             "a 95% t confidence interval (mean ± t(0.975, n−1)·sd/√n).", FILLED),
        Item("1.3", "Experimentation aims", "Scenarios investigated, each with a name, "
             "description and rationale.",
             (f"Scenario-based analysis: {descriptions}. Each alternative is compared with "
              f"{scenario_label(base.name)} by paired differences. Rationale for the choice of "
              "scenarios: author to complete.")
             if comparison else f"One scenario: {descriptions}.", PARTLY),
        Item("2.1", "Base model overview diagram", "A diagram and description of the base "
             "model's scope.",
             "Referral from a home place → assessment (not accepted, diverted to a community "
             "team, or accepted) → waiting list → admission to a local unit, another unit in the "
             "footprint, or out of area past a maximum wait → stay → ready for discharge → home, "
             "step-down to a lower-security bed or a community team (delayed discharge while it "
             "has no room) → community episode → possible readmission. Diagram: author to add "
             "(see the project README).", PARTLY),
        Item("2.2", "Base model logic", "How the base model works.",
             f"Pathways modelled: {pathways}; {len(units)} inpatient units with {beds} beds; "
             f"{len(teams)} community teams with {places} places. Money follows every in-area "
             "bed day, out-of-area bed day and funded community place.", FILLED),
        Item("2.3", "Scenario logic", "How each scenario differs from the base case.",
             "See 'What each alternative changes' in Method and assumptions." if comparison
             else "Not applicable: one scenario.", FILLED),
        Item("2.4", "Algorithms", "Algorithms that mimic real processes, in enough detail to "
             "reproduce them.",
             f"Bed allocation: {str(allocation).replace('_', ' ')} (under a panel, urgent "
             "patients placed between panels where switched on); the bed manager goes down the "
             "queue (urgent first, then longest wait) and offers each patient a bed in the unit "
             "linked to the home place, else the nearest unit in the bed-management scope that "
             "takes the patient (sex, clinical stream and age band), up to its staffed beds and "
             "occupancy ceiling. Past the maximum wait for its priority, or at once when no unit "
             "in the footprint takes the patient, a search for an out-of-area bed begins: found "
             "at once where the scenario sets no search, otherwise in rounds that take time and "
             "may fail while the patient keeps waiting; the reason for every out-of-area "
             "placement is recorded. Out-of-area patients are repatriated to a unit that takes "
             "them when a bed frees (if switched on). Reinvestment: at each financial year end "
             "a share of the saving against budget buys community places after a recruitment "
             "lag.", FILLED),
        Item("2.5.1", "Entities", "Entities and their attributes.",
             "Patients (referrals): home place, pathway, service, priority, sex, clinical "
             "stream, age band, length of stay, "
             "step-down route, community episode length, readmission and patience, all drawn "
             "when the referral arrives.", FILLED),
        Item("2.5.2", "Activities", "Activities and the routing into and out of each.",
             "Assessment (delay), waiting, inpatient stay, delayed discharge, community "
             "episode; routing as in 2.1.", FILLED),
        Item("2.5.3", "Resources", "Resources and the activities that use them.",
             f"Beds of {len(units)} units (inpatient stays) and places of {len(teams)} community "
             "teams (diversions, step-downs); out-of-area beds through a search per service "
             "(found at once where the scenario sets no search).", FILLED),
        Item("2.5.4", "Queues", "Queue disciplines, reneging, balking and capacity limits.",
             "One waiting list per service: urgent before routine, then first come first "
             "served; a patient leaves the list when an out-of-area bed is found after the "
             "maximum wait "
             "or, where set, withdraws after a patience time. Step-down waits hold the patient "
             "in the bed.", FILLED),
        Item("2.5.5", "Entry and exit points", "Model boundaries and the arrival mechanism.",
             "Referrals arrive from each home place and service as a Poisson process with annual "
             "growth and optional monthly seasonality; patients leave when not accepted, when "
             "discharged home, at the end of a community episode, or on withdrawal.", FILLED),
        Item("3.1", "Data sources", "Every data source, with sample size, dates and use.",
             "The parameters' sources are listed in Method and assumptions as written in the "
             "scenario file; sample sizes and date ranges: author to complete.", PARTLY),
        Item("3.2", "Pre-processing", "Manipulation of data before use (missing data, "
             "outliers).", "Author to complete.", AUTHOR),
        Item("3.3", "Input parameters", "Every input with its value, distributions and "
             "time-dependent parameters.",
             "See Key parameters in Method and assumptions; the full resolved scenario is "
             "scenario.yaml in the results folder.", FILLED),
        Item("3.4", "Assumptions", "Assumptions made where data or knowledge were lacking.",
             "Parameters whose source says 'assumption' are listed in Key parameters; other "
             "assumptions: author to complete.", PARTLY),
        Item("4.1", "Initialisation", "Terminating or not, warm-up length and how it was "
             "chosen, initial conditions.",
             _warmup(base) + " How the warm-up length was chosen: author to complete.", PARTLY),
        Item("4.2", "Run length", "Run length and time units.", _run_length(base), FILLED),
        Item("4.3", "Estimation approach", "How stochasticity is handled, the number of "
             "replications and why.",
             f"{n} independent replications per scenario, master seed {seed}; replication r "
             "derives its random streams from (seed, r). Scenarios compared share common random "
             "numbers and are compared by paired differences with t intervals. Why this number "
             "of replications: author to complete.", PARTLY),
        Item("5.1", "Software", "Operating system, language, simulation software and library "
             "versions.", _versions(base), FILLED),
        Item("5.2", "Random sampling", "Random number generator and how streams are "
             "distributed.",
             "NumPy PCG64 generators, one per named purpose (arrivals per place and service, "
             "priority, length of stay per service, step-down, community episode, readmission, "
             "...), each seeded by SeedSequence(seed, spawn_key=(replication, hash of the "
             "name)); every draw uses one uniform number through the quantile function, so "
             "scenarios share common random numbers.", FILLED),
        Item("5.3", "Model execution", "Event processing mechanism, priority rules, parallel "
             "execution.",
             "Process interaction on the SimPy event-scheduling engine; priorities as in 2.5.4; "
             f"replications run on {workers or 'one or more'} local worker process(es), with "
             "results independent of the number of workers.", FILLED),
        Item("5.4", "System specification", "Run time and hardware.",
             f"Wall time {wall:,.0f} seconds for all replications on "
             f"{base.manifest.get('platform', 'an unrecorded platform')}. Processor and memory: "
             "author to complete.", PARTLY),
        Item("6.1", "Computer model sharing statement", "How to obtain the model and software "
             "to reproduce the results.",
             f"pathways {base.manifest.get('version', '')}, revision "
             f"{(base.manifest.get('code') or {}).get('revision') or 'unrecorded'}; the results "
             "folder holds the resolved scenario and manifest. Public repository and licence: "
             "author to complete.", PARTLY),
    ]  # fmt: skip
    return items
