"""Ingest decides on alerts only for the patients whose findings can change one
(:func:`triage.ingest.batch.patients_to_decide`): the alert changes are exactly those of
deciding for every patient of the batch."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from triage.domain.alerts import Alert, AlertState, decide
from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType
from triage.ingest.batch import patients_to_decide

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)
RULES = ("spo2.low", "pulse.high", "weight.trend", "glucose.high")


def finding(rule: str, colour: Colour, at: datetime) -> Finding:
    return Finding(rule_id=rule, rule_type=RuleType.THRESHOLD, colour=colour, at=at)


def test_only_patients_whose_findings_can_change_an_alert_are_decided() -> None:
    rng = random.Random(21)
    left_out = 0
    for _ in range(300):
        alerts: dict[str, list[Alert]] = {}
        findings: dict[str, list[Finding]] = {}
        for p in range(8):
            patient = f"p-{p}"
            for rule in rng.sample(RULES, rng.randint(0, 2)):
                alerts.setdefault(patient, []).append(
                    Alert(
                        id=f"a-{p}-{rule}",
                        patient_id=patient,
                        rule_id=rule,
                        rule_type=RuleType.THRESHOLD,
                        colour=rng.choice([Colour.YELLOW, Colour.RED]),
                        state=rng.choice([AlertState.OPEN, AlertState.ACKNOWLEDGED]),
                        opened_at=T0,
                        last_breach_at=T0,
                        reason=finding(rule, Colour.YELLOW, T0),
                        back_in_range_at=T0 if rng.random() < 0.4 else None,
                    )
                )
            findings[patient] = [
                finding(
                    rng.choice(RULES),
                    rng.choices(list(Colour), weights=(8, 1, 1))[0],
                    T0 + timedelta(minutes=rng.randint(1, 60)),
                )
                for _ in range(rng.randint(1, 4))
            ]
        everyone = {p: decide(p, alerts.get(p, []), f) for p, f in findings.items()}
        open_rules = {
            p: {a.rule_id: a.back_in_range_at is not None for a in patient_alerts}
            for p, patient_alerts in alerts.items()
        }
        deciding = patients_to_decide(findings, open_rules)
        assert {p: c for p, c in everyone.items() if c} == {
            p: decide(p, alerts.get(p, []), findings[p]) for p in deciding if everyone[p]
        }
        assert not any(everyone[p] for p in findings if p not in deciding)
        left_out += len(findings) - len(deciding)
    assert left_out > 300  # many patients needed no decision
