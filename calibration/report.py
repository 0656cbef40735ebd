"""The calibration report: how well the fitted model matches the extract, in HTML and PNG.

A board is asked to trust a fitted model; the report shows why it may. For each
service, the Kaplan-Meier length of stay (the data, honest about open stays) with the
four fitted curves and the one chosen by AIC; for each pathway, monthly new referrals
observed against fitted; the back-test, month by month, of admissions, occupied beds
and patients out of area, with the error stated; and tables of every fitted value with
its 95% confidence interval and n, the goodness-of-fit statements and the census the
fitted scenario starts from. The figures are drawn by :mod:`calibration.figures`; the
numbers behind each table are written beside it as CSV. The page is laid out in the
simulation report's house style, with its stylesheet (:data:`simulation.report.html.CSS`).
"""

from __future__ import annotations

import datetime as dt
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.backtest import ALL, BackTest
from calibration.estimate import Estimate, significant
from calibration.figures import (
    Figure,
    backtest_figure,
    referrals_figure,
    service_label,
    survival_figure,
)
from calibration.fitting import Fit
from simulation.core.safetext import write_csv
from simulation.report.html import CSS
from simulation.scenario.schema import PATHWAY_LABELS


# -- tables ---------------------------------------------------------------------------------
def parameter_table(fit: Fit) -> pd.DataFrame:
    """Every fitted value with its 95% CI, n and the base scenario's value."""
    rows: list[dict[str, object]] = []
    base = fit.base

    def add(
        pathway: str, service: str, parameter: str, est: object, n: int, base_value: object
    ) -> None:
        assert isinstance(est, Estimate)
        rows.append(
            {
                "pathway": pathway,
                "service": service,
                "parameter": parameter,
                "estimate": est.value,
                "ci_low": est.low,
                "ci_high": est.high,
                "n": n,
                "base": base_value,
            }
        )

    for p, pf in fit.pathways.items():
        spec = base.pathways[p]
        if pf.rates.growth is not None:
            add(
                p,
                ALL,
                "annual growth",
                pf.rates.growth,
                sum(pf.rates.referrals.values()),
                spec.annual_growth,
            )
        add(p, ALL, "urgent share", pf.urgent.estimate, pf.urgent.n, spec.priority_mix.urgent)
        add(
            p,
            ALL,
            "not accepted share",
            pf.not_accepted.estimate,
            pf.not_accepted.n,
            spec.not_accepted_share,
        )
        if spec.diversion is not None:
            add(
                p, ALL, "diversion share", pf.diverted.estimate, pf.diverted.n, spec.diversion.share
            )
        if pf.readmission is not None:
            add(
                p,
                ALL,
                "readmission probability",
                pf.readmission.probability,
                pf.readmission.n,
                spec.readmission.probability,
            )
        if pf.assessment is not None:
            add(
                p,
                ALL,
                f"assessment delay mean ({pf.assessment.chosen})",
                pf.assessment.best.mean,
                len(pf.assessment.durations),
                spec.assessment_delay.mean_days,
            )
        for priority, mw in pf.max_wait.items():
            base_wait = getattr(spec.max_wait_days, priority, None)
            add(p, ALL, f"max wait {priority} (days)", mw.days, mw.n, base_wait)
        for s in spec.services:
            svc = spec.services[s]
            add(
                p,
                s,
                "referral rate per 100k a year",
                pf.rates.rate_per_100k[s],
                pf.rates.referrals[s],
                svc.referral_rate_per_100k_per_year,
            )
            sf = fit.services.get((p, s))
            if sf is None:
                continue
            if sf.los is not None:
                for name, est in sf.los.best.parameter_estimates().items():
                    add(
                        p,
                        s,
                        f"length of stay {name} ({sf.los.chosen})",
                        est,
                        len(sf.los.durations),
                        svc.length_of_stay.mean_days if name == "mean" else None,
                    )
            base_routes = {r.to: r.probability for r in svc.step_down}
            for to, share in sf.routes.items():
                if to != "home":
                    add(
                        p,
                        s,
                        f"step-down to {to}",
                        share.estimate,
                        share.n,
                        base_routes.get(to, 0.0),
                    )
            add(
                p,
                s,
                "out-of-area share of admissions",
                sf.out_of_area.estimate,
                sf.out_of_area.n,
                None,
            )
    return pd.DataFrame(rows)


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return significant(value, 3)
    return html.escape(str(value))


def html_table(frame: pd.DataFrame, columns: dict[str, str]) -> str:
    """An HTML table of ``frame``'s ``columns`` (name -> heading)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in columns.values())
    body = []
    for values in frame.to_dict("records"):
        cells = "".join(f"<td>{_fmt(values[c])}</td>" for c in columns)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def backtest_summary(bt: BackTest) -> str:
    """Two sentences stating the back-test error for occupancy and admissions."""
    e = bt.errors[bt.errors["service"] == ALL]
    parts = []
    for measure, what in (("occupied_beds", "occupied beds"), ("admissions", "admissions")):
        rows = e[e["measure"] == measure]
        if rows.empty:
            continue
        worst = rows.iloc[int(np.argmax(rows["relative_mae"].to_numpy()))]
        bias = rows.iloc[int(np.argmax(np.abs(rows["bias"].to_numpy())))]
        parts.append(
            f"Monthly {what}: mean absolute error at most {worst['relative_mae']:.1%} of the "
            f"observed monthly mean ({PATHWAY_LABELS.get(str(worst['pathway']), '')}); "
            f"over the period the simulated total is within {abs(bias['bias']):.1%} of the "
            "observed for every pathway."
        )
    return " ".join(parts)


LABEL_COLUMNS = """
th:nth-child(2), td:nth-child(2), th:nth-child(3), td:nth-child(3) { text-align: left; }
"""
"""The one rule of this page's own: its tables name a pathway, a service and what was
measured in their first three columns. The rest is the simulation report's stylesheet."""


def write_report(
    fit: Fit,
    backtest: BackTest | None,
    folder: Path,
    fitted_path: Path,
    census_summary: str,
    command: str,
) -> Path:
    """Write the report's PNGs, CSVs and ``report.html`` into ``folder``; return the page."""
    folder.mkdir(parents=True, exist_ok=True)
    extract = fit.extract
    figures: list[Figure] = []
    los = [
        (service_label(p, s), sf.los) for (p, s), sf in fit.services.items() if sf.los is not None
    ]
    found = survival_figure(
        los,
        folder,
        "length_of_stay.png",
        "Length of stay: Kaplan-Meier and fitted",
        "days in a bed",
    )
    if found is not None:
        figures.append(found)
    figures.append(referrals_figure(fit, folder))
    assessment = [
        (PATHWAY_LABELS.get(p, p), pf.assessment)
        for p, pf in fit.pathways.items()
        if pf.assessment is not None
    ]
    found = survival_figure(
        assessment,
        folder,
        "assessment_delay.png",
        "Assessment delay: Kaplan-Meier and fitted",
        "days from referral to decision",
    )
    if found is not None:
        figures.append(found)
    parameters = parameter_table(fit)
    write_csv(parameters, folder / "parameters.csv")
    title = f"Calibration of {html.escape(fitted_path.name)}"
    banner = [
        "<p class='kicker'>Pathways calibration report</p>",
        f"<h1>{title}</h1>",
        f"<p>Extract <code>{html.escape(extract.file)}</code>: {len(extract.rows):,} rows, "
        f"period {extract.start:%d %b %Y} to {extract.extract_date:%d %b %Y}"
        + _inferred(extract.start_inferred, extract.extract_date_inferred)
        + f". Base scenario <code>{html.escape(fit.base.name)}</code>. Made by "
        f"<code>{html.escape(command)}</code> on {dt.date.today():%d %b %Y}.</p>",
    ]
    sections = []
    if backtest is not None:
        sections.append(
            f"<p class='lead'><b>Back-test.</b> {html.escape(backtest_summary(backtest))}</p>"
        )
    if extract.dropped_rows:
        sections.append(
            f"<p class='note'>{extract.dropped_rows} rows with problems were left out "
            f"(--drop-bad-rows); their {len(extract.dropped)} problems are listed at the end.</p>"
        )
    sections.append("<h2>Fitted values</h2>")
    sections.append(
        "<p>Each with its 95% confidence interval and the number of observations it rests "
        "on, beside the base scenario's value. Shares are of the referrals, decisions or "
        "discharges counted in n; rates are per 100,000 population a year on the fitted "
        "scenario's start date.</p>"
    )
    sections.append(
        html_table(
            parameters,
            {
                "pathway": "pathway",
                "service": "service",
                "parameter": "parameter",
                "estimate": "estimate",
                "ci_low": "95% CI from",
                "ci_high": "to",
                "n": "n",
                "base": "base",
            },
        )
    )
    fig_by_file = {f.file: f for f in figures}
    sections.append("<h2>Length of stay</h2>")
    gof_rows = []
    for (p, s), sf in fit.services.items():
        if sf.los is None:
            gof_rows.append(
                {
                    "service": service_label(p, s),
                    "chosen": "base kept",
                    "aic": "",
                    "fit": "; ".join(sf.notes),
                }
            )
            continue
        gof_rows.append(
            {
                "service": service_label(p, s),
                "chosen": sf.los.chosen,
                "aic": sf.los.aic_text(),
                "fit": sf.los.gof.statement(),
            }
        )
    sections.append(
        "<p>Fitted by maximum likelihood, counting stays still open at the extract date "
        "(right-censored) and stays that began before the period (left-truncated: seen only "
        "because they lasted). The naive mean of completed stays ignores both.</p>"
    )
    sections.append(
        html_table(
            pd.DataFrame(gof_rows),
            {
                "service": "service",
                "chosen": "chosen",
                "aic": "AIC difference of the others",
                "fit": "goodness of fit",
            },
        )
    )
    for key in ("length_of_stay.png", "assessment_delay.png", "referrals.png"):
        if key in fig_by_file:
            sections.append(_figure_html(fig_by_file[key]))
    sections.append("<h2>Referrals</h2>")
    rate_rows = []
    for p, pf in fit.pathways.items():
        r = pf.rates
        rate_rows.append(
            {
                "pathway": PATHWAY_LABELS.get(p, p),
                "growth": r.growth.percent() if r.growth is not None else "not fitted",
                "used": "fitted" if r.growth_used else f"base {r.base_growth:+.1%}",
                "season": "–"
                if r.seasonality_p is None
                else f"p = {r.seasonality_p:.2f}" + (" (written)" if r.seasonal else " (none)"),
                "places": "–" if r.place_p is None else f"p = {r.place_p:.2f}",
                "dispersion": r.dispersion,
            }
        )
    sections.append(
        "<p>Growth is written only if it differs from the base scenario's at 5%; the monthly "
        "pattern only if it is significant at 5%. Places: a test of whether rates per head "
        "differ between places, which the scenario cannot represent (p &lt; 0.05 would mean "
        "they do). Dispersion near 1 means the counts vary as a Poisson process should.</p>"
    )
    sections.append(
        html_table(
            pd.DataFrame(rate_rows),
            {
                "pathway": "pathway",
                "growth": "growth a year",
                "used": "written",
                "season": "monthly pattern",
                "places": "places differ",
                "dispersion": "dispersion",
            },
        )
    )
    sections.append("<h2>Discharge delays</h2>")
    delay_rows = []
    for (p, s), sf in fit.services.items():
        d = sf.delay
        delay_rows.append(
            {
                "service": service_label(p, s),
                "ready": d.ready,
                "delayed": d.delayed,
                "mean": d.mean_days,
                "waiting": d.still_waiting,
                "by": "; ".join(
                    f"{k}: {n} ({m:.0f} days)" for k, (n, m) in d.by_destination.items()
                ),
            }
        )
    sections.append(
        "<p>From ready for discharge to leaving the bed. Not a parameter: the model produces "
        "delays from step-down capacity; the back-test compares the result.</p>"
    )
    sections.append(
        html_table(
            pd.DataFrame(delay_rows),
            {
                "service": "service",
                "ready": "ready in period",
                "delayed": "left after a delay",
                "mean": "mean delay (days)",
                "waiting": "still waiting",
                "by": "by destination: n (mean)",
            },
        )
    )
    sections.append("<h2>Census</h2>")
    sections.append(
        f"<p>The fitted scenario starts on {extract.end:%d %b %Y} from "
        f"{html.escape(census_summary)}. "
        "Community caseloads are estimated (an extract ends at discharge): see "
        "calibration/README.md.</p>"
    )
    if backtest is not None:
        write_csv(backtest.errors, folder / "backtest_errors.csv")
        series = backtest.observed.assign(kind="observed")
        write_csv(series, folder / "backtest_observed.csv")
        sections.append("<h2>Back-test</h2>")
        sections.append(
            f"<p>The fitted model run {backtest.replications} times over "
            f"{extract.start:%d %b %Y} to {extract.extract_date:%d %b %Y} from the census at the "
            f"start (<code>{html.escape(backtest.scenario_path.name)}</code>). Error: the mean "
            "absolute difference between the simulated monthly mean and the observed month, "
            "relative to the observed monthly mean; bias: the simulated total against the "
            "observed; coverage: the share of months observed inside the simulated 90% range "
            "(about 90% if the model is right). Out-of-area numbers swing widely from one "
            "replication to the next when beds are nearly always full: judge them by coverage.</p>"
        )
        sections.append(
            html_table(
                backtest.errors,
                {
                    "pathway": "pathway",
                    "service": "service",
                    "measure": "measure",
                    "observed_mean": "observed a month",
                    "simulated_mean": "simulated",
                    "relative_mae": "error",
                    "bias": "bias",
                    "coverage": "coverage",
                },
            )
        )
        for measure, level in (
            ("admissions", "pathway"),
            ("occupied_beds", "service"),
            ("out_of_area", "pathway"),
        ):
            sections.append(_figure_html(backtest_figure(backtest, measure, level, folder)))
    notes = [
        f"{PATHWAY_LABELS.get(p, p)}: {n}"
        for p, pf in fit.pathways.items()
        for n in pf.notes + pf.rates.notes
    ]
    notes += [
        f"{service_label(p, s)}: {n}" for (p, s), sf in fit.services.items() for n in sf.notes
    ]
    if notes:
        sections.append(
            "<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"
        )
    if extract.dropped:
        sections.append(
            "<h2>Rows left out</h2><ul>"
            + "".join(f"<li>{html.escape(str(p))}</li>" for p in extract.dropped)
            + "</ul>"
        )
    page = folder / "report.html"
    page.write_text(_page(title, banner, sections), encoding="utf-8")
    return page


def _page(title: str, banner: list[str], parts: list[str]) -> str:
    """The page in the simulation report's house style: a banner, then one section per h2."""
    sections: list[list[str]] = [[]]
    for part in parts:
        if part.startswith("<h2>") and sections[-1]:
            sections.append([])
        sections[-1].append(part)
    body = "".join(f"<section>{''.join(section)}</section>" for section in sections if section)
    return (
        "<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><style>{CSS}{LABEL_COLUMNS}</style></head>"
        f"<body><header class='banner'><div class='wrap'>{''.join(banner)}</div></header>"
        f"<main class='wrap'>{body}</main></body></html>\n"
    )


def _inferred(start: bool, end: bool) -> str:
    said = ["start inferred from the rows"] if start else []
    said += ["extract date: the latest date in it"] if end else []
    return f" ({'; '.join(said)})" if said else ""


def _figure_html(f: Figure) -> str:
    return (
        f"<figure><img src='{html.escape(f.file)}' alt='{html.escape(f.alt)}'>"
        f"<figcaption><b>{html.escape(f.title)}.</b> {html.escape(f.caption)}</figcaption></figure>"
    )
