"""Writing a fitted scenario: YAML that extends the base, every value with its evidence.

The fitted scenario is a short file: ``extends`` the base scenario and overrides only
what the extract could estimate. Above each value is a comment giving the estimate,
its 95% confidence interval and the number of observations behind it, so that a reader
of the file (or a board paper quoting it) can see how firm each number is. Values the
data could not pin down keep the base's, with a comment saying why. The census file the
scenario starts from is written beside it and named relative to it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
from pathlib import Path

import yaml

from calibration.estimate import Estimate
from calibration.fitting import Fit, PathwayFit, ServiceFit
from calibration.survival import DurationFit
from simulation.scenario.census import write_census


def number(x: float, digits: int = 4) -> float | int:
    """``x`` to ``digits`` significant figures, as an int when whole."""
    if x == 0 or not math.isfinite(x):
        return x
    rounded = round(x, digits - 1 - math.floor(math.log10(abs(x))))
    return int(rounded) if float(rounded).is_integer() else rounded


def flow(value: object) -> str:
    """A one-line YAML value: ``{distribution: gamma, mean: 21.2, sd: 9.43}``."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000)
    return text.strip()


def pct(x: float) -> str:
    """A share as a signed percentage: ``+1.2%``."""
    return f"{x:+.1%}"


def distribution_lines(fit: DurationFit, what: str, unit: str) -> tuple[list[str], str]:
    """Comment lines and the flow mapping for a fitted duration distribution."""
    best = fit.best
    estimates = best.parameter_estimates()
    described = ", ".join(f"{name} {e.text(3)}" for name, e in estimates.items())
    d = fit.durations
    comments = [
        f"{what}: {fit.chosen} by AIC (AIC difference: {fit.aic_text()})",
        f"{described} {unit}".strip(),
        (
            f"n = {len(d)}: {d.events} ended, {d.censored} still open at the extract date"
            + (f", {d.truncated} began before the period" if d.truncated else "")
            + f"; naive mean of those ended {d.naive_mean:,.1f}"
        ),
        f"fit: {fit.gof.statement()}",
    ]
    values: dict[str, object] = {"distribution": fit.chosen}
    values.update({k: number(v) for k, v in best.scenario_parameters().items()})
    return comments, flow(values)


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _Yaml:
    """Lines of YAML with comments, indented by level."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def comment(self, level: int, text: str) -> None:
        self.lines.append("  " * level + "# " + text)

    def key(self, level: int, key: str, value: str = "", comment: str = "") -> None:
        line = "  " * level + f"{key}:" + (f" {value}" if value else "")
        self.lines.append(line + (f"  # {comment}" if comment else ""))

    def blank(self) -> None:
        self.lines.append("")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _share(y: _Yaml, level: int, key: str, what: str, est: Estimate, n: int, unit: str) -> None:
    y.comment(level, f"{what} {est.text(3)}; n = {n:,} {unit}")
    y.key(level, key, str(number(est.value, 3)))


def _pathway(y: _Yaml, fit: Fit, pf: PathwayFit) -> None:
    spec = fit.base.pathways[pf.pathway]
    rates = pf.rates
    y.key(1, pf.pathway)
    new = sum(rates.referrals.values())
    if rates.growth is not None:
        text = f"growth {rates.growth.percent()} a year; n = {new:,} new referrals"
        if rates.growth_used:
            y.comment(
                2,
                text + f" (differs from the base's {pct(rates.base_growth)}, "
                f"p = {rates.growth_p:.3f})",
            )
            y.key(2, "annual_growth", str(number(rates.growth.value, 3)))
        else:
            y.comment(2, text)
            y.comment(
                2,
                f"it does not differ from the base's {pct(rates.base_growth)} "
                f"(p = {rates.growth_p:.2f}): the base growth is kept",
            )
    if rates.seasonality_p is not None:
        if rates.seasonal:
            assert rates.seasonality is not None and rates.seasonality_ci is not None
            y.comment(
                2,
                f"monthly pattern (likelihood-ratio p = {rates.seasonality_p:.3f} on "
                "11 df); factors Jan..Dec with 95% CIs:",
            )
            for month, f, (lo, hi) in zip(
                MONTHS,
                rates.seasonality,
                rates.seasonality_ci,
                strict=True,
            ):
                y.comment(2, f"  {month} {f:.2f} ({lo:.2f} to {hi:.2f})")
            y.key(2, "seasonality", flow([number(f, 3) for f in rates.seasonality]))
        else:
            y.comment(
                2, f"no monthly pattern (likelihood-ratio p = {rates.seasonality_p:.2f} on 11 df)"
            )
            y.key(2, "seasonality", "null")
    if pf.urgent.enough:
        est = pf.urgent.estimate
        y.comment(2, f"urgent share {est.text(3)}; n = {pf.urgent.n:,} new referrals")
        u = number(est.value, 3)
        y.key(2, "priority_mix", flow({"urgent": u, "routine": number(1 - float(u), 3)}))
    if pf.assessment is not None:
        comments, value = distribution_lines(pf.assessment, "assessment delay", "days")
        for c in comments:
            y.comment(2, c)
        y.key(2, "assessment_delay", value)
    if pf.not_accepted.enough:
        _share(
            y,
            2,
            "not_accepted_share",
            "not accepted",
            pf.not_accepted.estimate,
            pf.not_accepted.n,
            "decisions",
        )
    if spec.diversion is not None and pf.diverted.enough:
        est = pf.diverted.estimate
        y.comment(2, f"diverted {est.text(3)} of accepted referrals; n = {pf.diverted.n:,}")
        y.comment(
            2,
            "(the model diverts only when the team has room: with a full team this underestimates)",
        )
        y.key(2, "diversion", flow({"share": number(est.value, 3)}))
    if pf.max_wait:
        waits: dict[str, object] = {}
        for priority, mw in sorted(pf.max_wait.items(), key=lambda kv: kv[0] != "urgent"):
            y.comment(
                2,
                f"{priority}: median wait before out of area {mw.days.text(3)} days; "
                f"n = {mw.n} out-of-area admissions",
            )
            waits[priority] = number(mw.days.value, 3)
        y.key(2, "max_wait_days", flow(waits))
    r = pf.readmission
    if r is not None and r.enough:
        y.comment(
            2,
            f"readmitted within {r.window_days:g} days of a discharge home "
            f"{r.probability.text(3)}; n = {r.n:,} discharges ({r.readmitted} readmitted)",
        )
        y.key(2, "readmission", flow({"probability": number(r.probability.value, 3)}))
    elif r is not None:
        y.comment(2, f"readmission: only {r.n} discharges home; the base probability is kept")
    for note in pf.notes + [n for n in rates.notes if not n.startswith("growth")]:
        y.comment(2, f"note: {note}")
    _patient_mix(y, fit, pf)
    y.key(2, "services")
    for service in spec.services:
        sf = fit.services.get((pf.pathway, service))
        if sf is not None:
            _service(y, pf, sf)


def _patient_mix(y: _Yaml, fit: Fit, pf: PathwayFit) -> None:
    """The mix shares and each stream's own length of stay, where the extract gives them."""
    shares = {f: s for f, s in pf.mix.items() if s and next(iter(s.values())).enough}
    stays = {
        (service, stream): los
        for (pathway, service), sf in fit.services.items()
        if pathway == pf.pathway
        for stream, los in sf.stream_los.items()
        if stream in shares.get("streams", {})
    }
    if not shares and not stays:
        return
    y.key(2, "patient_mix")
    for field_name, by_value in shares.items():
        n = next(iter(by_value.values())).n
        values = list(by_value)
        written = {v: number(by_value[v].estimate.value, 3) for v in values}
        written[values[-1]] = number(1 - sum(float(written[v]) for v in values[:-1]), 3)
        for v in values:
            y.comment(3, f"{v} {by_value[v].estimate.text(3)}; n = {n:,} new referrals")
        y.key(3, field_name, flow(written))
    if stays:
        y.comment(
            3,
            "each stream's own length of stay, where it has at least 10 ended stays: "
            "below, each with its 95% CI and n = its stays",
        )
        y.key(3, "length_of_stay")
        for stream in sorted({stream for _, stream in stays}):
            y.key(4, stream)
            for (service, own), los in stays.items():
                if own == stream:
                    comments, value = distribution_lines(los, "length of stay", "days")
                    for c in comments:
                        y.comment(5, c)
                    y.key(5, service, value)


def _service(y: _Yaml, pf: PathwayFit, sf: ServiceFit) -> None:
    y.key(3, sf.service)
    rate = pf.rates.rate_per_100k[sf.service]
    y.comment(
        4,
        f"new referrals per 100,000 a year on the start date {rate.text(3)}; "
        f"n = {pf.rates.referrals[sf.service]:,} new referrals",
    )
    y.key(4, "referral_rate_per_100k_per_year", str(number(rate.value, 4)))
    if sf.los is not None:
        comments, value = distribution_lines(sf.los, "length of stay", "days")
        for c in comments:
            y.comment(4, c)
        y.key(4, "length_of_stay", value)
    discharges = next(iter(sf.routes.values())).n if sf.routes else 0
    steps = {to: s for to, s in sf.routes.items() if to != "home"}
    if discharges >= 20:
        if steps:
            y.key(4, "step_down")
            for to, share in steps.items():
                est = share.estimate
                y.comment(5, f"to {to} {est.text(3)}; n = {discharges:,} discharges")
                y.lines.append(
                    "  " * 5 + "- " + flow({"to": to, "probability": number(est.value, 3)})
                )
        else:
            y.comment(4, f"every one of {discharges:,} discharges went home")
            y.key(4, "step_down", "[]")
    elif discharges:
        y.comment(4, f"step-down: only {discharges} discharges; the base routes are kept")
    for note in sf.notes:
        y.comment(4, f"note: {note}")


def relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (with forward slashes)."""
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def scenario_name(out: Path) -> str:
    """A scenario name from the output file name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", out.stem).strip("-")
    return name or "fitted"


def write_fitted(
    fit: Fit,
    base_path: Path,
    out: Path,
    census_rows: list[dict[str, str]],
    census_summary: str,
    report_path: Path | None,
    command: str,
) -> Path:
    """Write the fitted scenario and its census; return the census path."""
    extract = fit.extract
    folder = out.parent
    census_path = out.with_name(f"{out.stem}-census.csv")
    write_census(census_path, census_rows)
    y = _Yaml()
    months = extract.period_days / (365.25 / 12)
    y.comment(0, f"Fitted by `{command}`")
    y.comment(
        0,
        f"on {dt.date.today():%d %b %Y} from {extract.file} ({len(extract.rows):,} rows; "
        f"period {extract.start} to {extract.extract_date}, {months:.0f} months).",
    )
    y.comment(0, f"Extract SHA-256: {_sha256(Path(extract.file))}.")
    if extract.dropped_rows:
        y.comment(0, f"{extract.dropped_rows} bad rows were left out (--drop-bad-rows).")
    y.comment(
        0, "Each fitted value has above it the estimate with its 95% confidence interval (CI)"
    )
    y.comment(0, "and the number of observations (n) it rests on. Anything not set here is the")
    y.comment(
        0,
        "base scenario's."
        + (
            f" The fits are shown in {relative(report_path, folder)}."
            if report_path is not None
            else ""
        ),
    )
    y.key(0, "extends", flow_scalar(relative(base_path, folder)))
    y.key(0, "name", scenario_name(out))
    y.key(
        0,
        "description",
        flow_scalar(
            f"{fit.base.name} fitted to {Path(extract.file).name} ({extract.start} to "
            f"{extract.extract_date}), starting from the patients in the system on {extract.end}."
        ),
    )
    y.key(0, "start_date", extract.end.isoformat(), "the day after the extract date")
    y.key(0, "warmup_days", "0", "the run starts from the census")
    y.key(0, "census", flow_scalar(relative(census_path, folder)), census_summary)
    y.blank()
    y.key(0, "pathways")
    for pf in fit.pathways.values():
        _pathway(y, fit, pf)
    out.write_text(y.text(), encoding="utf-8")
    return census_path


def _sha256(path: Path) -> str:
    """The extract's SHA-256, so that a fitted scenario names the exact data it came from."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "not readable"


def flow_scalar(text: str) -> str:
    """A YAML scalar, quoted if it needs to be."""
    return (
        yaml.safe_dump(text, default_style=None, width=1000).strip().removesuffix("\n...").strip()
    )
