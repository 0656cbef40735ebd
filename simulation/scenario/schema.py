"""The scenario: a provider collaborative and the choices made for it, as checked data.

A scenario says what the footprint is (places and their populations), what capacity
it has (inpatient units, community teams), how each pathway behaves (referral rates,
assessment, diversion, length of stay, step-down, readmission) and how beds are
managed. These classes are the schema: every field has a type, a unit in its name and
bounds; unknown fields are refused, so a typo is an error rather than a silent default.
Instances are frozen. Cross-references between parts (a unit's place, a step-down's
team) are checked by :mod:`simulation.scenario.loading`, which is the only way to build
one, and the only way to make a changed copy (:func:`~simulation.scenario.loading.derive`).
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from simulation.core.distributions import Distribution, Fixed

PATHWAY_SERVICES: dict[str, tuple[str, ...]] = {
    "adult_secure": ("medium", "low"),
    "camhs_t4": ("general_adolescent", "picu", "eating_disorder", "low_secure"),
    "adult_ed": ("inpatient",),
}
"""The pathways the tool models and the bed types (services) each one has."""

PATHWAY_LABELS = {
    "adult_secure": "Adult secure",
    "camhs_t4": "CAMHS tier 4",
    "adult_ed": "Adult eating disorders",
}

Priority = Literal["urgent", "routine"]
"""A referral's priority: urgent patients are offered beds first."""
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
# Upper limits far above anything real, so that a slip of the keyboard (1e308) is refused
# rather than summed to infinity in the results.
MAX_GBP = 1e12
Pounds = Annotated[float, Field(ge=0, le=MAX_GBP, allow_inf_nan=False)]
"""Money: at most a trillion pounds."""
Miles = Annotated[float, Field(ge=0, le=25_000, allow_inf_nan=False)]
"""A distance: at most once round the Earth."""
MAX_DAYS = 36_525
Days = Annotated[float, Field(ge=0, le=MAX_DAYS, allow_inf_nan=False)]
"""A span of days: at most a hundred years."""
PositiveDays = Annotated[float, Field(gt=0, le=MAX_DAYS, allow_inf_nan=False)]
Factor = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]
"""A multiplier of today's value: above 0, at most a hundredfold."""


# -- names ------------------------------------------------------------------------------
# A name is shown in messages and written into every CSV; a scenario's name is also a
# folder name. These checks keep both safe, and are the only checks of names' text.

FORMULA_STARTS = ("=", "+", "-", "@")
"""First characters that make a spreadsheet evaluate a cell."""
INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Unicode categories a name may not hold: control and format characters (direction
overrides, zero-width spaces, the byte-order mark) and line and paragraph separators."""

RESERVED_NAMES = frozenset(
    {
        "parts",
        "report",
        "figures",
        "tables",
        "manifest.json",
        "resume.json",
        "report.json",
        "scenario.yaml",
        "comparison_notes.txt",
        *(
            f"{stem}.{suffix}"
            for stem in (
                "summary",
                "kpis",
                "monthly",
                "ledger",
                "ledger_summary",
                "events",
                "comparison",
            )
            for suffix in ("csv", "parquet")
        ),
    }
)
"""Names of the files and folders inside a results folder, which a scenario's name (an
alternative's sub-folder of a comparison) must not take, in any letter case."""


TOTAL_NAME = "all"
"""What the results tables put in a dimension's column (pathway, service, unit or team,
home place) for a total over every value of it (``simulation.results.catalogue.ALL``):
no name in a scenario may be it, or its rows would be taken for the total's."""


DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt") for i in range(1, 10))}
)
"""Names Windows keeps for devices, with or without an extension, in any letter case."""


def _plain_name(name: str) -> str:
    """A name without control characters, not one a spreadsheet would evaluate, not a total's."""
    if name == TOTAL_NAME:
        raise ValueError(
            f"{name!r} cannot be a name: the results tables use it for the total over "
            "every pathway, service, unit, team or place; choose another"
        )
    if any(unicodedata.category(c) in INVISIBLE for c in name):
        raise ValueError(
            "a name cannot hold control characters (tabs, line breaks, escapes) nor "
            "invisible ones that reorder or hide text (direction overrides, line "
            "separators, zero-width spaces)"
        )
    if name.startswith(FORMULA_STARTS) or name != name.strip():
        raise ValueError(
            "a name cannot start with =, +, - or @ (a spreadsheet would read it as a "
            "formula) nor start or end with a space"
        )
    return name


def _folder_name(name: str) -> str:
    """A scenario's name, which becomes a results folder (and a comparison's sub-folder)."""
    if name.startswith("."):
        raise ValueError(
            f"{name!r} cannot be a scenario name: it becomes a folder name, which must not "
            "start with a dot; use letters, digits, '_', '-' and '.'"
        )
    if name.split(".")[0].lower() in DEVICE_NAMES:
        raise ValueError(
            f"{name!r} cannot be a scenario name: Windows keeps it for a device, so a "
            "results folder of that name could not be opened there; choose another"
        )
    if name.lower() in RESERVED_NAMES or name.lower().startswith("compare-"):
        raise ValueError(
            f"{name!r} cannot be a scenario name: a results folder holds a file or folder "
            "of that name (or compare-...); choose another"
        )
    return name


Name = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_plain_name)]
ScenarioName = Annotated[
    str,
    Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$"),
    AfterValidator(_plain_name),
    AfterValidator(_folder_name),
]
# Upper limits far above any collaborative (England has 56 million people and about
# 7,300 secure beds), so that a slip of the keyboard is refused instead of running for ever.
Population = Annotated[int, Field(gt=0, le=100_000_000)]
BedCount = Annotated[int, Field(ge=0, le=100_000)]
MAX_PLACES = 100_000
"""The most places a community team can have, as given or after reinvestment."""
MAX_REPLICATIONS = 100_000
"""The most replications a run takes (a scenario's own, an argument's or a cap)."""
PlaceCount = Annotated[int, Field(ge=0, le=MAX_PLACES)]
RatePer100k = Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)]


MAX_DESCRIPTION = 20_000
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]
"""A scenario's words about itself: some paragraphs at most, shown on the page and report."""


class Strict(BaseModel):
    """Base for every scenario part: unknown fields refused, instances frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Place(Strict):
    """A local area in the footprint, whose residents are referred from it."""

    name: Name
    population: Population
    deprivation_quintile: Annotated[int, Field(ge=1, le=5)] | None = None


Sex = Literal["male", "female"]
"""A patient's sex as wards are split by it."""
UnitSex = Literal["any", "male", "female"]
"""Whom a unit takes by sex: ``any`` for a mixed unit."""


class Unit(Strict):
    """An inpatient unit in the footprint: beds of one service of one pathway.

    A unit takes patients of its ``sex`` (``any``: both), of its clinical ``streams`` and
    its ``age_bands`` (empty: every one); a patient is offered only units that take them.
    ``staffed_beds`` (at most ``beds``) are the beds it can open with its staff; money
    follows the funded ``beds``. With an ``occupancy_ceiling`` the unit admits only while
    its occupancy (of the beds it can open) is below that share.
    """

    name: Name
    pathway: Literal["adult_secure", "camhs_t4", "adult_ed"]
    service: Name
    place: Name
    provider: Literal["nhs", "independent"] = "nhs"
    beds: BedCount
    cost_per_bed_day_gbp: Pounds
    funding: Literal["occupied_bed_days", "block"] = "occupied_bed_days"
    """``occupied_bed_days``: pay for each bed day used (spot purchase); ``block``: pay
    for every open bed every day, occupied or not (a block contract)."""
    linked_places: tuple[Name, ...] = ()
    distance_miles: dict[Name, Miles] = Field(default_factory=dict)
    default_distance_miles: Miles = 20.0
    sex: UnitSex = "any"
    streams: tuple[Name, ...] = ()
    age_bands: tuple[Name, ...] = ()
    staffed_beds: BedCount | None = None
    occupancy_ceiling: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None

    @field_validator("staffed_beds")
    @classmethod
    def _staffed_within_funded(cls, staffed: int | None, info: ValidationInfo) -> int | None:
        # A field check (``beds`` comes first, so it is known unless it was refused), so
        # that the problem names ``staffed_beds`` rather than the whole unit.
        beds = info.data.get("beds")
        if staffed is not None and beds is not None and staffed > beds:
            raise ValueError(
                f"staffed_beds ({staffed}) is more than beds ({beds}); "
                "staffed beds are the funded beds that can be opened, so at most beds"
            )
        return staffed


class OutOfAreaSearch(Strict):
    """The search for an out-of-area bed: it takes time and may fail.

    A search goes in rounds (ringing round providers); each round takes ``round_days``
    (counted in working days, Monday to Friday, if ``working_days_only``) and finds a bed
    with ``probability_found``. Until one is found the patient keeps waiting (a footprint
    bed that frees first is still theirs). The bed found costs ``cost_per_bed_day_gbp`` and
    is ``distance_miles`` from home, each drawn from its distribution where given, else
    the service's fixed out-of-area values.
    """

    round_days: Distribution
    working_days_only: bool = False
    probability_found: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    cost_per_bed_day_gbp: Distribution | None = None
    distance_miles: Distribution | None = None


class OutOfArea(Strict):
    """What a placement outside the footprint costs, how far from home, how it is found.

    Without a ``search`` an out-of-area bed is found at once, always.
    """

    cost_per_bed_day_gbp: Pounds
    distance_miles: Miles
    search: OutOfAreaSearch | None = None


class StepDown(Strict):
    """A route out of a bed when the clinical stay ends: a lower-security bed or a team."""

    to: Name
    probability: Share


class Service(Strict):
    """One bed type of a pathway: its demand, its stays and where patients go next."""

    referral_rate_per_100k_per_year: RatePer100k
    length_of_stay: Distribution
    out_of_area: OutOfArea
    step_down: tuple[StepDown, ...] = ()

    @model_validator(mode="after")
    def _routes_sum_to_at_most_one(self) -> Service:
        total = sum(route.probability for route in self.step_down)
        if total > 1 + 1e-9:
            raise ValueError(
                f"step_down probabilities add up to {total:g}; they must add up to at most 1 "
                "(the rest are discharged home)"
            )
        return self


class PriorityMix(Strict):
    """Shares of referrals by clinical priority."""

    urgent: Share
    routine: Share

    @model_validator(mode="after")
    def _sum_to_one(self) -> PriorityMix:
        if abs(self.urgent + self.routine - 1) > 1e-9:
            raise ValueError(
                f"urgent + routine must add up to 1; they add up to {self.urgent + self.routine:g}"
            )
        return self


class Diversion(Strict):
    """Referrals sent to a community alternative instead of a bed, when it has room."""

    share: Share
    team: Name


class MaxWait(Strict):
    """Days a patient waits for a bed in the footprint before going out of area.

    ``null`` means never: the patient waits for a footprint bed however long it takes.
    """

    urgent: Days | None = None
    routine: Days | None = None


class Readmission(Strict):
    """Chance that a discharged inpatient is referred again (as urgent) within a window."""

    probability: Share = 0.0
    window_days: PositiveDays = 365.0


def _shares_sum_to_one(shares: dict[str, float], what: str) -> None:
    total = sum(shares.values())
    if shares and abs(total - 1) > 1e-9:
        raise ValueError(f"{what} shares must add up to 1; they add up to {total:g}")


class MixShares(Strict):
    """Shares of referrals by sex, clinical stream and age band (each adding up to 1).

    An empty mapping means the attribute is not modelled: every unit takes every value.
    """

    sex: dict[Sex, Share] = Field(default_factory=dict)
    streams: dict[Name, Share] = Field(default_factory=dict)
    age_bands: dict[Name, Share] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _each_sums_to_one(self) -> MixShares:
        _shares_sum_to_one({str(k): v for k, v in self.sex.items()}, "sex")
        _shares_sum_to_one(self.streams, "streams")
        _shares_sum_to_one(self.age_bands, "age_bands")
        return self


AnnualGrowth = Annotated[float, Field(gt=-1, le=1, allow_inf_nan=False)]
"""Growth of referral rates a year, compounded from the start date (0.03: 3% a year)."""


class StreamReferrals(Strict):
    """How many referrals one clinical stream makes, where it differs from its share.

    ``referral_rate_per_100k_per_year`` gives the stream its own rate for a service (per
    100,000 people of each place a year, in place of the stream's share of the service's
    rate); a service it does not name keeps the share. ``annual_growth`` gives the
    stream's referrals, to every service, their own growth in place of the pathway's.
    """

    referral_rate_per_100k_per_year: dict[Name, RatePer100k] = Field(default_factory=dict)
    annual_growth: AnnualGrowth | None = None


class AdultPathway(Strict):
    """The adult pathway a young person who turns 18 in a bed moves to, and when.

    ``pathway`` is another pathway of the scenario and ``services`` maps each young
    people's service to a service of it (``low_secure: low``); a young person in a service
    it does not map leaves for adult services outside the model, as without this setting.
    ``move`` says when:

    - ``transfer``: from the 18th birthday the patient is referred to the adult service
      (source ``transfer_at_18``) and waits for an adult bed under the adult pathway's
      rules (units that take them, maximum waits, the out-of-area market), keeping the
      young people's bed as a delayed discharge; then the rest of the stay, step-down
      and any readmission are the adult pathway's;
    - ``discharge``: the patient stays in the young people's bed until ready for
      discharge, then leaves by the adult service's step-down routes, and any
      readmission is to the adult pathway.

    The patient keeps their sex, and their clinical stream where the adult pathway's mix
    has it (else one is drawn from that mix); they have no age band there.
    """

    pathway: Name
    services: Annotated[dict[Name, Name], Field(min_length=1)]
    move: Literal["transfer", "discharge"]


class PatientMix(MixShares):
    """Who a pathway's referrals are: attributes drawn on arrival, and what differs by stream.

    ``places`` gives a place its own shares (an attribute it does not give keeps the
    pathway's). ``length_of_stay`` and ``step_down`` give a clinical stream its own
    distribution or routes for a service; the rest inherit the service's. ``referrals``
    gives a stream its own referral rate for a service, or its own growth: a stream it
    does not name is referred at its share of each service's rate (the place's share
    where the place gives one) growing at the pathway's ``annual_growth``. A pathway
    that gives ``referrals`` draws each stream's referrals, and the patients they bring,
    from the stream's own random streams, so that changing one stream's referrals leaves
    every other stream's as they were (the same rates with and without ``referrals``
    therefore give other, equally likely, referrals).
    """

    places: dict[Name, MixShares] = Field(default_factory=dict)
    adult_from_age_band: Name | None = None
    """The age band of young people who turn 18 within a year of referral (their birthday
    falls evenly over that year). One still in a bed on their 18th birthday moves to adult
    services when ready for discharge: no step-down within the pathway and no readmission
    to it (counted); to the scenario's adult pathway where ``adult_pathway`` names one."""
    adult_pathway: AdultPathway | None = None
    length_of_stay: dict[Name, dict[Name, Distribution]] = Field(default_factory=dict)
    step_down: dict[Name, dict[Name, tuple[StepDown, ...]]] = Field(default_factory=dict)
    referrals: dict[Name, StreamReferrals] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _routes_sum_to_at_most_one(self) -> PatientMix:
        for stream, services in self.step_down.items():
            for service, routes in services.items():
                total = sum(route.probability for route in routes)
                if total > 1 + 1e-9:
                    raise ValueError(
                        f"step_down of {stream} from {service}: probabilities add up to "
                        f"{total:g}; they must add up to at most 1"
                    )
        return self

    @property
    def used(self) -> bool:
        """Whether any attribute is modelled."""
        return bool(self.sex or self.streams or self.age_bands or self.places)


class Withdrawal(Strict):
    """Referrals closed while waiting for a bed after a patience time."""

    patience: Distribution


class Pathway(Strict):
    """How a pathway's referrals arrive, are assessed and flow through its services."""

    services: dict[Name, Service]
    arrivals: Literal["poisson", "regular"] = "poisson"
    """``poisson`` (random, the default) or ``regular`` (evenly spaced at the same rate,
    for checks by arithmetic)."""
    annual_growth: AnnualGrowth = 0.0
    seasonality: Annotated[tuple[Positive, ...], Field(min_length=12, max_length=12)] | None = None
    """12 monthly factors, January first, that must average 1 (within
    :data:`SEASONALITY_TOLERANCE`): they shape demand across the year; the referral rates
    and growth set how much there is. Factors that do not average 1 are refused rather
    than rescaled, so a scenario never means something other than it says."""
    priority_mix: PriorityMix = PriorityMix(urgent=0.0, routine=1.0)
    assessment_delay: Distribution = Fixed(distribution="fixed", value=0.0)
    not_accepted_share: Share = 0.0
    diversion: Diversion | None = None
    max_wait_days: MaxWait = MaxWait()
    readmission: Readmission = Readmission()
    withdrawal: Withdrawal | None = None
    patient_mix: PatientMix = PatientMix()

    @property
    def referrals_by_stream(self) -> bool:
        """Whether referrals arrive stream by stream (the patient mix gives ``referrals``)."""
        return bool(self.patient_mix.referrals)

    def stream_referrals(self, service: str, place: str) -> dict[str, tuple[float, float]]:
        """Each clinical stream's referrals of ``service`` from ``place``.

        (rate per 100,000 people a year, annual growth) by stream: the stream's own rate
        and growth where the patient mix's ``referrals`` give them, else its share (the
        place's, where it gives one) of the service's rate and the pathway's growth.
        """
        mix = self.patient_mix
        own = mix.places.get(place)
        shares = own.streams if own is not None and own.streams else mix.streams
        rate = self.services[service].referral_rate_per_100k_per_year
        out: dict[str, tuple[float, float]] = {}
        for stream, share in shares.items():
            given = mix.referrals.get(stream)
            if given is None:
                out[stream] = (share * rate, self.annual_growth)
                continue
            growth = given.annual_growth
            out[stream] = (
                given.referral_rate_per_100k_per_year.get(service, share * rate),
                self.annual_growth if growth is None else growth,
            )
        return out

    @field_validator("seasonality")
    @classmethod
    def _seasonality_averages_one(
        cls, factors: tuple[float, ...] | None
    ) -> tuple[float, ...] | None:
        if factors is None:
            return factors
        mean = math.fsum(factors) / len(factors)
        if abs(mean - 1.0) > SEASONALITY_TOLERANCE:
            raise ValueError(
                f"the 12 monthly factors must average 1, and these average {mean:.3f}, which "
                f"would multiply a year's referrals by {mean:.3f}; divide each by {mean:.3f} "
                "(the referral rate, not the seasonality, sets how many referrals there are)"
            )
        return factors


class CommunityTeam(Strict):
    """A community team with a finite caseload: diversion and step-down destination."""

    name: Name
    pathway: Literal["adult_secure", "camhs_t4", "adult_ed"]
    places: PlaceCount
    episode_length: Distribution
    cost_per_place_per_year_gbp: Pounds


class BedManagement(Strict):
    """How waiting patients are matched to beds."""

    allocation: Literal["continuous", "weekly_panel"] = "continuous"
    panel_weekday: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "wednesday"
    repatriation: bool = True
    scope: Literal["footprint", "linked_units"] = "footprint"
    """Where the bed manager may place a patient: ``footprint``, the unit linked to the
    home place if it can, else the nearest unit in the footprint that takes the patient
    (regional bed management); ``linked_units``, only units linked to the home place (each
    provider placing in its own units), the rest out of area."""
    urgent_between_panels: bool = True
    """Under a weekly panel: an urgent patient takes a free bed that will take them at
    once, between panels, and a patient at the maximum wait takes a free bed before an
    out-of-area one, as a bed manager would."""


class OneOffCost(Strict):
    """A cost incurred once, on a date (for example, setting up a new team)."""

    date: dt.date
    pathway: Name
    amount_gbp: Annotated[float, Field(ge=-MAX_GBP, le=MAX_GBP, allow_inf_nan=False)]
    description: str = ""


class Money(Strict):
    """Budgets and one-off costs. Spend itself follows bed days and funded places."""

    budget_gbp_per_year: dict[Name, Pounds] = Field(default_factory=dict)
    """Budget per pathway for each financial year; pathways not named have none."""
    budget_from: Name | None = None
    """A scenario file (path relative to this one) whose simulated spend, replication by
    replication and year by year, is the budget of pathways not given a figure."""
    one_off_costs: tuple[OneOffCost, ...] = ()


class _Change(Strict):
    date: dt.date
    description: str = ""


class SetBeds(_Change):
    """Open or close beds in a unit; a closure takes effect as beds empty."""

    set: Literal["beds"]
    unit: Name
    to: BedCount


class SetStaffedBeds(_Change):
    """Change the beds a unit can staff (``null``: all its funded beds); money is unchanged."""

    set: Literal["staffed_beds"]
    unit: Name
    to: BedCount | None


class SetPlaces(_Change):
    """Add or remove a community team's funded places."""

    set: Literal["places"]
    team: Name
    to: PlaceCount


class SetLengthOfStay(_Change):
    """Scale the clinical length of stay of admissions from the date on."""

    set: Literal["length_of_stay_factor"]
    pathway: Name
    service: Name
    to: Factor


class SetDiversion(_Change):
    """Change the share of referrals offered a community alternative."""

    set: Literal["diversion_share"]
    pathway: Name
    to: Share


class SetMaxWait(_Change):
    """Change the maximum wait before an out-of-area placement."""

    set: Literal["max_wait_days"]
    pathway: Name
    priority: Literal["urgent", "routine"]
    to: Days | None


class SetStepDown(_Change):
    """Change a service's step-down routes, for referrals arriving from the date on."""

    set: Literal["step_down"]
    pathway: Name
    service: Name
    to: tuple[StepDown, ...]

    @model_validator(mode="after")
    def _routes_sum_to_at_most_one(self) -> SetStepDown:
        total = sum(route.probability for route in self.to)
        if total > 1 + 1e-9:
            raise ValueError(f"step_down probabilities add up to {total:g}; at most 1 allowed")
        return self


Change = Annotated[
    SetBeds
    | SetStaffedBeds
    | SetPlaces
    | SetLengthOfStay
    | SetDiversion
    | SetMaxWait
    | SetStepDown,
    Field(discriminator="set"),
]
"""A change to capacity or policy that takes effect on a date."""


class ReinvestmentRule(Strict):
    """Turn a share of each financial year's savings into new community places.

    At each financial year end, savings = budget - spend for the pathway. A share of a
    positive saving buys places (at each team's cost per place-year, split across teams
    by ``teams``), which arrive after a recruitment lag and ramp up evenly over
    ``ramp_up_days``. With ``reverse_on_overspend`` an overspend removes places the same
    way (never below the places the scenario started with).
    """

    pathway: Name
    share_of_savings: Share
    teams: dict[Name, Share]
    recruitment_lag_days: Days = 180.0
    ramp_up_days: Days = 0.0
    cap_places: PlaceCount | None = None
    reverse_on_overspend: bool = False

    @model_validator(mode="after")
    def _split_sums_to_one(self) -> ReinvestmentRule:
        total = sum(self.teams.values())
        if not self.teams or abs(total - 1) > 1e-9:
            raise ValueError(f"teams shares must add up to 1; they add up to {total:g}")
        return self


SEASONALITY_TOLERANCE = 0.005
"""How far the mean of the 12 seasonality factors may be from 1 (factors typed to two
decimals rarely average exactly 1)."""


def whole_days(years: float) -> float:
    """A number of years as whole days (365.25 days a year)."""
    return float(round(years * 365.25))


SHARED_WITH_BUDGET = ("seed", "start_date", "horizon_years")
"""What a ``money.budget_from`` scenario always takes from the scenario that names it:
the same random numbers and the same financial years, so that each year has a budget."""


CensusStatus = Literal[
    "assessment", "waiting", "in_bed", "out_of_area", "community", "diverted", "discharged"
]
"""Where a census patient is on the start date."""


@dataclass(frozen=True, slots=True)
class CensusPatient:
    """One checked census row; days are counted back from the start date."""

    line: int
    patient_id: str
    pathway: str
    service: str
    home_place: str
    status: CensusStatus
    priority: Priority | None
    """None: drawn from the pathway's priority mix."""
    unit: str | None
    """The unit of a patient ``in_bed``."""
    team: str | None
    """The team of a patient ``community`` or ``diverted``."""
    since_days: float
    """Days in the status before the start date: assessed, waited, in a bed, on a caseload."""
    ready_days: float | None
    """Days since the patient was ready for discharge (in a bed only), if ready."""
    discharge_to: str | None
    """``home``, a service or a team, for a patient ready to leave."""
    sex: str | None = None
    stream: str | None = None
    age_band: str | None = None
    """The patient mix's attributes; None: unknown, drawn from the mix."""


FIRST_START = dt.date(1900, 1, 1)
LAST_START = dt.date(2199, 12, 31)
"""The earliest and latest start dates: far from any plan, and far inside the calendar."""


class Scenario(Strict):
    """A whole collaborative and one set of choices for it. Build with ``load_scenario``."""

    name: ScenarioName
    description: Description = ""
    start_date: dt.date
    horizon_years: Annotated[float, Field(gt=0, le=50, allow_inf_nan=False)]
    warmup_days: Annotated[float, Field(ge=0, le=36500, allow_inf_nan=False)] = 0.0
    replications: Annotated[int, Field(ge=1, le=MAX_REPLICATIONS)] = 10
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    places: tuple[Place, ...]
    units: tuple[Unit, ...] = ()
    community_teams: tuple[CommunityTeam, ...] = ()
    pathways: Annotated[dict[Name, Pathway], Field(min_length=1)]
    bed_management: BedManagement = BedManagement()
    money: Money = Money()
    changes: tuple[Change, ...] = ()
    reinvestment: tuple[ReinvestmentRule, ...] = ()
    census: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    """A census file (CSV, path relative to the scenario file that names it) of the
    patients in assessment, waiting, in beds and on community caseloads at the start
    date: the run starts from them instead of empty, with no warm-up needed (given one
    as well, the run starts from the census at the start of the warm-up)."""
    _budget_scenario: Scenario | None = PrivateAttr(default=None)
    _census: tuple[CensusPatient, ...] = PrivateAttr(default=())

    @field_validator("start_date")
    @classmethod
    def _start_date_in_calendar(cls, start: dt.date) -> dt.date:
        # Months, financial years and a 50-year horizon must all stay inside the calendar.
        if not FIRST_START <= start <= LAST_START:
            raise ValueError(
                f"{start.isoformat()} is outside the dates a run can start on: expected a "
                f"date from {FIRST_START.isoformat()} to {LAST_START.isoformat()}"
            )
        return start

    @field_validator("horizon_years")
    @classmethod
    def _horizon_at_least_a_day(cls, years: float) -> float:
        if whole_days(years) < 1:
            raise ValueError(
                f"{years:g} years is less than a day; "
                "give a horizon of at least one day (0.003 years)"
            )
        return years

    @property
    def budget_scenario(self) -> Scenario | None:
        """The ``money.budget_from`` scenario, if any, set by the loader.

        It has this scenario's seed, start date and horizon (:data:`SHARED_WITH_BUDGET`)
        and, where an override set them, its warm-up too; otherwise it is as its own file
        says (its own start state: census or warm-up).
        """
        return self._budget_scenario

    @property
    def census_patients(self) -> tuple[CensusPatient, ...]:
        """The patients of the ``census`` file, checked against this scenario.

        Set by the loader; empty when the run starts empty.
        """
        return self._census

    @property
    def horizon_days(self) -> float:
        """Length of the reported period in days (whole days)."""
        return whole_days(self.horizon_years)

    @property
    def end_date(self) -> dt.date:
        """First day after the reported period."""
        return self.start_date + dt.timedelta(days=self.horizon_days)

    def units_of(self, pathway: str, service: str) -> tuple[Unit, ...]:
        """The footprint's units of one service."""
        return tuple(u for u in self.units if u.pathway == pathway and u.service == service)

    def team(self, name: str) -> CommunityTeam:
        """The community team called ``name``."""
        for team in self.community_teams:
            if team.name == name:
                return team
        raise KeyError(name)

    def day_of(self, date: dt.date) -> float:
        """Model day of a calendar date (day 0 is the start date)."""
        return float((date - self.start_date).days)

    def services(self) -> list[tuple[str, str]]:
        """Every (pathway, service) the scenario models, in a fixed order."""
        return [(p, s) for p, spec in self.pathways.items() for s in spec.services]
