"""Findings are stored as JSON written by hand (:func:`triage.ingest.finding_json.finding_json`):
exactly what ``Finding.model_dump(mode="json")`` gives, for every finding shape the classifier
produces (all five templates: thresholds, trends, baselines, sustained runs, combinations,
NEWS2, questionnaires) and for the rarer shapes older findings have (texts, offsets, fractions
of a second)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from triage.domain.classify import GrowingHistory, classify, classify_report
from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType
from triage.domain.plan import Condition
from triage.domain.readings import Kind, Reading, Report
from triage.domain.templates import template
from triage.ingest.finding_json import finding_json
from triage.storage.repositories import finding_from_stored

T0 = datetime(2026, 3, 28, 6, tzinfo=UTC)  # the night before summer time in Oslo


def values(condition: Condition, rng: random.Random) -> tuple[Kind, dict[str, float]]:
    if condition in (Condition.COPD, Condition.COVID19):
        return Kind.SPO2, {"spo2": rng.randint(84, 99), "pulse": rng.randint(45, 135)}
    if condition is Condition.HEART_FAILURE:
        return Kind.BODY_WEIGHT, {"weight": round(rng.gauss(82, 1.5), 1)}
    if condition is Condition.DIABETES:
        return Kind.GLUCOSE, {"glucose": round(rng.uniform(2.5, 19), 1)}
    systolic = rng.randint(95, 200)
    return Kind.BLOOD_PRESSURE, {
        "systolic": systolic,
        "diastolic": rng.randint(50, min(125, systolic - 20)),
        "pulse": rng.randint(45, 130),
    }


COPD_ANSWERS = (
    {
        "breathlessness": "as_usual",
        "cough": "as_usual",
        "sputum_amount": "as_usual",
        "sputum_colour": "usual",
        "reliever_use": "as_usual",
        "sleep": "as_usual",
        "overall": "as_usual",
        "chest_pain": "no",
        "new_confusion": "no",
    },
    {
        "breathlessness": "at_rest",
        "cough": "much_more",
        "sputum_amount": "more",
        "sputum_colour": "changed",
        "reliever_use": "more",
        "sleep": "woke_breathing",
        "overall": "much_worse",
        "chest_pain": "no",
        "new_confusion": "yes",
    },
)


def classified_findings() -> list[Finding]:
    rng = random.Random(21)
    found: list[Finding] = []
    for condition in Condition:
        plan = template(condition)
        history = GrowingHistory()
        for i in range(300):
            at = T0 + timedelta(hours=3 * i, seconds=rng.randint(0, 59), microseconds=i * 1013)
            kind, vals = values(condition, rng)
            reading = Reading.model_construct(
                id=f"{condition}-{i}", kind=kind, measured_at=at, values=vals
            )
            result = classify(reading, plan, history.value(), at + timedelta(minutes=1))
            history.add_reading(reading, result.findings)
            found.extend(result.findings)
            if condition is Condition.COPD and i % 8 == 0:
                report = Report.model_construct(
                    id=f"q-{i}",
                    questionnaire="copd-daily",
                    answered_at=at,
                    answers=COPD_ANSWERS[i % 16 == 0],
                )
                result = classify_report(report, plan, history.value(), at)
                history.add_report(report, result.findings)
                found.extend(result.findings)
    return found


def test_every_classified_finding_is_written_as_pydantic_writes_it() -> None:
    findings = classified_findings()
    shapes = {(f.rule_type, f.colour, f.message) for f in findings}
    assert {f.colour for f in findings} == set(Colour)
    assert len({f.rule_type for f in findings}) >= 4, shapes  # many kinds of rule fired
    for finding in findings:
        assert finding_json(finding) == finding.model_dump(mode="json"), finding


def test_rarer_shapes_are_written_as_pydantic_writes_them() -> None:
    oslo = timezone(timedelta(hours=2))
    findings = [
        Finding(
            rule_id="old",
            rule_type=RuleType.THRESHOLD,
            colour=Colour.YELLOW,
            at=datetime(2026, 3, 29, 3, 0, 0, 120, tzinfo=oslo),
            parameter="spo2",
            value=91,
            bound="< 92",
            text=Text(nb="Lav metning", en="Low saturation"),
        ),
        Finding(
            rule_id="args",
            rule_type=RuleType.TREND,
            colour=Colour.RED,
            at=T0,
            message="trend.rise",
            args={
                "since": T0 - timedelta(days=3),
                "values": (1.5, 2, None),
                "colour": Colour.RED,
                "nested": {"key": "x", "args": {"at": T0.astimezone(oslo), "n": 3}},
                "by_number": {1: "one"},
            },
        ),
    ]
    for finding in findings:
        assert finding_json(finding) == finding.model_dump(mode="json"), finding


def test_stored_findings_are_read_back_as_pydantic_reads_them() -> None:
    """The history load builds findings from their stored JSON without validation
    (:func:`triage.storage.repositories.finding_from_stored`): equal to validating them."""
    for finding in classified_findings():
        stored = finding_json(finding)
        back = finding_from_stored(stored)
        assert back == Finding.model_validate(stored) == finding
        assert back.model_dump(mode="json") == stored
        assert (type(back.colour), type(back.rule_type), type(back.at)) == (
            Colour,
            RuleType,
            datetime,
        )
    odd = {"rule_id": "x", "rule_type": "threshold", "colour": "red", "at": "2026-01-01T08:00:00"}
    with pytest.raises(ValidationError):  # naive time: validated, and refused as pydantic does
        finding_from_stored(odd)
