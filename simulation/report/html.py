"""The report as one self-contained HTML page in a plain NHS style.

Everything is in the one file: the style sheet is inline and every figure is embedded
as a base64 ``data:`` URI, so the page can be e-mailed, archived or opened offline and
looks the same. The design follows the NHS digital service manual's basics: Arial,
NHS blue (#005EB8) for headings and the banner, dark text (#212B32) on white, one
column of readable width, tables with row headers, figures with captions and text
alternatives, ``lang="en-GB"`` and a contents list that works without script. Every
number in the summary is set in bold so that a reader scanning the page finds it. The
stylesheet, :data:`CSS`, is the one the calibration report's page uses as well.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable

from simulation.report.content import Report
from simulation.report.style import GRID, MUTED, NHS_BLUE, TEXT
from simulation.report.tables import Table
from simulation.report.wording import scenario_label

_PALETTE = (
    f":root {{ --blue: {NHS_BLUE}; --dark-blue: #003087; --text: {TEXT}; --grey: {MUTED};\n"
    f"  --pale: #F0F4F5; --border: {GRID}; }}\n"
)

CSS = (
    _PALETTE
    + """* { box-sizing: border-box; }
body { margin: 0; font-family: Arial, "Helvetica Neue", Helvetica, sans-serif;
  color: var(--text); background: var(--pale); line-height: 1.5; font-size: 17px; }
.banner { background: var(--blue); color: #fff; padding: 28px 0 24px; }
.banner p { margin: 4px 0; }
.kicker { font-weight: bold; letter-spacing: .02em; }
.wrap { max-width: 1140px; margin: 0 auto; padding: 0 24px; }
main section > p, .banner p { max-width: 48em; }
h1 { font-size: 34px; line-height: 1.2; margin: 6px 0 8px; }
h2 { color: var(--blue); font-size: 27px; margin: 0 0 14px; }
h3 { color: var(--dark-blue); font-size: 21px; margin: 24px 0 8px; }
main section { background: #fff; margin: 24px 0; padding: 24px 28px 28px;
  border-top: 4px solid var(--blue); }
nav ol { margin: 0; padding-left: 22px; columns: 2; }
nav a, a { color: var(--blue); }
.statement { margin: 0 0 10px; }
.lead { font-size: 19px; }
figure { margin: 8px 0 30px; }
figure img { width: 100%; height: auto; border: 1px solid var(--border); background: #fff; }
figcaption { color: var(--grey); font-size: 15px; margin-top: 6px; }
figcaption b { color: var(--text); display: block; font-size: 17px; margin-bottom: 2px; }
.table-wrap { overflow-x: auto; margin: 6px 0 26px; }
table { border-collapse: collapse; width: 100%; font-size: 14.5px; background: #fff; }
caption { text-align: left; color: var(--grey); font-size: 15px; padding: 4px 0 8px;
  caption-side: top; }
caption b { color: var(--dark-blue); display: block; font-size: 17px; }
th, td { border-bottom: 1px solid var(--border); padding: 6px 8px; text-align: right;
  vertical-align: top; }
th:first-child, td:first-child, th[scope=row] { text-align: left; }
tbody th[scope=row] { min-width: 12em; font-weight: normal; }
thead th { background: var(--pale); color: var(--text); border-bottom: 2px solid var(--blue); }
tbody tr:nth-child(even) { background: #FAFBFB; }
td .ci, th .ci { display: block; color: var(--grey); font-size: 13px; white-space: nowrap; }
table.text td, table.text th { text-align: left; }
.status-Filled { color: #007F3B; font-weight: bold; }
.status-Partly, .status-Author { color: #8A1538; font-weight: bold; }
.note { color: var(--grey); }
footer { color: var(--grey); font-size: 14px; padding: 8px 0 40px; }
@media print { body { background: #fff; font-size: 12pt; }
  main section { border: 0; padding: 0; margin: 0 0 18pt; }
  figure, table { page-break-inside: avoid; } nav { display: none; } }
"""
)
"""The house style of every HTML page the project writes: the banner, one column of
sections, tables and figures with captions. The chart colours come from
:mod:`simulation.report.style`; the calibration report uses this stylesheet too."""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _statement(text: str, numbers: Iterable[str]) -> str:
    out = _e(text)
    for printed in sorted(set(numbers), key=len, reverse=True):
        safe = _e(printed)
        out = out.replace(safe, f"<strong>{safe}</strong>", 1)
    # Keep a sign with its amount: never "+" at the end of one line and "£" on the next.
    return out.replace("+£", "+\u2060£").replace("−£", "−\u2060£")


def _summary(report: Report) -> str:
    parts = []
    heading = None
    for statement in report.statements:
        if statement.heading != heading:
            heading = statement.heading
            if heading != "Overview":
                parts.append(f"<h3>{_e(heading)}</h3>")
        css = "statement lead" if statement.heading == "Overview" else "statement"
        body = _statement(statement.text, (q.printed for q in statement.quantities))
        parts.append(f'<p class="{css}">{body}</p>')
    return "\n".join(parts)


def _figures(report: Report) -> str:
    parts = []
    for number, chart in enumerate(report.charts, start=1):
        data = base64.b64encode(chart.png).decode("ascii")
        parts.append(
            f'<figure id="figure-{_e(chart.key)}">'
            f'<img src="data:image/png;base64,{data}" alt="{_e(chart.alt)}">'
            f"<figcaption><b>Figure {number}. {_e(chart.title)}</b>{_e(chart.caption)} "
            f"Data: figures/{_e(chart.key)}.csv.</figcaption></figure>"
        )
    for note in report.notes:
        parts.append(f'<p class="note">{_e(note)}</p>')
    return "\n".join(parts)


def _table(table: Table, number: int) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in table.header)
    body = []
    for row in table.rows:
        cells = []
        for i, (value, sub) in enumerate(row):
            extra = f'<span class="ci">{_e(sub)}</span>' if sub else ""
            tag = 'th scope="row"' if i == 0 else "td"
            cells.append(f"<{tag}>{_e(value)}{extra}</{tag.split()[0]}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="table-wrap"><table id="table-{_e(table.key)}">'
        f"<caption><b>Table {number}. {_e(table.title)}</b>{_e(table.caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _text_table(
    headers: tuple[str, ...], rows: Iterable[tuple[str, ...]], caption: str, css: str = "text"
) -> str:
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="table-wrap"><table class="{css}"><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _method(report: Report) -> str:
    parts = [
        "<h3>How the numbers were made</h3>",
        "<p>Each scenario was run as independent replications with the same seed; every "
        "figure is the average over replications, with a 95% confidence interval from "
        "Student's t distribution. Scenarios compared share their random numbers (common "
        "random numbers), so their differences are paired replication by replication. The "
        "report reads the results folder only: it never re-runs the model. Intervals on this "
        "page are cut at zero (and at 100% for a share) where the quantity itself ends; the "
        "CSV files keep the raw bounds.</p>",
        _text_table(("Item", "Value"), report.provenance, "<b>Run settings and versions</b>"),
        "<h3>Key parameters and their sources</h3>",
        f'<p class="note">{_e(report.sources)}</p>',
        _text_table(
            ("Section", "Parameter", "Value", "Source", "Where"),
            ((p.section, p.name, p.value, p.source, p.where) for p in report.parameters),
            "<b>Key parameters of the base scenario</b>Full resolved scenario: scenario.yaml "
            "in the results folder.",
        ),
    ]
    for name, rows in report.changes:
        parts.append(f"<h3>What {_e(scenario_label(name))} changes</h3>")
        if rows:
            parts.append(
                _text_table(
                    ("Field", "Base", scenario_label(name)),
                    rows,
                    "<b>Fields of the resolved scenario that differ from the base</b>",
                )
            )
        else:
            parts.append('<p class="note">Nothing: the scenarios are identical.</p>')
    return "\n".join(parts)


def _checklist(report: Report) -> str:
    rows = []
    for item in report.checklist:
        css = f"status-{item.status.split()[0].rstrip(':')}"
        rows.append(
            f'<tr><th scope="row">{_e(item.number)}</th><td>{_e(item.topic)}</td>'
            f"<td>{_e(item.asks)}</td><td>{_e(item.answer)}</td>"
            f'<td class="{css}">{_e(item.status)}</td></tr>'
        )
    head = "".join(
        f'<th scope="col">{h}</th>' for h in ("Item", "Topic", "What it asks", "Answer", "Status")
    )
    return (
        "<p>The STRESS-DES checklist (Monks T, Currie CSM, Onggo BS, Robinson S, Kunc M, "
        "Taylor SJE. Strengthening the reporting of empirical simulation studies: introducing "
        "the STRESS guidelines. <i>Journal of Simulation</i> 2019;13(1):55-67), filled from "
        "the scenario and the manifest. Items marked for the author need knowledge the tool "
        "does not have.</p>"
        f'<div class="table-wrap"><table class="text"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    sections = [
        ("summary", "Summary", _summary(report)),
        ("figures", "Figures", _figures(report)),
        (
            "tables",
            "Tables",
            "\n".join(_table(t, i) for i, t in enumerate(report.tables, start=1)),
        ),
        ("method", "Method and assumptions", _method(report)),
        ("checklist", "STRESS-DES reporting checklist", _checklist(report)),
    ]
    contents = "".join(f'<li><a href="#{key}">{_e(title)}</a></li>' for key, title, _ in sections)
    body = "\n".join(
        f'<section id="{key}" aria-labelledby="{key}-h"><h2 id="{key}-h">{_e(title)}</h2>'
        f"{content}</section>"
        for key, title, content in sections
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(report.title)}: simulation report</title>
<style>{CSS}</style>
</head>
<body>
<header class="banner"><div class="wrap">
<p class="kicker">Pathways simulation report</p>
<h1>{_e(report.title)}</h1>
<p>{_e(report.subtitle)}</p>
<p>Generated {_e(report.generated)} from the results folder; every number is traceable to
its scenario, seed and code version (see Method and assumptions).</p>
</div></header>
<main class="wrap">
<nav aria-label="Contents" class="contents"><section><h2>Contents</h2><ol>{contents}</ol>
</section></nav>
{body}
</main>
<footer class="wrap">Simulated results, not observed data: they describe what the model
predicts under the assumptions listed in Method and assumptions.</footer>
</body>
</html>
"""
