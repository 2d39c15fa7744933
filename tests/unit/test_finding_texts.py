"""Findings put into words from the catalogue (triage/texts): every rule kind in bokmål and
English, numbers through Babel, no English word or internal id on a bokmål reason, and old
stored findings (words, no message key) still shown."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.plans import NOW, days_ago, make_plan, reading
from tests.unit.test_classify import (
    COPD_ANSWERS_USUAL,
    FIXED,
    GROUPED,
    NEWS2_PLAN,
    PLAN,
    QPLAN,
    SUSTAINED,
    TREND,
    _past,
    _report,
    _vitals_history,
)
from triage.domain.classify import History, classify, classify_report
from triage.domain.colours import Colour
from triage.domain.findings import Finding
from triage.domain.lost_contact import lost_contact_finding
from triage.domain.plan import Condition, PlanVersion
from triage.domain.schedule import missing_findings
from triage.domain.templates import template
from triage.domain.undelivered import journal_undelivered_finding, undelivered_finding
from triage.texts.catalogue import LANGUAGES, keys, po_path, text
from triage.texts.findings import reason, stored_reason

#: English words that must never reach a bokmål reason (the words the old texts leaked)
ENGLISH = re.compile(
    r"\b(red|yellow|green|score|band|bands|plan v\d|from the plan|within|bound|baseline|"
    r"readings?|lowest|highest|risk|groups?|deviations?|symptoms|weight|questionnaire|"
    r"missing|measured|due|the|and|of|or|below|above|needs|held)\b",
    re.IGNORECASE,
)
#: internal ids: rule ids ("hf-daily", "weight-3-days"), keys ("red_low", "threshold:spo2")
INTERNAL_ID = re.compile(r"\b[a-z]+-[a-z0-9-]+\b|\b[a-z]+_[a-z_]+\b|\bthreshold:")
DECIMAL_POINT = re.compile(r"\d\.\d")
#: a date as bokmål writes it ("18.11", "31.12.2025"): dots that are not decimal points
DATE = re.compile(r"\b\d{2}\.\d{2}(\.\d{4})?\b")
#: hyphenated English words that are not ids
ENGLISH_HYPHENATED = re.compile(r"self-management|heart-failure|red-flag")


def _rolling_history() -> History:
    return History(
        readings=tuple(
            reading("heart_rate", at=days_ago(6 - i), pulse=v)
            for i, v in enumerate([70, 71, 70, 72, 71])
        )
    )


ROLLING_RED = make_plan(
    rules=[
        {
            "type": "baseline",
            "id": "pulse-baseline",
            "parameter": "pulse",
            "direction": "above",
            "change": 10,
            "baseline_days": 14,
            "min_readings": 5,
            "yellow_after": {"n": 2, "m": 2},
        }
    ]
)


def every_kind() -> dict[str, Finding]:
    """One finding per message the service writes, made by the code that makes them."""
    found: dict[str, Finding] = {}

    def keep(findings: tuple[Finding, ...] | list[Finding]) -> None:
        for f in findings:
            assert f.message is not None, f
            found.setdefault(f.message, f)

    keep(classify(reading("spo2", spo2=88.5, pulse=80), PLAN, History(), NOW).findings)
    keep(classify(reading("spo2", spo2=97), PLAN, History(), NOW).findings)
    keep(classify(reading("spo2", spo2=91), SUSTAINED, History(), NOW).findings)
    earlier = History(readings=(reading("spo2", at=days_ago(1), spo2=91),))
    keep(classify(reading("spo2", spo2=91), SUSTAINED, earlier, NOW).findings)
    weights = History(
        readings=(
            reading("body_weight", at=days_ago(2), weight=80.0),
            reading("peak_flow", at=days_ago(1), pef=400),
        )
    )
    keep(classify(reading("body_weight", weight=82.3), TREND, weights, NOW).findings)
    keep(classify(reading("body_weight", weight=80.5), TREND, weights, NOW).findings)
    keep(classify(reading("peak_flow", pef=250), TREND, weights, NOW).findings)
    keep(classify(reading("spo2", spo2=90), FIXED, History(), NOW).findings)
    keep(classify(reading("spo2", spo2=94), FIXED, History(), NOW).findings)
    keep(classify(reading("heart_rate", pulse=85), ROLLING_RED, _rolling_history(), NOW).findings)
    for answers in (
        COPD_ANSWERS_USUAL,
        {**COPD_ANSWERS_USUAL, "chest_pain": "yes"},
        {**COPD_ANSWERS_USUAL, "breathlessness": "much_more", "cough": "more"},
        {
            **COPD_ANSWERS_USUAL,
            "breathlessness": "much_more",
            "cough": "much_more",
            "sputum_amount": "much_more",
            "overall": "much_worse",
        },
    ):
        keep(classify_report(_report(answers), QPLAN, History(), NOW).findings)
    keep(classify_report(_report(COPD_ANSWERS_USUAL), _plan_bands(), History(), NOW).findings)
    vitals = _vitals_history(22)
    keep(classify(reading("spo2", spo2=93, pulse=95), NEWS2_PLAN, vitals, NOW).findings)
    keep(classify(reading("spo2", spo2=97, pulse=60), NEWS2_PLAN, _vitals_history(), NOW).findings)
    grouped = History(
        readings=(reading("body_weight", at=days_ago(2), weight=80.0),),
        findings=(_past("hf-symptoms", Colour.YELLOW, 5),),
    )
    keep(classify(reading("body_weight", weight=82.5), GROUPED, grouped, NOW).findings)
    keep(classify(reading("body_weight", weight=80.5), GROUPED, History(), NOW).findings)
    hf = template(Condition.HEART_FAILURE)
    morning = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
    keep(missing_findings(hf, [], [], morning - timedelta(hours=12), morning))
    weighed = [reading("body_weight", at=morning - timedelta(hours=3), weight=80.0)]
    keep(missing_findings(hf, weighed, [], morning - timedelta(hours=12), morning))
    since = datetime(2026, 11, 21, 13, 5, tzinfo=UTC)
    keep([lost_contact_finding(since, since, since + timedelta(hours=50))])
    keep([lost_contact_finding(since, since, since + timedelta(minutes=12))])
    keep([lost_contact_finding(None, since, since + timedelta(hours=30))])
    keep([lost_contact_finding(None, since, since + timedelta(hours=3))])
    keep([undelivered_finding("Legevakten i Testvik", 3, NOW)])
    keep([journal_undelivered_finding(6, NOW)])
    return found


def _plan_bands() -> PlanVersion:
    return make_plan(
        rules=[
            {"type": "questionnaire", "id": "copd", "questionnaire": "copd-daily", "yellow_at": 1}
        ]
    )


FINDINGS = every_kind()


_REASON_FAMILIES = {"threshold", "trend", "baseline", "questionnaire", "news2", "combination"}
_REASON_FAMILIES |= {"missing", "lost", "notification", "journal"}
_NOT_REASONS = {
    "baseline.from_plan",
    "baseline.note",
    "baseline.median",
    "questionnaire.source_plan",
    "questionnaire.unknown",
    "news2.part",
    "notification.no_receiver",  # the escalation job's (tests/integration/test_escalation_chain)
    "plan_ref",
    "item",
    "since",
}


def _reason_keys() -> set[str]:
    return {
        k
        for k in keys("nb")
        if (
            k.split(".")[0] in _REASON_FAMILIES
            and k not in _NOT_REASONS
            and not k.startswith(("news2.", "questionnaire.source"))
        )
        or k in ("news2", "news2.parts")
    }


def test_scenarios_cover_every_reason() -> None:
    """The scenarios reach every reason the service writes (so the checks below cover all)."""
    assert _reason_keys() - set(FINDINGS) == set()


@pytest.mark.parametrize("key", sorted(FINDINGS))
def test_bokmal_reason_has_no_english_no_ids_and_a_decimal_comma(key: str) -> None:
    """What a nurse reads: bokmål words only, names instead of ids, "2,6" not "2.6"."""
    said = reason(FINDINGS[key], "nb")
    assert said.strip()
    assert not ENGLISH.findall(said), said
    assert not INTERNAL_ID.findall(said), said
    assert not DECIMAL_POINT.findall(DATE.sub("", said)), said
    if FINDINGS[key].plan_version is not None:
        assert said.endswith(f"(egenbehandlingsplan versjon {FINDINGS[key].plan_version})")


@pytest.mark.parametrize("key", sorted(FINDINGS))
def test_english_reason_has_no_ids(key: str) -> None:
    said = reason(FINDINGS[key], "en")
    assert said.strip()
    assert not INTERNAL_ID.findall(ENGLISH_HYPHENATED.sub("", said)), said
    assert said != reason(FINDINGS[key], "nb") or key.startswith("news2")


def test_numbers_with_decimal_comma_and_no_break_space_before_the_unit() -> None:
    finding = next(
        f
        for f in classify(reading("glucose", glucose=2.6), _glucose_plan(), History(), NOW).findings
    )
    assert reason(finding, "nb") == (
        "Blodsukker 2,6\u00a0mmol/L – rød: under 3\u00a0mmol/L (egenbehandlingsplan versjon 3)"
    )
    assert reason(finding, "en") == (
        "Blood glucose 2.6\u00a0mmol/L – red: below 3\u00a0mmol/L (self-management plan version 3)"
    )


def _glucose_plan() -> PlanVersion:
    return make_plan({"glucose": {"red_low": {"value": 3, "inclusive": False}, "yellow_low": 4}})


def test_combination_names_the_rules_not_their_ids() -> None:
    """ "avvik i 2 grupper … (Spørreskjema; Vekt (endring))", not "symptoms: hf-symptoms"."""
    said = reason(FINDINGS["combination"], "nb")
    assert "hf-symptoms" not in said
    assert "weight-3-days" not in said
    assert "Vekt (endring)" in said


def test_questionnaire_reason_names_the_question_and_the_title() -> None:
    said = reason(FINDINGS["questionnaire.red_flag"], "nb")
    assert said.startswith("Daglig KOLS-sjekk: poengsum")
    assert "«" in said
    assert "chest_pain" not in said


def test_old_stored_finding_keeps_its_words() -> None:
    """A finding as stored before reasons were data (JSON with text, no message key)."""
    stored = {
        "rule_id": "hf-daily",
        "rule_type": "questionnaire",
        "colour": "yellow",
        "at": "2026-11-20T08:00:00+00:00",
        "plan_id": "plan-1",
        "plan_version": 1,
        "value": 2.0,
        "bound": "score 2 ≥ yellow band 1 (hf-daily v1, bands from the plan)",
        "text": {
            "nb": "Daglig hjertesviktsjekk: poengsum 2 — gul (score 2 ≥ yellow band 1)",
            "en": "Daily heart-failure check: score 2 — yellow (score 2 ≥ yellow band 1)",
        },
    }
    assert stored_reason(stored, "nb").startswith("Daglig hjertesviktsjekk: poengsum 2")
    assert stored_reason(stored, "en").startswith("Daily heart-failure check: score 2")


def test_new_findings_store_no_words() -> None:
    """The JSON stored for a new finding is data: no text that could go stale or stay English."""
    dumped = FINDINGS["threshold"].model_dump(mode="json")
    assert dumped["text"] is None
    assert dumped["message"] == "threshold"
    assert Finding.model_validate(dumped) == FINDINGS["threshold"]


def _fields(pattern: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


def test_both_catalogues_have_the_same_keys_and_fields() -> None:
    """Every message is in bokmål and English, with the same {fields}; the .po files ship in
    the package (next to the code that reads them)."""
    assert keys("nb") == keys("en")
    for key in keys("nb") - {k for k in keys("nb") if k.startswith(("date.", "time."))}:
        assert _fields(text("nb", key)) == _fields(text("en", key)), key
    for language in LANGUAGES:
        assert po_path(language).is_file()
        assert "triage/texts/locale" in po_path(language).as_posix()


@pytest.mark.parametrize(
    ("stored", "nb", "en"),
    [
        (
            {"colour": "red", "value": 86.0, "bound": "≤ 87 %", "parameter": "spo2"},
            "Oksygenmetning 86\u00a0% – rød: 87\u00a0% eller lavere "
            "(egenbehandlingsplan versjon 1)",
            "Oxygen saturation 86% – red: 87% or lower (self-management plan version 1)",
        ),
        (
            {"colour": "green", "value": 5.5, "bound": None, "parameter": "glucose"},
            "Blodsukker 5,5\u00a0mmol/L – innenfor grensene (egenbehandlingsplan versjon 1)",
            "Blood glucose 5.5\u00a0mmol/L – within the bounds (self-management plan version 1)",
        ),
    ],
)
def test_old_plain_threshold_finding_is_read_back_as_data(
    stored: dict[str, object], nb: str, en: str
) -> None:
    """An old threshold finding whose words say only value, colour, bound and plan version is
    written like a new one, in the reader's language (no "plan v1", no decimal point)."""
    colour = {"red": "rød", "green": "grønn"}[str(stored["colour"])]
    bound = f": {stored['bound']}" if stored["bound"] else ""
    old = {
        "rule_id": f"threshold:{stored['parameter']}",
        "rule_type": "threshold",
        "at": "2026-11-20T08:00:00+00:00",
        "plan_id": "plan-1",
        "plan_version": 1,
        **stored,
        "text": {
            "nb": f"Navn {stored['value']} — {colour}{bound} (plan v1)",
            "en": f"Name {stored['value']} — {stored['colour']}{bound} (plan v1)",
        },
    }
    assert stored_reason(old, "nb") == nb
    assert stored_reason(old, "en") == en


def test_old_sustained_threshold_finding_keeps_its_words() -> None:
    """Words that say more than the fields (n of the last m readings) are kept as stored."""
    old = {
        "rule_id": "threshold:spo2",
        "rule_type": "threshold",
        "colour": "yellow",
        "at": "2026-11-20T08:00:00+00:00",
        "plan_version": 1,
        "parameter": "spo2",
        "value": 91.0,
        "bound": "≤ 92 %",
        "text": {
            "nb": "SpO2 91 % — gul: ≤ 92 %, 2 av de siste 3 målingene (plan v1)",
            "en": "SpO2 91 % — yellow: ≤ 92 %, 2 of the last 3 readings (plan v1)",
        },
    }
    assert stored_reason(old, "nb") == old["text"]["nb"]  # type: ignore[index]
