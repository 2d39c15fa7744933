"""Thresholds proposed from the trial period's readings: the patient's own normal values (pure).

After a 2–4-week trial period with daily measurements, the plan is built from the patient's
goals and *normal values* and anchored with the GP [HDIR-SPREDNING]. This module proposes
those values; a person edits and approves them (a proposal is never used as it stands).

The rule (exact)
----------------
1. **Trial window**: the readings from enrolment for :data:`TRIAL_DAYS` (14) days, or up to
   now if that is sooner (:func:`trial_window`). Fourteen days is the short end of the
   2–4-week trial [HDIR-SPREDNING] and the baseline window used for COPD home monitoring
   [ALRAJEH20].
2. Per parameter of the condition template's zones: ``n`` readings, the **baseline** (median)
   and the **spread** (interquartile range, Q1–Q3, by :func:`statistics.quantiles`, inclusive
   method). The median and IQR are used rather than mean and SD because one bad reading (cold
   fingers on the oximeter) moves them little.
3. Fewer than :data:`MIN_READINGS` (7: half the window's daily readings) — **not enough data**:
   nothing is proposed for that parameter.
4. A baseline outside the template's green range — **baseline outside green**: nothing is
   proposed; the template stays, and the plan should be reviewed with the GP (a patient whose
   normal SpO2 is in the template's yellow zone needs a clinical decision, not statistics).
5. Otherwise the **personal yellow bounds** lie two standard deviations from the baseline,
   with the SD estimated robustly as IQR / 1.349 (the IQR of a normal distribution is 1.349
   SD) and never less than the parameter's reading resolution (:data:`RESOLUTION`, so that a
   patient whose readings were all equal is not yellow one step away). Two SD is the day-to-day
   variation the sources use for a personal change (pulse + 10/min ≈ 2 SD [HURST10]; SpO2
   3 points [BTS-O2]). The bound is rounded outwards to the resolution ("≤ 93.2 %" becomes
   "≤ 93 %", the same readings on a 1 % oximeter) — [PROJECT].
6. **Never looser than the template**: a personal yellow bound replaces the template's only
   where it is tighter (catches more values); only sides where the template has a yellow bound
   get one; the **red bounds are the template's safety bounds and are kept** — the red actions
   (113, legevakt) quote them, and sending patients to emergency care on a personal statistic
   is a harm of its own. The sustained rule (``yellow_after``) is kept as in the template.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from triage.domain.colours import Colour, Text
from triage.domain.plan import Limit, ParameterZones, PlanVersion
from triage.domain.plan_diff import catches_more
from triage.domain.readings import Parameter, Reading, format_quantity

TRIAL_DAYS = 14
MIN_READINGS = 7
SD_PER_IQR = 1 / 1.349
YELLOW_SDS = 2.0
SOURCES = ("HDIR-SPREDNING", "ALRAJEH20", "HURST10", "BTS-O2", "PROJECT")

#: The smallest step a home meter reports for each parameter (the floor of the spread).
RESOLUTION: dict[Parameter, float] = {
    Parameter.SYSTOLIC: 1.0,
    Parameter.DIASTOLIC: 1.0,
    Parameter.MEAN_ARTERIAL: 1.0,
    Parameter.PULSE: 1.0,
    Parameter.SPO2: 1.0,
    Parameter.GLUCOSE: 0.1,
    Parameter.WEIGHT: 0.1,
    Parameter.TEMPERATURE: 0.1,
    Parameter.RESPIRATORY_RATE: 1.0,
    Parameter.PEAK_FLOW: 5.0,
}


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"  # at least one personal bound is tighter than the template's
    TEMPLATE_KEPT = "template_kept"  # the template is already as tight as the personal bounds
    NOT_ENOUGH_DATA = "not_enough_data"
    BASELINE_OUTSIDE_GREEN = "baseline_outside_green"


class ParameterProposal(BaseModel):
    """One parameter: the trial's statistics, the template's zones and the proposed ones
    (``proposed`` is null when nothing is proposed: too little data, or a baseline outside
    the template's green range)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parameter: Parameter
    unit: str
    status: ProposalStatus
    n: int
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    iqr: float | None = None
    sd: float | None = None  # robust: IQR / 1.349, at least the resolution
    template: ParameterZones
    proposed: ParameterZones | None = None
    text: Text


class Proposal(BaseModel):
    """Thresholds proposed from the trial window; ``zones`` holds the proposed zones of every
    template parameter (the template's where nothing is proposed), ready for a new draft."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    since: AwareDatetime
    until: AwareDatetime
    min_readings: int = MIN_READINGS
    parameters: tuple[ParameterProposal, ...]
    zones: dict[Parameter, ParameterZones]
    rule: Text
    sources: tuple[str, ...] = SOURCES


RULE = Text(
    nb=f"Grunnlinje = median av målingene de første {TRIAL_DAYS} dagene; spredning = "
    "kvartilbredde (IQR). Gul grense = median ± 2 SD (SD = IQR/1,349, minst målerens "
    "oppløsning), bare der den er strengere enn malens. Røde grenser er malens og beholdes. "
    f"Under {MIN_READINGS} målinger: ikke nok data.",
    en=f"Baseline = median of the readings in the first {TRIAL_DAYS} days; spread = "
    "interquartile range (IQR). Yellow bound = median ± 2 SD (SD = IQR/1.349, at least the "
    "meter's resolution), only where tighter than the template's. Red bounds are the "
    f"template's and are kept. Fewer than {MIN_READINGS} readings: not enough data.",
)


def trial_window(enrolled_at: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The trial window: from enrolment for :data:`TRIAL_DAYS` days, or until ``now``."""
    return enrolled_at, min(now, enrolled_at + timedelta(days=TRIAL_DAYS))


def propose(
    template: PlanVersion, readings: Iterable[Reading], *, since: datetime, until: datetime
) -> Proposal:
    """The proposal for each parameter of ``template``'s zones from ``readings`` measured in
    ``[since, until]`` (see the module docstring for the rule)."""
    values: dict[Parameter, list[float]] = {p: [] for p in template.zones}
    for reading in readings:
        if not since <= reading.measured_at <= until:
            continue
        for parameter, value in reading.parameters.items():
            if parameter in values:
                values[parameter].append(value)
    parameters = tuple(
        propose_parameter(parameter, zones, values[parameter])
        for parameter, zones in template.zones.items()
    )
    return Proposal(
        since=since,
        until=until,
        parameters=parameters,
        zones={p.parameter: p.proposed or p.template for p in parameters},
        rule=RULE,
    )


def propose_parameter(
    parameter: Parameter, template: ParameterZones, values: list[float]
) -> ParameterProposal:
    """The proposal for one parameter from its trial values."""
    unit = parameter.unit
    label = Text(nb=parameter.label_nb, en=parameter.label_en)
    n = len(values)
    if n < MIN_READINGS:
        return ParameterProposal(
            parameter=parameter,
            unit=unit,
            status=ProposalStatus.NOT_ENOUGH_DATA,
            n=n,
            template=template,
            text=Text(
                nb=f"{label.nb}: ikke nok data ({n} målinger, minst {MIN_READINGS} trengs); "
                "malens grenser gjelder.",
                en=f"{label.en}: not enough data ({n} readings, at least {MIN_READINGS} "
                "needed); the template's bounds apply.",
            ),
        )
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    resolution = RESOLUTION[parameter]
    sd = max((q3 - q1) * SD_PER_IQR, resolution)
    summary = f"median {format_quantity(median, unit)} (IQR {_fmt(q1)}–{_fmt(q3)}, n = {n})"

    def result(
        status: ProposalStatus, proposed: ParameterZones | None, text: Text
    ) -> ParameterProposal:
        return ParameterProposal(
            parameter=parameter,
            unit=unit,
            status=status,
            n=n,
            median=median,
            q1=q1,
            q3=q3,
            iqr=q3 - q1,
            sd=round(sd, 3),
            template=template,
            proposed=proposed,
            text=text,
        )

    if template.zone(median)[0] is not Colour.GREEN:
        return result(
            ProposalStatus.BASELINE_OUTSIDE_GREEN,
            None,
            Text(
                nb=f"{label.nb}: {summary} ligger utenfor malens grønne område; malens "
                "grenser beholdes — gå gjennom planen med fastlegen.",
                en=f"{label.en}: {summary} lies outside the template's green range; the "
                "template's bounds are kept — review the plan with the GP.",
            ),
        )
    update: dict[str, Limit] = {}
    if template.yellow_low is not None:
        personal = Limit(value=_down(median - YELLOW_SDS * sd, resolution))
        if catches_more("low", personal, template.yellow_low):
            update["yellow_low"] = personal
    if template.yellow_high is not None:
        personal = Limit(value=_up(median + YELLOW_SDS * sd, resolution))
        if catches_more("high", personal, template.yellow_high):
            update["yellow_high"] = personal
    if not update:
        return result(
            ProposalStatus.TEMPLATE_KEPT,
            template,
            Text(
                nb=f"{label.nb}: {summary}; malens gule grenser er allerede like strenge "
                "som pasientens egne og beholdes.",
                en=f"{label.en}: {summary}; the template's yellow bounds are already as "
                "tight as the patient's own and are kept.",
            ),
        )
    sources = tuple(dict.fromkeys((*template.sources, "HDIR-SPREDNING")))
    proposed = ParameterZones.model_validate(
        {**template.model_dump(), **{k: v.model_dump() for k, v in update.items()}}
        | {"sources": sources}
    )
    moved_nb = "; ".join(_moved(name, template, proposed, unit, "nb") for name in update)
    moved_en = "; ".join(_moved(name, template, proposed, unit, "en") for name in update)
    return result(
        ProposalStatus.PROPOSED,
        proposed,
        Text(
            nb=f"{label.nb}: {summary}. Foreslått {moved_nb}; røde grenser som i malen.",
            en=f"{label.en}: {summary}. Proposed {moved_en}; red bounds as in the template.",
        ),
    )


def _moved(name: str, before: ParameterZones, after: ParameterZones, unit: str, lang: str) -> str:
    old: Limit = getattr(before, name)
    new: Limit = getattr(after, name)
    low = name.endswith("_low")
    old_s = old.describe_low(unit) if low else old.describe_high(unit)
    new_s = new.describe_low(unit) if low else new.describe_high(unit)
    if lang == "nb":
        return f"gul {'nedre' if low else 'øvre'} grense {new_s} (mal: {old_s})"
    return f"yellow {'low' if low else 'high'} bound {new_s} (template: {old_s})"


def _down(value: float, step: float) -> float:
    """``value`` rounded down to a multiple of ``step`` (a low bound moved outwards)."""
    return round(math.floor(round(value / step, 9)) * step, 6)


def _up(value: float, step: float) -> float:
    """``value`` rounded up to a multiple of ``step`` (a high bound moved outwards)."""
    return round(math.ceil(round(value / step, 9)) * step, 6)


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
