"""An estimate with its 95% confidence interval, and numbers written for people.

Every fitted value the calibration reports (a rate, a share, a mean stay, a growth)
is an :class:`Estimate`: the value and the bounds of its 95% confidence interval, so
that a table, a scenario comment or a report line always carries both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
"""The standard normal 97.5th percentile: a 95% interval is the estimate +- Z95 se."""


@dataclass(frozen=True)
class Estimate:
    """A fitted quantity: the estimate and its 95% confidence interval."""

    value: float
    low: float
    high: float

    def text(self, digits: int = 3, unit: str = "") -> str:
        """``value (95% CI low to high)`` with ``digits`` significant figures."""
        return (
            f"{significant(self.value, digits)}{unit} "
            f"(95% CI {significant(self.low, digits)} to {significant(self.high, digits)}{unit})"
        )

    def percent(self) -> str:
        """``+1.2% (95% CI -3.0% to +5.6%)`` for a signed share such as a growth."""
        return f"{self.value:+.1%} (95% CI {self.low:+.1%} to {self.high:+.1%})"


def significant(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, with thousands separators.

    Whole numbers are written without decimals.
    """
    if not math.isfinite(x):
        return "∞" if x > 0 else "–"
    if x == 0 or float(x).is_integer():
        return f"{x:,.0f}"
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{x:,.{decimals}f}"
