"""The report as a PDF, composed in Python with no browser or system library.

Planners may have no Chromium, so the PDF is built directly with fpdf2: A4 pages, the
DejaVu Sans font that ships with matplotlib (embedded, so ``£`` and ``−`` print on
every machine), the summary on the first pages, each figure on a page of its own
with its title and caption, the tables on landscape pages, then the method and the
STRESS-DES checklist. Each section starts on a new page; a footer numbers the pages.
:func:`render_pdf` returns the page on which each section starts, so that a test can
check the PDF has the pages the report says it has.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
from fpdf import FPDF, FontFace

from simulation.report.content import Report
from simulation.report.tables import Table
from simulation.report.wording import scenario_label

BLUE = (0, 94, 184)
DARK_BLUE = (0, 48, 135)
TEXT = (33, 43, 50)
GREY = (76, 98, 114)
PALE = (240, 244, 245)
ZEBRA = (250, 251, 251)
FONT = "DejaVu"


@dataclass(frozen=True)
class Pages:
    """How many pages the PDF has and where each section starts (1-based)."""

    total: int
    sections: dict[str, int]


class _Document(FPDF):
    """A4 with the report's footer."""

    title_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*GREY)
        self.cell(0, 6, f"{self.title_text}  ·  page {self.page_no()} of {{nb}}", align="C")


def _fonts(pdf: FPDF) -> None:
    folder = Path(mpl.get_data_path()) / "fonts" / "ttf"
    pdf.add_font(FONT, "", folder / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", folder / "DejaVuSans-Bold.ttf")
    pdf.add_font(FONT, "I", folder / "DejaVuSans-Oblique.ttf")


def _heading(pdf: FPDF, text: str, size: float = 17) -> None:
    pdf.set_font(FONT, "B", size)
    pdf.set_text_color(*BLUE)
    pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(*TEXT)


def _paragraph(pdf: FPDF, text: str, size: float = 10, colour: tuple[int, int, int] = TEXT) -> None:
    pdf.set_font(FONT, "", size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    pdf.set_text_color(*TEXT)


def _line_count(pdf: FPDF, text: str, height: float) -> int:
    """Lines that ``text`` takes across the page in the current font."""
    lines = pdf.multi_cell(0, height, text, dry_run=True, output="LINES")
    return len(lines) if isinstance(lines, list) else 1


def _cover(pdf: _Document, report: Report) -> None:
    pdf.add_page()
    # Measure the title and subtitle first, so that the blue band holds them whole.
    pdf.set_font(FONT, "B", 19)
    title_lines = _line_count(pdf, report.title, 9)
    pdf.set_font(FONT, "", 10)
    sub_lines = _line_count(pdf, report.subtitle, 5)
    band = 10 + 6 + 9 * title_lines + 5 * sub_lines + 8
    pdf.set_fill_color(*BLUE)
    pdf.rect(0, 0, pdf.w, band, style="F")
    pdf.set_xy(pdf.l_margin, 10)
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, "Pathways simulation report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 19)
    pdf.multi_cell(0, 9, report.title, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, 5, report.subtitle, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(band + 8)
    pdf.set_text_color(*TEXT)
    pdf.set_fill_color(255, 255, 255)


def _summary(pdf: _Document, report: Report) -> None:
    _heading(pdf, "Summary")
    heading = None
    for statement in report.statements:
        if statement.heading != heading:
            heading = statement.heading
            if heading != "Overview":
                pdf.ln(1)
                _heading(pdf, heading, 12)
        pdf.set_font(FONT, "", 10)
        text = statement.text
        for q in sorted({q.printed for q in statement.quantities}, key=len, reverse=True):
            text = text.replace(q, f"**{q}**", 1)
        pdf.multi_cell(0, 5, text, markdown=True, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)


def _figure(pdf: _Document, number: int, title: str, caption: str, png: bytes) -> None:
    pdf.add_page()
    _heading(pdf, f"Figure {number}. {title}", 13)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    room = pdf.h - pdf.get_y() - 45
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        aspect = image.height / image.width
    w = min(width, room / aspect)
    pdf.image(io.BytesIO(png), x=pdf.l_margin + (width - w) / 2, w=w, h=w * aspect)
    pdf.ln(3)
    _paragraph(pdf, caption, 9, GREY)


def _table(pdf: _Document, number: int, table: Table) -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.set_text_color(*DARK_BLUE)
    pdf.multi_cell(0, 6, f"Table {number}. {table.title}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*TEXT)
    pdf.set_font(FONT, "", 7.5)
    first = 2.2 if len(table.header) > 4 else 1.5
    widths = (first, *([1.0] * (len(table.header) - 1)))
    headings = FontFace(emphasis="BOLD", fill_color=PALE)
    with pdf.table(
        col_widths=widths,
        headings_style=headings,
        line_height=3.6,
        text_align=("LEFT", *(["RIGHT"] * (len(table.header) - 1))),
        borders_layout="HORIZONTAL_LINES",
        cell_fill_color=ZEBRA,
        cell_fill_mode="ROWS",
        padding=1,
    ) as grid:
        row = grid.row()
        for text in table.header:
            row.cell(text)
        for cells in table.rows:
            row = grid.row()
            for value, sub in cells:
                row.cell(f"{value}\n{sub}" if sub else value)
    pdf.ln(1)
    _paragraph(pdf, table.caption, 8, GREY)
    pdf.ln(3)


def _text_table(pdf: _Document, header: tuple[str, ...], rows: list[tuple[str, ...]],
                widths: tuple[float, ...]) -> None:  # fmt: skip
    pdf.set_font(FONT, "", 7.5)
    with pdf.table(
        col_widths=widths,
        headings_style=FontFace(emphasis="BOLD", fill_color=PALE),
        line_height=3.6,
        text_align="LEFT",
        borders_layout="HORIZONTAL_LINES",
        cell_fill_color=ZEBRA,
        cell_fill_mode="ROWS",
        padding=1,
    ) as grid:
        row = grid.row()
        for text in header:
            row.cell(text)
        for cells in rows:
            row = grid.row()
            for text in cells:
                row.cell(str(text))
    pdf.ln(3)


def render_pdf(report: Report, path: Path) -> Pages:
    """Write the report as a PDF at ``path``; return its page count and section starts."""
    pdf = _Document(orientation="portrait", unit="mm", format="A4")
    pdf.title_text = report.title if len(report.title) < 70 else report.title[:67] + "…"
    pdf.set_title(report.title)
    pdf.set_author("pathways")
    pdf.set_creator("pathways report")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(16, 14, 16)
    _fonts(pdf)
    sections: dict[str, int] = {}

    _cover(pdf, report)
    sections["Summary"] = pdf.page_no()
    _summary(pdf, report)
    for note in report.notes:
        _paragraph(pdf, note, 9, GREY)

    for number, chart in enumerate(report.charts, start=1):
        _figure(pdf, number, chart.title, chart.caption, chart.png)
        sections[f"Figure {number}"] = pdf.page_no()

    pdf.add_page(orientation="landscape")
    sections["Tables"] = pdf.page_no()
    _heading(pdf, "Tables")
    for number, table in enumerate(report.tables, start=1):
        _table(pdf, number, table)

    pdf.add_page(orientation="landscape")
    sections["Method and assumptions"] = pdf.page_no()
    _heading(pdf, "Method and assumptions")
    _paragraph(
        pdf,
        "Each scenario was run as independent replications with the same seed; every figure "
        "is the average over replications with a 95% confidence interval from Student's t "
        "distribution. Scenarios compared share their random numbers, so their differences "
        "are paired replication by replication. The report reads the results folder only. "
        "Intervals in the text are cut at zero (and at 100% for a share); the CSV files keep "
        "the raw bounds.",
    )
    _text_table(pdf, ("Item", "Value"), [tuple(p) for p in report.provenance], (1, 4))
    _heading(pdf, "Key parameters and their sources", 12)
    _paragraph(pdf, report.sources, 9, GREY)
    _text_table(
        pdf,
        ("Section", "Parameter", "Value", "Source", "Where"),
        [(p.section, p.name, p.value, p.source, p.where) for p in report.parameters],
        (1.1, 2.2, 2.0, 3.6, 1.1),
    )
    for name, rows in report.changes:
        _heading(pdf, f"What {scenario_label(name)} changes", 12)
        if rows:
            _text_table(pdf, ("Field", "Base", scenario_label(name)), list(rows), (3, 2, 2))
        else:
            _paragraph(pdf, "Nothing: the scenarios are identical.")

    pdf.add_page(orientation="landscape")
    sections["STRESS-DES reporting checklist"] = pdf.page_no()
    _heading(pdf, "STRESS-DES reporting checklist")
    _paragraph(
        pdf,
        "Monks T, Currie CSM, Onggo BS, Robinson S, Kunc M, Taylor SJE. Strengthening the "
        "reporting of empirical simulation studies: introducing the STRESS guidelines. "
        "Journal of Simulation 2019;13(1):55-67. Filled from the scenario and the manifest; "
        "items marked for the author need knowledge the tool does not have.",
        9,
    )
    _text_table(
        pdf,
        ("Item", "Topic", "What it asks", "Answer", "Status"),
        [(i.number, i.topic, i.asks, i.answer, i.status) for i in report.checklist],
        (0.5, 1.3, 2.4, 5.0, 1.3),
    )
    total = pdf.page_no()
    pdf.output(str(path))
    return Pages(total, sections)
