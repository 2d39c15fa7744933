"""The programme view's values (issue 18; docs/programme.md): a figure, a table, a section's
result, the definition every figure carries, and the coded reasons behind them (pure: no I/O).

A *figure* is one number with its numerator and denominator (so a share can be checked by
hand); a *table* is rows of plain values under column ids (a series over time is a table with
a ``month`` or ``week`` column). Both name a :class:`Definition` by id: what is counted, over
which patients and which time window, what counts as on time, and the source. The API renders
the definitions in the reader's language beside the figures; docs/programme.md is generated
from the same definitions, so the page and the document cannot say different things.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from triage.domain.access import ProgrammeSection
from triage.domain.colours import Text
from triage.domain.escalation import EscalationPolicy


class Unit(StrEnum):
    """How a figure's value reads (the dashboard formats it; shares are 0–1)."""

    COUNT = "count"
    SHARE = "share"
    DAYS = "days"
    MINUTES = "minutes"
    HOURS = "hours"
    PER_PATIENT_WEEK = "per_patient_week"
    PER_NURSE_DAY = "per_nurse_day"
    PER_FTE = "per_fte"


class DischargeCode(StrEnum):
    """Why follow-up ended (coded at discharge; the nurse's words are kept beside it)."""

    STABLE = "stable"  # stable, manages without follow-up
    PATIENT_WITHDREW = "patient_withdrew"  # the patient chose to stop (dropout)
    COULD_NOT_USE_EQUIPMENT = "could_not_use_equipment"  # dropout
    NOT_SUITABLE = "not_suitable"  # the clinical judgement: not suited for remote follow-up
    NURSING_HOME = "nursing_home"  # moved to a nursing home or institution
    MOVED = "moved"  # moved out of the municipality
    DIED = "died"
    OTHER = "other"


#: The discharges that count as dropout (the patient left before the service was done with them).
DROPOUT_CODES = frozenset({DischargeCode.PATIENT_WITHDREW, DischargeCode.COULD_NOT_USE_EQUIPMENT})


class Coded(StrEnum):
    """A column (or a figure's key) holding codes that are shown by their label
    (:data:`CODE_LABELS`); municipalities and centres are shown by name (the API looks them
    up)."""

    STATE = "state"
    COLOUR = "colour"
    CONDITION = "condition"
    DISCHARGE = "discharge"
    OUTCOME = "outcome"
    SEX = "sex"
    MUNICIPALITY = "municipality"
    CENTRE = "centre"
    PATIENT = "patient"  # a name for the patient's nurses, "Pasient 1" for a lead or the admin
    HOME_CARE = "home_care"  # "yes" | "no"


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its id, its heading, the unit of its numbers (None for words and
    periods), and the code family of its cells when they are codes."""

    id: str
    title: Text
    unit: Unit | None = None
    coded: Coded | None = None


@dataclass(frozen=True, slots=True)
class Definition:
    """What a figure or table means: shown beside it and printed in docs/programme.md. A
    table's definition lists its columns; a figure's ``key_coded`` says what its keys are."""

    id: str  # "reach.enrolled"
    section: ProgrammeSection
    unit: Unit
    title: Text
    definition: Text  # numerator, denominator, time window, what counts as on time
    source: Text  # RE-AIM, the Helsedirektoratet DHO evaluation's indicator, or "DHO"
    columns: tuple[Column, ...] = ()
    key_coded: Coded | None = None


#: The reference of RE-AIM, cited by every part.
RE_AIM_PAPER = "Glasgow, Vogt, Boles 1999, Am J Public Health 89:1322"


def re_aim(nb: str, en: str) -> Text:
    """RE-AIM's dimension ``nb``/``en`` with the paper: "RE-AIM: rekkevidde (Glasgow, …)"."""
    return Text(nb=f"RE-AIM: {nb} ({RE_AIM_PAPER})", en=f"RE-AIM: {en} ({RE_AIM_PAPER})")


def cite(*sources: Text) -> Text:
    """Sources one after the other, in each language."""
    return Text(nb="; ".join(s.nb for s in sources), en="; ".join(s.en for s in sources))


NO_HDIR_INDICATOR = Text(
    nb="Helsedirektoratets evaluering av DHO har ingen slik indikator: DHOs egen",
    en="Helsedirektoratet's DHO evaluation has no such indicator: DHO's own",
)


#: The label of each code, by family (the programme's tables and exports show these).
CODE_LABELS: dict[Coded, dict[str, Text]] = {
    Coded.STATE: {
        "trial": Text(nb="Prøveperiode", en="Trial period"),
        "active": Text(nb="Aktiv", en="Active"),
        "paused": Text(nb="Pause", en="Paused"),
        "discharged": Text(nb="Avsluttet", en="Discharged"),
    },
    Coded.COLOUR: {
        "red": Text(nb="Rød", en="Red"),
        "yellow": Text(nb="Gul", en="Yellow"),
        "green": Text(nb="Grønn", en="Green"),
    },
    Coded.CONDITION: {
        "copd": Text(nb="KOLS", en="COPD"),
        "heart_failure": Text(nb="Hjertesvikt", en="Heart failure"),
        "diabetes": Text(nb="Diabetes", en="Diabetes"),
        "hypertension": Text(nb="Høyt blodtrykk", en="Hypertension"),
        "covid19": Text(nb="Covid-19", en="COVID-19"),
        "none": Text(nb="Ingen diagnose oppgitt", en="No condition given"),
    },
    Coded.DISCHARGE: {
        "stable": Text(nb="Stabil, klarer seg uten oppfølging", en="Stable, no longer needed"),
        "patient_withdrew": Text(nb="Pasienten ønsket å avslutte", en="The patient withdrew"),
        "could_not_use_equipment": Text(
            nb="Klarte ikke å bruke utstyret", en="Could not use the equipment"
        ),
        "not_suitable": Text(
            nb="Ikke egnet for oppfølging (klinisk vurdering)", en="Not suitable (clinical)"
        ),
        "nursing_home": Text(
            nb="Flyttet til sykehjem eller institusjon", en="Moved to a nursing home"
        ),
        "moved": Text(nb="Flyttet fra kommunen", en="Moved away"),
        "died": Text(nb="Død", en="Died"),
        "other": Text(nb="Annet", en="Other"),
        "none": Text(nb="Ikke kodet (før kodene kom)", en="Not coded (before codes)"),
    },
    Coded.OUTCOME: {
        "phoned_patient": Text(nb="Ringte pasienten", en="Phoned the patient"),
        "advised_per_plan": Text(nb="Ga råd etter planen", en="Advised per the plan"),
        "contacted_gp": Text(nb="Kontaktet fastlegen", en="Contacted the GP"),
        "home_care_visit_requested": Text(nb="Besøk fra hjemmesykepleien", en="Home-care visit"),
        "sent_to_emergency_care": Text(nb="Sendt til legevakt", en="Sent to emergency care"),
        "hospital_admission": Text(nb="Innlagt på sykehus", en="Admitted to hospital"),
        "no_action_needed": Text(nb="Ingen tiltak nødvendig", en="No action needed"),
        "none": Text(nb="Ingen utfall registrert", en="No outcome recorded"),
    },
    Coded.SEX: {
        "female": Text(nb="Kvinner", en="Women"),
        "male": Text(nb="Menn", en="Men"),
        "unknown": Text(nb="Ukjent", en="Unknown"),
    },
    Coded.HOME_CARE: {
        "yes": Text(nb="Har også hjemmesykepleie", en="Also receives home care"),
        "no": Text(nb="Uten hjemmesykepleie", en="Without home care"),
    },
}


@dataclass(frozen=True, slots=True)
class Figure:
    """One number: ``value`` is None when it cannot be computed (a share of nothing, a setting
    the admin has not entered); ``key`` tells apart figures of one definition (a colour)."""

    id: str
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    key: str | None = None


Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of plain values under column ids (labels come from the catalogue)."""

    id: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class SectionResult:
    section: ProgrammeSection
    figures: tuple[Figure, ...]
    tables: tuple[Table, ...]


@dataclass(frozen=True, slots=True)
class ProgrammeQuery:
    """Whose figures and over which days: the patients of ``centre_ids`` (None: every centre,
    the admin), optionally of some municipalities and one condition; the days ``start`` to
    ``end`` inclusive, in Europe/Oslo; ``now`` for figures "as of now";
    ``default_on_call_after`` the deployment's delay before a red is escalated
    (``DHO_ESCALATE_AFTER_MIN``), the red target of a centre that sets none."""

    start: date
    end: date
    now: datetime
    centre_ids: frozenset[str] | None = None
    municipality_ids: frozenset[str] | None = None
    condition: str | None = None
    default_on_call_after: timedelta = EscalationPolicy().on_call_after


def ratio(id: str, numerator: float, denominator: float, *, key: str | None = None) -> Figure:
    """A figure numerator/denominator; no value (not 0) when the denominator is 0."""
    value = numerator / denominator if denominator else None
    return Figure(id, value, numerator, denominator, key)


def count(id: str, value: float, *, key: str | None = None) -> Figure:
    return Figure(id, value, key=key)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` percentile by linear interpolation (the median at 0.5); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def minutes_percentile(values: Sequence[float], fraction: float) -> float | None:
    """:func:`percentile` of minutes, to a tenth of a minute (as the figures show them)."""
    found = percentile(values, fraction)
    return None if found is None else round(found, 1)
