"""Condition templates: starting plans for COPD, heart failure, diabetes, hypertension, COVID-19.

Every number carries the keys of its sources (``sources=``), which ``docs/clinical/sources.md``
lists in full; ``docs/clinical/templates.md`` is generated from these templates (a test keeps it
in sync). ``PROJECT`` marks a project choice derived from the sources, to be reviewed by the
clinicians who adopt it. A template is a *draft*: after the 2–4-week trial period its numbers are
replaced by the patient's own and approved by the GP or nurse [HDIR-SPREDNING].
"""

from __future__ import annotations

from datetime import time, timedelta

from triage.domain.colours import Colour, Text
from triage.domain.plan import (
    ActionCode,
    BaselineRule,
    CombinationRule,
    Condition,
    Limit,
    MissingMeasurementRule,
    News2Rule,
    NofM,
    ParameterZones,
    PlanVersion,
    QuestionnaireRule,
    Rule,
    Schedule,
    ScheduledMeasurement,
    TrendRule,
    ZoneActions,
)
from triage.domain.readings import Kind, Parameter

EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)
MONDAY_THURSDAY = (1, 4)


def below(value: float) -> Limit:
    """A strict bound: "< value" on the low side, "> value" on the high side."""
    return Limit(value=value, inclusive=False)


def at(value: float) -> Limit:
    """An inclusive bound: "≤ value" on the low side, "≥ value" on the high side."""
    return Limit(value=value)


def _missing() -> MissingMeasurementRule:
    return MissingMeasurementRule(sources=("COPDX-TELESCOT", "OSLO-DIGNIO", "GH-LUSCII"))


_GREEN = ZoneActions(
    patient=Text(nb="Fortsett som avtalt i planen.", en="Carry on as agreed in your plan."),
    nurse=Text(
        nb="Ingen handling; kvitter ut grønne målinger.", en="No action; acknowledge greens."
    ),
    codes=(ActionCode.CONTINUE_PLAN,),
)


def _pulse_zones() -> ParameterZones:
    return ParameterZones(
        red_low=at(40),
        yellow_low=at(50),
        yellow_high=at(101),
        red_high=at(131),
        sources=("RCP-N2", "TELBIL", "NICE-NG51"),
    )


def copd() -> PlanVersion:
    """COPD, not hypercapnic (NEWS2 SpO2 scale 1)."""
    rules: tuple[Rule, ...] = (
        BaselineRule(
            id="spo2-baseline-fall",
            parameter=Parameter.SPO2,
            direction="below",
            change=at(3),
            baseline_days=14,
            min_readings=3,
            sources=("BTS-O2", "ALRAJEH20"),
        ),
        BaselineRule(
            id="spo2-baseline-fall-red",
            parameter=Parameter.SPO2,
            direction="below",
            change=at(5),
            colour=Colour.RED,
            baseline_days=14,
            min_readings=3,
            sources=("PROJECT", "BTS-O2"),
        ),
        BaselineRule(
            id="pulse-baseline-rise",
            parameter=Parameter.PULSE,
            direction="above",
            change=at(10),
            baseline_days=14,
            min_readings=3,
            yellow_after=NofM(n=2, m=2),
            sources=("HURST10", "HANLEY15"),
        ),
        QuestionnaireRule(
            id="copd-symptoms",
            questionnaire="copd-daily",
            yellow_at=1,
            sources=("MLML", "PEACEHEALTH"),
        ),
        CombinationRule(
            id="copd-vitals-with-symptoms",
            groups={
                "vital signs": ("threshold:*", "spo2-baseline-*", "pulse-baseline-*"),
                "symptoms": ("copd-symptoms",),
            },
            within=timedelta(hours=24),
            sources=("BEAT-HF", "HURST10", "PROJECT"),
        ),
        _missing(),
    )
    return PlanVersion(
        plan_id="template-copd",
        version=1,
        condition=Condition.COPD,
        spo2_scale=1,
        zones={
            Parameter.SPO2: ParameterZones(
                red_low=at(87), yellow_low=at(91), sources=("NFLM", "COOPER20", "PROJECT")
            ),
            Parameter.PULSE: _pulse_zones(),
            Parameter.TEMPERATURE: ParameterZones(
                red_low=at(35.0), yellow_low=at(36.0), yellow_high=at(38.1), sources=("RCP-N2",)
            ),
            Parameter.RESPIRATORY_RATE: ParameterZones(
                red_low=at(8), yellow_high=at(21), red_high=at(25), sources=("RCP-N2", "NICE-NG51")
            ),
        },
        rules=rules,
        schedule=Schedule(
            items=(
                ScheduledMeasurement(
                    kinds=(Kind.SPO2, Kind.BODY_TEMPERATURE),
                    questionnaire="copd-daily",
                    days=MONDAY_THURSDAY,
                    due_by=time(12, 0),
                    sources=("VV-KOLS", "TCN"),
                ),
            )
        ),
        actions={
            Colour.GREEN: _GREEN,
            Colour.YELLOW: ZoneActions(
                patient=Text(
                    nb="Hvil 5 minutter og mål på nytt. Bruk anfallsmedisinen. Start "
                    "reservekuren bare hvis planen sier det. Sykepleier ringer deg i dag.",
                    en="Rest 5 minutes and measure again. Use your reliever inhaler. Start the "
                    "rescue pack only if your plan says so. A nurse will call you today.",
                ),
                nurse=Text(
                    nb="Ring pasienten i dag. Kontakt fastlegen hvis ingen bedring på 24–48 t.",
                    en="Call the patient today. Contact the GP if no better within 24–48 h.",
                ),
                codes=(ActionCode.SELF_CARE, ActionCode.NURSE_REVIEW_SAME_DAY),
            ),
            Colour.RED: ZoneActions(
                patient=Text(
                    nb="Ring legevakten på 116 117 nå. Ring 113 hvis du er tungpustet i hvile, "
                    "forvirret eller har brystsmerter.",
                    en="Call the out-of-hours GP on 116 117 now. Call 113 if you are breathless "
                    "at rest, confused or have chest pain.",
                ),
                nurse=Text(
                    nb="Følg opp ved neste åpning: sjekk at pasienten har fått hjelp.",
                    en="Follow up at the next opening: check the patient got help.",
                ),
                codes=(ActionCode.URGENT_LEGEVAKT, ActionCode.EMERGENCY_113),
            ),
        },
        sources=("HDIR-SPREDNING", "MLML", "PEACEHEALTH"),
    )


def heart_failure() -> PlanVersion:
    """Heart failure: daily weight, blood pressure, pulse, SpO2 and symptoms."""
    rules: tuple[Rule, ...] = (
        TrendRule(
            id="weight-3-days",
            parameter=Parameter.WEIGHT,
            window=timedelta(days=3),
            rise=below(2.0),
            sources=("HFM-WEIGHT", "TERVEYSKYLA"),
        ),
        TrendRule(
            id="weight-previous-day",
            parameter=Parameter.WEIGHT,
            window=timedelta(hours=30),
            rise=at(1.4),
            sources=("HEARTPHONE", "ALLINA"),
        ),
        TrendRule(
            id="weight-7-days",
            parameter=Parameter.WEIGHT,
            window=timedelta(days=7),
            rise=below(2.7),
            sources=("BEAT-HF",),
        ),
        BaselineRule(
            id="spo2-baseline-fall",
            parameter=Parameter.SPO2,
            direction="below",
            change=at(3),
            baseline_days=14,
            min_readings=5,
            sources=("BTS-O2",),
        ),
        QuestionnaireRule(
            id="hf-symptoms",
            questionnaire="hf-daily",
            yellow_at=1,
            sources=("BEAT-HF", "HOWIE"),
        ),
        CombinationRule(
            id="hf-weight-with-symptoms",
            groups={"weight": ("weight-*",), "symptoms": ("hf-symptoms",)},
            within=timedelta(hours=24),
            sources=("BEAT-HF", "HOWIE"),
        ),
        _missing(),
    )
    return PlanVersion(
        plan_id="template-heart-failure",
        version=1,
        condition=Condition.HEART_FAILURE,
        zones={
            Parameter.SYSTOLIC: ParameterZones(
                red_low=below(80),
                yellow_low=below(100),
                yellow_high=below(160),
                red_high=below(170),
                sources=("BEAT-HF", "NICE-NG51"),
            ),
            Parameter.PULSE: ParameterZones(
                red_low=at(40),
                yellow_low=at(50),
                yellow_high=at(101),
                red_high=below(110),
                sources=("BEAT-HF", "RCP-N2"),
            ),
            Parameter.SPO2: ParameterZones(red_low=at(91), yellow_low=at(93), sources=("RCP-N2",)),
        },
        rules=rules,
        schedule=Schedule(
            items=(
                ScheduledMeasurement(
                    kinds=(Kind.BODY_WEIGHT, Kind.BLOOD_PRESSURE, Kind.SPO2),
                    questionnaire="hf-daily",
                    days=EVERY_DAY,
                    due_by=time(10, 0),
                    sources=("HFM-WEIGHT", "TIMHF2"),
                ),
            )
        ),
        actions={
            Colour.GREEN: _GREEN,
            Colour.YELLOW: ZoneActions(
                patient=Text(
                    nb="Ta ekstra vanndrivende slik planen sier, og sjekk væske og salt. "
                    "Sykepleier ringer deg i dag.",
                    en="Take the extra diuretic dose your plan allows and check fluid and salt. "
                    "A nurse will call you today.",
                ),
                nurse=Text(
                    nb="Ring pasienten i dag; vurder kontakt med fastlegen om diuretika.",
                    en="Call the patient today; consider asking the GP about diuretics.",
                ),
                codes=(ActionCode.SELF_CARE, ActionCode.NURSE_REVIEW_SAME_DAY),
            ),
            Colour.RED: ZoneActions(
                patient=Text(
                    nb="Kontakt fastlegen i dag, eller legevakten på 116 117. Ring 113 ved "
                    "tung pust i hvile, brystsmerter eller besvimelse.",
                    en="Contact your GP today, or the out-of-hours GP on 116 117. Call 113 if "
                    "you are breathless at rest, have chest pain or fainted.",
                ),
                nurse=Text(
                    nb="Ring pasienten straks; kontakt fastlegen samme dag.",
                    en="Call the patient at once; contact the GP the same day.",
                ),
                codes=(
                    ActionCode.CONTACT_GP_TODAY,
                    ActionCode.URGENT_LEGEVAKT,
                    ActionCode.EMERGENCY_113,
                ),
            ),
        },
        sources=("HDIR-SPREDNING", "HFA-SELFCARE"),
    )


def diabetes() -> PlanVersion:
    """Diabetes: capillary glucose in mmol/L."""
    return PlanVersion(
        plan_id="template-diabetes",
        version=1,
        condition=Condition.DIABETES,
        zones={
            Parameter.GLUCOSE: ParameterZones(
                red_low=below(3.0),
                yellow_low=below(4.0),
                yellow_high=below(13.9),
                red_high=at(20.0),
                yellow_after=NofM(n=2, m=2, side="high"),
                sources=("ADA-HYPO", "IHSG", "NEL-HYPO", "METODEBOK", "TIR", "JBDS-HHS", "PROJECT"),
            ),
        },
        rules=(_missing(),),
        schedule=Schedule(
            items=(
                ScheduledMeasurement(
                    kinds=(Kind.GLUCOSE,), days=EVERY_DAY, due_by=time(9, 0), sources=("PROJECT",)
                ),
            )
        ),
        actions={
            Colour.GREEN: _GREEN,
            Colour.YELLOW: ZoneActions(
                patient=Text(
                    nb="Lavt: ta 15–20 g raskt sukker og mål igjen om 15 minutter. Høyt: følg "
                    "sykedagsreglene. Sykepleier ringer deg i dag.",
                    en="Low: take 15–20 g of fast sugar and measure again in 15 minutes. High: "
                    "follow your sick-day rules. A nurse will call you today.",
                ),
                nurse=Text(
                    nb="Ring pasienten i dag og gå gjennom medisinene.",
                    en="Call the patient today and review the medication.",
                ),
                codes=(ActionCode.SELF_CARE, ActionCode.NURSE_REVIEW_SAME_DAY),
            ),
            Colour.RED: ZoneActions(
                patient=Text(
                    nb="Kontakt fastlegen i dag eller legevakten på 116 117. Ring 113 hvis du "
                    "ikke klarer å svelge, blir bevisstløs, eller ketoner er 3,0 eller mer.",
                    en="Contact your GP today or the out-of-hours GP on 116 117. Call 113 if "
                    "you cannot swallow, lose consciousness, or ketones are 3.0 or more.",
                ),
                nurse=Text(
                    nb="Ring pasienten straks; kontakt fastlegen samme dag.",
                    en="Call the patient at once; contact the GP the same day.",
                ),
                codes=(
                    ActionCode.CONTACT_GP_TODAY,
                    ActionCode.URGENT_LEGEVAKT,
                    ActionCode.EMERGENCY_113,
                ),
            ),
        },
        sources=("HDIR-SPREDNING", "FORTHVALLEY", "HSCNI", "METODEBOK"),
    )


def hypertension() -> PlanVersion:
    """Hypertension: home blood pressure (the mean of two readings 1 minute apart)."""
    return PlanVersion(
        plan_id="template-hypertension",
        version=1,
        condition=Condition.HYPERTENSION,
        zones={
            Parameter.SYSTOLIC: ParameterZones(
                red_low=at(90),
                yellow_high=at(160),
                red_high=at(180),
                sources=("ESC24", "FRAGOULIS", "RCP-N2", "NICE-NG51", "PROJECT"),
            ),
            Parameter.DIASTOLIC: ParameterZones(
                yellow_high=at(100), red_high=at(110), sources=("ESC24", "FRAGOULIS", "PROJECT")
            ),
            Parameter.PULSE: _pulse_zones(),
        },
        rules=(_missing(),),
        schedule=Schedule(
            items=(
                ScheduledMeasurement(
                    kinds=(Kind.BLOOD_PRESSURE,),
                    days=MONDAY_THURSDAY,
                    due_by=time(10, 0),
                    sources=("CHEP17", "PROJECT"),
                ),
            )
        ),
        actions={
            Colour.GREEN: _GREEN,
            Colour.YELLOW: ZoneActions(
                patient=Text(
                    nb="Sitt i ro i 5 minutter og mål to ganger med 1 minutts mellomrom.",
                    en="Sit quietly for 5 minutes and measure twice, 1 minute apart.",
                ),
                nurse=Text(
                    nb="Gå gjennom målingene ved neste kontakt.",
                    en="Review the readings at the next contact.",
                ),
                codes=(ActionCode.SELF_CARE, ActionCode.NURSE_REVIEW_NEXT),
            ),
            Colour.RED: ZoneActions(
                patient=Text(
                    nb="Kontakt fastlegen i dag, eller legevakten på 116 117 når fastlegen er "
                    "stengt. Ring 113 ved brystsmerter, tung pust, lammelser, sterk hodepine "
                    "eller synsforstyrrelser.",
                    en="Contact your GP today, or the out-of-hours GP on 116 117 when the GP is "
                    "closed. Call 113 if you have chest pain, breathlessness, weakness, severe "
                    "headache or disturbed vision.",
                ),
                nurse=Text(
                    nb="Ring pasienten straks; sjekk symptomer og kontakt fastlegen.",
                    en="Call the patient at once; check symptoms and contact the GP.",
                ),
                codes=(
                    ActionCode.CONTACT_GP_TODAY,
                    ActionCode.URGENT_LEGEVAKT,
                    ActionCode.EMERGENCY_113,
                ),
            ),
        },
        sources=("HDIR-SPREDNING", "ESH-HBPM", "CHEP17"),
    )


def covid19() -> PlanVersion:
    """COVID-19 and other acute respiratory infections, without chronic lung disease."""
    return PlanVersion(
        plan_id="template-covid19",
        version=1,
        condition=Condition.COVID19,
        zones={
            Parameter.SPO2: ParameterZones(
                red_low=at(92), yellow_low=at(94), sources=("NHSE-OXI", "PULSE-OXI")
            ),
            Parameter.RESPIRATORY_RATE: ParameterZones(
                red_low=at(8),
                yellow_high=at(21),
                red_high=at(25),
                sources=("DURHAM", "RCP-N2", "NICE-NG51"),
            ),
            Parameter.PULSE: ParameterZones(
                red_low=at(40), yellow_high=at(101), red_high=at(111), sources=("DURHAM", "RCP-N2")
            ),
            Parameter.TEMPERATURE: ParameterZones(
                red_low=at(35.0), yellow_high=at(38.1), sources=("DURHAM", "RCP-N2")
            ),
        },
        rules=(
            # Computed only when respiration rate, blood pressure and a new-confusion answer
            # are also recorded within the hour (e.g. at a home visit); never partially.
            News2Rule(id="news2", sources=("RCP-N2", "CLINMED-DEF", "CEBM-NEWS")),
            _missing(),
        ),
        schedule=Schedule(
            items=tuple(
                ScheduledMeasurement(
                    kinds=(Kind.SPO2, Kind.BODY_TEMPERATURE),
                    days=EVERY_DAY,
                    due_by=due,
                    sources=("SMIT-BJGP", "NHSE-OXI"),
                )
                for due in (time(10, 0), time(15, 0), time(21, 0))
            )
        ),
        actions={
            Colour.GREEN: _GREEN,
            Colour.YELLOW: ZoneActions(
                patient=Text(
                    nb="Hvil 5 minutter med varme hender og mål på nytt. Sykepleier følger "
                    "deg opp i dag.",
                    en="Rest 5 minutes with warm hands and measure again. A nurse will follow "
                    "you up today.",
                ),
                nurse=Text(
                    nb="Ring pasienten i dag; daglig oppfølging så lenge gul.",
                    en="Call the patient today; follow up daily while yellow.",
                ),
                codes=(ActionCode.SELF_CARE, ActionCode.NURSE_REVIEW_SAME_DAY),
            ),
            Colour.RED: ZoneActions(
                patient=Text(
                    nb="Ring 113 nå hvis metningen er 92 % eller lavere eller du ikke klarer å "
                    "fullføre setninger. Ellers ring legevakten på 116 117.",
                    en="Call 113 now if your saturation is 92 % or lower or you cannot finish "
                    "sentences. Otherwise call the out-of-hours GP on 116 117.",
                ),
                nurse=Text(
                    nb="Sjekk straks at pasienten har fått hjelp.",
                    en="Check at once that the patient got help.",
                ),
                codes=(ActionCode.EMERGENCY_113, ActionCode.URGENT_LEGEVAKT),
            ),
        },
        sources=("HDIR-SPREDNING", "NHSE-OXI", "PMS-OXI"),
    )


TEMPLATES = {
    Condition.COPD: copd,
    Condition.HEART_FAILURE: heart_failure,
    Condition.DIABETES: diabetes,
    Condition.HYPERTENSION: hypertension,
    Condition.COVID19: covid19,
}


def template(condition: Condition | str) -> PlanVersion:
    """The starting plan (a draft, version 1) for ``condition``."""
    return TEMPLATES[Condition(condition)]()
