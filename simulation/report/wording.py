"""Wording: how numbers and names read to a board member.

A report must never show ``cost_ooa_gbp`` or ``camhs_t4``: this module turns the
results folder's identifiers into the words a planner uses (``Out-of-area spend``,
``CAMHS tier 4``, ``Medium secure``) and its numbers into the forms NHS papers use:
money as ``£1.2m`` or ``£45,300``, percentages to one decimal, financial years as
``2026/27``, the minus sign as ``−``. Every number the report prints goes through
:func:`quantity`, so the summary sentences, tables and figures agree on rounding, and
:func:`parse_quantity` reads a printed number back (the tests use it to check the
sentences against the CSV files).
"""

from __future__ import annotations

import math
import re

from simulation.results.catalogue import ALL, COST_KINDS, KPI_INFO
from simulation.scenario.schema import PATHWAY_LABELS

ALL_PATHWAYS = "All pathways"
"""The collaborative's total over its pathways (``all`` in a results table)."""

SERVICE_LABELS = {
    ("adult_secure", "medium"): "Medium secure",
    ("adult_secure", "low"): "Low secure",
    ("camhs_t4", "general_adolescent"): "General adolescent",
    ("camhs_t4", "picu"): "PICU",
    ("camhs_t4", "eating_disorder"): "Eating disorder",
    ("camhs_t4", "low_secure"): "Low secure",
    ("adult_ed", "inpatient"): "Inpatient",
}
"""Bed types (services) of each pathway."""

ADDITIVE_KPIS = frozenset(
    kpi
    for kpi, info in KPI_INFO.items()
    if info.unit in ("count", "£") or kpi in ("bed_days", "ooa_bed_days", "delayed_discharge_days")
)
"""KPIs that add up over time (counts, bed days, money): quoted *a year* over a period."""

COST_LABELS = {
    "cost_inpatient_gbp": "In-area beds",
    "cost_ooa_gbp": "Out-of-area beds",
    "cost_community_gbp": "Community places",
    "cost_one_off_gbp": "One-off costs",
}
"""Spend categories as a board reads them."""


def cost_label(kind: str) -> str:
    """A spend category's label (``cost_ooa_gbp`` -> ``Out-of-area beds``)."""
    return COST_LABELS.get(kind, kpi_label(kind))


def cost_kinds() -> tuple[str, ...]:
    """The spend categories that add up to total spend, in the results' order."""
    return COST_KINDS


LEDGER_LABELS = {
    "budget_gbp": "Budget",
    "spend_inpatient_gbp": "Spend: in-area beds",
    "spend_ooa_gbp": "Spend: out-of-area beds",
    "spend_community_gbp": "Spend: community places",
    "spend_one_off_gbp": "Spend: one-off costs",
    "spend_total_gbp": "Total spend",
    "savings_gbp": "Savings against budget",
    "reinvested_gbp": "Reinvested",
    "places_added": "Community places added",
}
"""Lines of the reinvestment ledger."""

_ACRONYMS = {"camhs": "CAMHS", "ed": "ED", "picu": "PICU", "nhs": "NHS", "oap": "OAP", "t4": "T4"}

MINUS = "−"
"""The minus sign (U+2212), which reads better than a hyphen in print."""


def pathway_label(pathway: str) -> str:
    """``camhs_t4`` -> ``CAMHS tier 4``, ``all`` -> ``All pathways``.

    >>> pathway_label("camhs_t4"), pathway_label("all"), pathway_label("camhs_day_unit")
    ('CAMHS tier 4', 'All pathways', 'CAMHS day unit')
    """
    if pathway == ALL:
        return ALL_PATHWAYS
    return PATHWAY_LABELS.get(pathway, humanise(pathway))


def service_label(pathway: str, service: str) -> str:
    """``(adult_secure, medium)`` -> ``Medium secure``."""
    return SERVICE_LABELS.get((pathway, service), humanise(service))


def in_sentence(label: str) -> str:
    """A label inside a sentence: ``Medium secure`` -> ``medium secure``, ``PICU`` kept.

    >>> in_sentence("Adult secure"), in_sentence("CAMHS tier 4"), in_sentence("PICU")
    ('adult secure', 'CAMHS tier 4', 'PICU')
    """
    first, _, rest = label.partition(" ")
    head = first if first.isupper() and len(first) > 1 else first.lower()
    return f"{head} {rest}".strip()


def humanise(identifier: str) -> str:
    """An identifier as words: ``camhs_intensive_community`` -> ``CAMHS intensive community``.

    >>> humanise("adult_ed_day_service")
    'Adult ED day service'
    """
    words = [w for w in re.split(r"[_\s]+", identifier.strip()) if w]
    if not words:
        return identifier
    out = [_ACRONYMS.get(w.lower(), w) for w in words]
    first = out[0]
    out[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(out)


def scenario_label(name: str) -> str:
    """A scenario's name as a title: ``close_beds_reinvest`` -> ``Close beds reinvest``."""
    return humanise(name)


def kpi_label(kpi: str, per_year: bool = False) -> str:
    """A KPI's label, with ``a year`` when an additive KPI is quoted per year."""
    info = KPI_INFO.get(kpi)
    label = info.label if info else humanise(kpi)
    return f"{label} a year" if per_year and kpi in ADDITIVE_KPIS else label


def kpi_unit(kpi: str) -> str:
    """The unit a KPI is measured in, in words (``£``, ``%``, ``days``, ``number``)."""
    info = KPI_INFO.get(kpi)
    if info is None:
        return ""
    return "number" if info.unit == "count" else info.unit


def kpi_label_with_unit(kpi: str, per_year: bool = False) -> str:
    """``Mean wait from acceptance to admission (days)``; money and counts say so too."""
    unit = kpi_unit(kpi)
    label = kpi_label(kpi, per_year)
    return f"{label} ({unit})" if unit else label


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _sign(value: float, signed: bool) -> str:
    if value < 0:
        return MINUS
    return "+" if signed and value > 0 else ""


def money(
    value: float | None, signed: bool = False, ref: float | None = None, extra: int = 0
) -> str:
    """Money: ``£1.2m`` when the reference amount is a million or more, else ``£45,300``.

    ``ref`` (default: the value itself) sets the scale, so that the numbers of one
    interval are written alike: ``£2.5m (95% CI £0.4m to £4.6m)``.

    >>> money(1_234_567), money(45_321.7), money(-2_500_000, signed=True)
    ('£1.2m', '£45,300', '−£2.5m')
    >>> money(412_000, ref=2_500_000)
    '£0.4m'
    """
    if value is None or _is_missing(value):
        return "–"
    size = abs(value)
    scale = abs(ref) if ref is not None and not _is_missing(ref) else size
    if round(scale, -5) >= 1e6:
        digits = (1 if scale < 100e6 else 0) + extra
        text = f"£{size / 1e6:,.{digits}f}m"
        zero = float(text[1:-1].replace(",", "")) == 0
    else:
        # Three significant figures of the larger amount: £187,000, not £187,384.
        step = (1000 if scale >= 100_000 else 100 if scale >= 10_000 else 1) / 10**extra
        step = max(step, 1)
        text = f"£{round(size / step) * step:,.0f}"
        zero = text == "£0"
    return "£0" if zero else _sign(value, signed) + text


def _decimals(ref: float) -> int:
    return 0 if round(abs(ref), 1) >= 10 else 1


def number(
    value: float | None, signed: bool = False, ref: float | None = None, extra: int = 0
) -> str:
    """A count, days or other amount: whole from 10 up, else one decimal; separators.

    ``extra`` digits are added where an interval would otherwise print as its own mean.

    >>> number(1234.5), number(38.16), number(-0.84, signed=True), number(7.25, ref=40)
    ('1,234', '38', '−0.8', '7')
    >>> number(38.16, extra=1)
    '38.2'
    """
    if value is None or _is_missing(value):
        return "–"
    scale = ref if ref is not None and not _is_missing(ref) else value
    text = f"{abs(value):,.{_decimals(scale) + extra}f}"
    if float(text.replace(",", "")) == 0:
        return "0"
    return _sign(value, signed) + text


def percent(
    value: float | None, signed: bool = False, ref: float | None = None, extra: int = 0
) -> str:
    """A percentage to one decimal: ``98.6%``."""
    if value is None or _is_missing(value):
        return "–"
    text = f"{abs(value):.{1 + extra}f}%"
    return "0%" if float(text[:-1]) == 0 else _sign(value, signed) + text


def percent_change(
    value: float | None, signed: bool = False, ref: float | None = None, extra: int = 0
) -> str:
    """A relative change: whole per cent from 10% up (``38%``), else one decimal."""
    if value is None or _is_missing(value):
        return "–"
    scale = ref if ref is not None and not _is_missing(ref) else value
    text = f"{abs(value):,.{_decimals(scale) + extra}f}%"
    return "0%" if float(text[:-1].replace(",", "")) == 0 else _sign(value, signed) + text


def quantity(
    kpi: str, value: float | None, signed: bool = False, ref: float | None = None, extra: int = 0
) -> str:
    """A KPI's value as printed: money, percentage or plain number by the KPI's unit.

    ``pct_change`` stands for a relative change (``38%``) of any KPI. This is the one
    rule for significant figures: the decimals follow the largest number of what is
    read together (``ref``: an estimate and its interval, or a table's row), so that a
    row never mixes ``8`` and ``8.1``; ``extra`` adds digits where needed.
    """
    if kpi == "pct_change":
        return percent_change(value, signed, ref, extra)
    info = KPI_INFO.get(kpi)
    unit = info.unit if info else ""
    if unit == "£" or kpi.endswith("_gbp"):
        return money(value, signed, ref, extra)
    if unit == "%":
        return percent(value, signed, ref, extra)
    return number(value, signed, ref, extra)


SAME = "the same in every replication"
"""Said instead of an interval only when every replication gave exactly the same number."""

IDENTICAL = "identical in every replication"
"""Said of a paired difference that is exactly zero in every replication."""

NO_CLEAR = "no clear difference"
"""Said of a paired difference whose 95% interval includes zero."""


def feasible(kpi: str, column: str, low: float, high: float) -> tuple[float, float]:
    """An interval cut where the quantity itself ends: the one clipping rule.

    A t-interval can reach below zero for a count, or past 100% for a share, or below
    -100% for a relative change; the quantity cannot, so the printed interval stops
    there (its coverage is then at least 95%). ``column`` is ``mean`` for a KPI's value,
    ``pct_change`` for a relative change and ``diff_mean`` for a difference (which is
    not cut). The terminal, the report and the API all print through this function;
    the CSV files keep the raw bounds.

    >>> feasible("ooa_bed_days", "mean", -120.0, 900.0)
    (0.0, 900.0)
    >>> feasible("occupancy_pct", "mean", 97.1, 100.6)
    (97.1, 100.0)
    >>> feasible("ooa_bed_days", "pct_change", -130.0, -20.0)
    (-100.0, -20.0)
    """
    if column == "mean":
        low = low if math.isnan(low) else max(low, 0.0)
        high = high if math.isnan(high) else max(high, 0.0)
        if kpi.endswith("_pct"):
            low = low if math.isnan(low) else min(low, 100.0)
            high = high if math.isnan(high) else min(high, 100.0)
    elif column == "pct_change":
        low = low if math.isnan(low) else max(low, -100.0)
        high = high if math.isnan(high) else max(high, -100.0)
    return low, high


def identical_difference(diff_mean: float, diff_sd: float) -> bool:
    """Whether a paired difference is exactly zero in every replication."""
    return diff_mean == 0.0 and (diff_sd == 0.0 or math.isnan(diff_sd))


def change_word(clear: bool, identical: bool, pct: float) -> str:
    """A difference's change as one cell reads: identical, no clear difference, or ``−12%``."""
    if identical:
        return IDENTICAL
    if not clear:
        return NO_CLEAR
    return "clear difference" if _is_missing(pct) else quantity("pct_change", pct, signed=True)


def _same(value: float, low: float, high: float) -> bool:
    """Whether an interval has no width but the rounding of sums (every value the same)."""
    scale = max(abs(value), abs(low), abs(high), 1e-300)
    return (high - low) <= 1e-9 * scale and abs(value - low) <= 1e-9 * scale


def estimate(
    kpi: str,
    value: float,
    low: float | None,
    high: float | None,
    signed: bool = False,
    unit: str = "",
    ref: float | None = None,
    difference: bool = False,
) -> str:
    """``£33.7m (95% CI £32.9m to £34.5m)``; ``unit`` words follow the value.

    The three numbers share one scale (set by the largest, or by ``ref`` when given, as
    for a table row), so they read alike. Without an interval (one replication) the text
    says so. Only when the bounds *are* the mean (every replication gave the same number)
    does it say :data:`SAME`; an interval that merely rounds to its mean is printed with
    more digits until its bounds differ. A difference (``signed``, or ``difference``
    for one printed as a size after a verb) never prints a bound that is not zero as 0.
    """
    finite = [abs(v) for v in (value, low, high, ref) if v is not None and not _is_missing(v)]
    ref = max(finite) if finite else None
    words = f" {unit}" if unit else ""
    if low is None or high is None or _is_missing(low) or _is_missing(high):
        return f"{quantity(kpi, value, signed, ref)}{words} (no 95% CI: too few replications)"
    if _same(value, low, high):
        return f"{quantity(kpi, value, signed, ref)}{words} ({SAME})"
    for extra in range(4):
        shown = quantity(kpi, value, signed, ref, extra)
        bounds = (quantity(kpi, low, signed, ref, extra), quantity(kpi, high, signed, ref, extra))
        # A difference's bound that is not zero is not printed as zero: an interval that
        # excludes zero must be seen to.
        rounded_to_zero = (signed or difference) and any(
            b in ("0", "0%", "£0") and v != 0 for b, v in zip(bounds, (low, high), strict=True)
        )
        if not bounds[0] == bounds[1] == shown and not rounded_to_zero:
            break
    return f"{shown}{words} (95% CI {bounds[0]} to {bounds[1]})"


def period_label(period: str, years: list[str]) -> str:
    """A period as written: a financial year as is, the whole run as ``2026/27 to 2030/31``."""
    if period == "horizon":
        return years_span(years, "whole period")
    return period


def years_span(years: list[str], none: str = "") -> str:
    """Financial years as a span: ``2026/27 to 2030/31``, or the one year, or ``none``.

    >>> years_span(["2026/27", "2027/28"]), years_span(["2026/27"])
    ('2026/27 to 2027/28', '2026/27')
    """
    if not years:
        return none
    return years[0] if len(years) == 1 else f"{years[0]} to {years[-1]}"


def place_label(place: str, quintile: int | None) -> str:
    """A home place with its deprivation quintile (1 = most deprived) when known."""
    return f"{place} (quintile {quintile})" if quintile else place


_NUMBER = re.compile(r"^([+−-]?)(£?)([\d,]*\.?\d+)(m?)(%?)$")


def parse_quantity(text: str) -> float:
    """Read back a number printed by this module: ``−£2.5m`` -> -2500000.0.

    >>> parse_quantity("£1.2m"), parse_quantity("38%"), parse_quantity("−1,234")
    (1200000.0, 38.0, -1234.0)
    """
    match = _NUMBER.match(text.strip())
    if not match:
        raise ValueError(f"not a printed quantity: {text!r}")
    sign, _, digits, millions, _ = match.groups()
    value = float(digits.replace(",", ""))
    if millions:
        value *= 1e6
    return -value if sign in ("−", "-") else value


def printed_precision(text: str) -> float:
    """Half the step of the last digit printed: how far a printed number may be off.

    Money under a million is rounded to three significant figures, so trailing zeros of
    a whole amount count as rounding.

    >>> printed_precision("£1.2m"), printed_precision("38%"), printed_precision("£45,300")
    (50000.0, 0.5, 50.0)
    """
    match = _NUMBER.match(text.strip())
    if not match:
        raise ValueError(f"not a printed quantity: {text!r}")
    pound, digits, millions = match.group(2), match.group(3), match.group(4)
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    step = 10.0**-decimals * (1e6 if millions else 1.0)
    if pound and not millions and "." not in digits:
        whole = digits.replace(",", "")
        zeros = len(whole) - len(whole.rstrip("0")) if whole.strip("0") else 0
        step = 10.0 ** min(zeros, 3)
    return step / 2
