"""Every other resource the mapping makes: Patient, Practitioner, Device (every meter kind and
the gateway), QuestionnaireResponse and score Observation (every questionnaire), CarePlan and
Goals (every plan template), Flag, DetectedIssue (every alert rule type) and the closing
Composition, the searchset and journal transaction Bundles, OperationOutcome and the
CapabilityStatement; each validated against the FHIR R4 JSON Schema and the R4B models."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fhir_checks import check_resource
from tests.unit.test_classify import PLAN
from tests.unit.test_finding_texts import every_kind
from triage.api.schemas_alerts import ActionOutcome
from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType
from triage.domain.plan import PlanVersion, retire
from triage.domain.questionnaires import BUILTIN_QUESTIONNAIRES, score
from triage.domain.readings import Kind, Parameter
from triage.domain.schedule import missing_findings
from triage.domain.templates import TEMPLATES, template
from triage.fhir.alerts import ALERT_TYPES as MAPPED_ALERT_TYPES
from triage.fhir.alerts import alert_reason, closing_note, detected_issue, outcome_words
from triage.fhir.bundles import full_url, journal_transaction, searchset
from triage.fhir.capability import capability_statement
from triage.fhir.care_plans import care_plan, goals
from triage.fhir.examples import (
    NURSE,
    SampleAction,
    SampleAlert,
    SampleGateway,
    SamplePatient,
    SamplePerson,
    SamplePlanVersion,
    SampleReading,
    SampleReport,
    examples,
    sample_plan_document,
)
from triage.fhir.flags import colour_flag
from triage.fhir.observations import reading_observations
from triage.fhir.outcomes import operation_outcome
from triage.fhir.patients import gateway_device, meter_device, patient, practitioner
from triage.fhir.questionnaires import questionnaire_response, report_observation
from triage.texts.findings import reason

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
AT = datetime(2026, 12, 7, 7, 15, tzinfo=UTC)

# ----------------------------------------------------------------------------- people, devices


@pytest.mark.parametrize("national_id", ["03834030100", None])
@pytest.mark.parametrize("gp", [SamplePerson(), replace(SamplePerson(), hpr_number=None), None])
@pytest.mark.parametrize("state", ["active", "discharged"])
def test_patient(national_id: str | None, gp: SamplePerson | None, state: str) -> None:
    resource = patient(replace(SamplePatient(), national_id=national_id, state=state), gp)
    check_resource(resource)
    systems = [i["system"] for i in resource["identifier"]]
    assert (FNR in systems) is (national_id is not None)
    assert resource["active"] is (state != "discharged")
    assert resource["name"][0]["family"] == "Nordmann"
    if gp is None:
        assert "generalPractitioner" not in resource
    else:
        (ref,) = resource["generalPractitioner"]
        assert ref["display"] == gp.display_name
        want = (HPR, gp.hpr_number) if gp.hpr_number else ("urn:dho:user", gp.id)
        assert (ref["identifier"]["system"], ref["identifier"]["value"]) == want


def test_practitioner() -> None:
    resource = practitioner(SamplePerson())
    check_resource(resource)
    assert resource["identifier"][0] == {"system": HPR, "value": "9144900"}


@pytest.mark.parametrize("kind", [k.value for k in Kind])
def test_meter_device_for_every_kind(kind: str) -> None:
    device = {"profile": kind, "address": "00:5f:bf:12:34:56", "model": "M", "serial": "S-1"}
    resource = meter_device("pat-kari", device)
    assert resource is not None
    check_resource(resource)
    mac = next(i for i in resource["identifier"] if i.get("system", "").endswith("bluetooth"))
    assert mac["value"] == "00-5F-BF-12-34-56"
    assert resource["serialNumber"] == "S-1"
    assert resource["modelNumber"] == "M"
    # the Observations name the same Device
    sample = SampleReading()
    observation = reading_observations(replace(sample, device={**device, "profile": sample.kind}))
    assert observation[0]["device"] == {"reference": f"Device/{resource['id']}"}


def test_a_meter_known_by_an_app_id_and_a_typed_value() -> None:
    resource = meter_device("pat-kari", {"profile": "spo2", "address": "app:7f3a"})
    assert resource is not None
    check_resource(resource)
    assert {"system": "urn:dho:device-address", "value": "app:7f3a"} in resource["identifier"]
    assert meter_device("pat-kari", {"profile": "spo2", "model": "manual", "address": None}) is None
    simulated = meter_device("pat-kari", {"profile": "spo2", "model": "DHO simulated"})
    assert simulated is not None
    check_resource(simulated)
    assert simulated["modelNumber"] == "DHO simulated"


@pytest.mark.parametrize("revoked", [None, AT])
def test_gateway_device(revoked: datetime | None) -> None:
    resource = gateway_device(replace(SampleGateway(), revoked_at=revoked))
    check_resource(resource)
    assert resource["status"] == ("active" if revoked is None else "inactive")
    assert resource["id"] == "gw-kari.gateway"
    assert resource["patient"] == {"reference": "Patient/pat-kari"}


# ----------------------------------------------------------------------------- questionnaires


def _answer_sets(qid: str) -> list[dict[str, Any]]:
    """Every item at its best option, at its worst, and the middle; yes/no as booleans."""
    questionnaire = BUILTIN_QUESTIONNAIRES[qid]
    sets: list[dict[str, Any]] = []
    for pick in (0, -1, 1):
        answers: dict[str, Any] = {}
        for item in questionnaire.items:
            value = item.options[pick].value
            answers[item.id] = {"yes": True, "no": False}.get(value, value)
        sets.append(answers)
    return sets


@pytest.mark.parametrize(
    ("qid", "index"), [(q, i) for q in BUILTIN_QUESTIONNAIRES for i in range(3)]
)
def test_every_questionnaire(qid: str, index: int) -> None:
    answers = _answer_sets(qid)[index]
    scored = score(BUILTIN_QUESTIONNAIRES[qid], answers)
    report = replace(
        SampleReport(),
        questionnaire=qid,
        answers=answers,
        score=scored.total,
        colour=scored.colour.value,
        findings=[],
    )
    response = questionnaire_response(report)
    check_resource(response)
    questionnaire = BUILTIN_QUESTIONNAIRES[qid]
    assert response["questionnaire"] == f"urn:dho:questionnaire:{qid}|{questionnaire.version}"
    assert [i["linkId"] for i in response["item"]] == [i.id for i in questionnaire.items]
    for item in response["item"]:
        coding = item["answer"][0]["valueCoding"]
        assert coding["code"] == scored.answers[item["linkId"]]
    assert response["authored"] == "2026-12-07T08:15:00+01:00"
    observation = report_observation(report)
    assert observation is not None
    check_resource(observation, vital_sign=False)
    assert observation["valueInteger"] == scored.total
    want = {Colour.GREEN: "N", Colour.YELLOW: "A", Colour.RED: "AA"}[scored.colour]
    assert observation["interpretation"][0]["coding"][0]["code"] == want
    assert observation["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{report.id}"}]


def test_an_unknown_questionnaire_keeps_its_raw_answers_and_no_score_no_observation() -> None:
    report = replace(
        SampleReport(), questionnaire="pilot-x", answers={"b": 2, "a": True, "c": "x"}, score=None
    )
    response = questionnaire_response(report)
    check_resource(response)
    assert response["item"] == [
        {"linkId": "a", "answer": [{"valueBoolean": True}]},
        {"linkId": "b", "answer": [{"valueInteger": 2}]},
        {"linkId": "c", "answer": [{"valueString": "x"}]},
    ]
    assert report_observation(report) is None


# ----------------------------------------------------------------------------- plans


def _version(document: PlanVersion, status: str = "approved") -> SamplePlanVersion:
    return replace(
        SamplePlanVersion(),
        version=document.version,
        status=status,
        document=document.model_dump(mode="json", by_alias=True),
        approved_at=document.approval.at if document.approval else None,
        approved_by=document.approval.by if document.approval else None,
        retired_at=document.retired_at,
    )


def _documents() -> list[tuple[str, str, PlanVersion]]:
    out = []
    for condition in TEMPLATES:
        approved = PlanVersion.model_validate(sample_plan_document(condition))
        out.append((condition.value, "approved", approved))
        out.append((condition.value, "draft", template(condition)))
        out.append((condition.value, "retired", retire(approved, at=AT)))
    return out


@pytest.mark.parametrize(("condition", "status", "document"), _documents())
def test_every_plan_template(condition: str, status: str, document: PlanVersion) -> None:
    version = _version(document, status)
    plan = care_plan(version, "pat-kari")
    check_resource(plan)
    assert (
        plan["status"] == {"approved": "active", "draft": "draft", "retired": "completed"}[status]
    )
    made = goals(version, "pat-kari")
    for goal in made:
        check_resource(goal)
    assert [g["reference"] for g in plan.get("goal", [])] == [f"Goal/{g['id']}" for g in made]
    scheduled = sum(len(i.kinds) + (i.questionnaire is not None) for i in document.schedule.items)
    assert len(plan.get("activity", [])) == scheduled
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    activities = iter(plan.get("activity", []))
    for item in document.schedule.items:
        for _ in range(len(item.kinds) + (item.questionnaire is not None)):
            repeat = next(activities)["detail"]["scheduledTiming"]["repeat"]
            assert repeat["dayOfWeek"] == [days[d - 1] for d in item.days]
            assert repeat["timeOfDay"] == [item.due_by.strftime("%H:%M:%S")]
    assert {n["text"].split(" ")[0] for n in plan["note"]} == {"Grønn", "Gul", "Rød"}


def _satisfies(value: float, targets: list[dict[str, Any]]) -> bool:
    ops = {
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    return all(
        ops[t["detailQuantity"]["comparator"]](value, t["detailQuantity"]["value"]) for t in targets
    )


@pytest.mark.parametrize(
    "document", [PLAN, *(PlanVersion.model_validate(sample_plan_document(c)) for c in TEMPLATES)]
)
def test_goal_targets_mean_what_the_classifier_does(document: PlanVersion) -> None:
    """At every bound and a step either side: a value meets the green Goal's targets exactly
    when the plan's zones call it green, the not-red Goal's exactly when they do not call it
    red."""
    version = _version(document)
    made = {g["id"]: g for g in goals(version, "pat-kari")}
    for parameter, zones in document.zones.items():
        slug = parameter.value.replace("_", "-")
        base = f"{version.plan_id}.v{version.version}.{slug}"
        green = made[f"{base}.green"]["target"]
        not_red = made.get(f"{base}.not-red", made[f"{base}.green"])["target"]
        unit = {t["detailQuantity"]["code"] for t in green}
        assert unit == {Parameter(parameter).ucum}
        bounds = [b.value for b in (zones.red_low, zones.yellow_low, zones.yellow_high,
                                    zones.red_high) if b is not None]  # fmt: skip
        for bound in bounds:
            for value in (bound - 0.1, bound, bound + 0.1):
                colour = zones.zone(value)[0]
                assert _satisfies(value, green) is (colour is Colour.GREEN), (parameter, value)
                if f"{base}.not-red" in made:
                    assert _satisfies(value, not_red) is (colour is not Colour.RED), value


def test_the_patients_own_goal() -> None:
    made = goals(SamplePlanVersion(), "pat-kari")
    own = made[-1]
    assert own["description"]["text"] == "Klare å gå til butikken selv"
    assert own["expressedBy"] == {"reference": "Patient/pat-kari"}
    assert "target" not in own


# ----------------------------------------------------------------------------- flags


@pytest.mark.parametrize("colour", ["green", "yellow", "red", None])
def test_colour_flag(colour: str | None) -> None:
    flag = colour_flag("pat-kari", colour, AT if colour else None)
    check_resource(flag)
    assert flag["status"] == ("active" if colour else "inactive")
    assert flag["code"]["coding"][0]["code"] == (colour or "none")
    assert flag["id"] == "pat-kari.colour"


def test_an_unknown_colour_is_refused() -> None:
    with pytest.raises(ValueError, match="colour"):
        colour_flag("pat-kari", "blue", None)


# ----------------------------------------------------------------------------- alerts

#: the alert type each rule type is journalled as (VKP's guide tells these apart)
ALERT_TYPES = {
    "threshold": "threshold",
    "trend": "trend",
    "baseline": "baseline",
    "combination": "combination",
    "questionnaire": "questionnaire",
    "news2": "news2",
    "missing": "missing-measurement",
    "lost_contact": "lost-contact",
    "notification": "notification",
    # the journal's own delivery alerts (issue 19, branch i19-journal): no finding here yet
    "journal": "journal",
}


def _findings_by_rule_type() -> dict[str, Finding]:
    """A deviating finding of every rule type, made by the code that makes them."""
    found: dict[str, Finding] = {}
    for finding in every_kind().values():
        if finding.colour is not Colour.GREEN:
            found.setdefault(finding.rule_type.value, finding)
    return found


FINDINGS = _findings_by_rule_type()


def _missing_questionnaire() -> Finding:
    hf = template("heart_failure")
    day = datetime(2026, 11, 18, 23, 0, tzinfo=UTC)
    for finding in missing_findings(hf, [], [], day - timedelta(days=1), day):
        if "questionnaire" in finding.rule_id and finding.colour is not Colour.GREEN:
            return finding
    raise AssertionError("the heart-failure template schedules a questionnaire")


def _alert(finding: Finding, state: str = "resolved") -> SampleAlert:
    return replace(
        SampleAlert(),
        rule_id=finding.rule_id,
        rule_type=finding.rule_type.value,
        colour=finding.colour.value,
        state=state,
        reason=finding.model_dump(mode="json"),
    )


def test_every_rule_type_is_covered() -> None:
    """Every rule type has a finding to test with, an expected code here, and words in the
    mapping's table."""
    rule_types = {t.value for t in RuleType}
    assert set(FINDINGS) == rule_types
    assert rule_types <= set(ALERT_TYPES)
    assert {ALERT_TYPES[t] for t in rule_types} - {"missing-measurement"} <= set(MAPPED_ALERT_TYPES)


def _cases() -> list[tuple[str, Finding]]:
    return [*FINDINGS.items(), ("missing-questionnaire", _missing_questionnaire())]


@pytest.mark.parametrize(("name", "finding"), _cases())
@pytest.mark.parametrize("state", ["open", "resolved"])
def test_every_alert_type(name: str, finding: Finding, state: str) -> None:
    alert = _alert(finding, state)
    issue = detected_issue(alert, ["Observation/r-1", "QuestionnaireResponse/rep-1"])
    check_resource(issue)
    code = issue["code"]["coding"][0]
    assert code["system"] == "urn:dho:code:alert-type"
    assert code["code"] == ALERT_TYPES.get(name, name)
    assert issue["severity"] == {"red": "high", "yellow": "moderate"}[finding.colour.value]
    assert issue["status"] == ("final" if state == "resolved" else "preliminary")
    assert issue["implicated"] == [
        {"reference": "Observation/r-1"},
        {"reference": "QuestionnaireResponse/rep-1"},
    ]
    assert issue["identifier"] == [{"system": "urn:dho:alert", "value": alert.id}]
    # the dashboard's words (bokmål), with plain spaces (the schema allows no other)
    assert issue["detail"] == reason(finding, "nb").replace("\u00a0", " ")
    assert issue["detail"]
    note = closing_note(alert, [SampleAction()], NURSE)
    check_resource(note)


def test_the_reason_has_a_decimal_comma() -> None:
    finding = {
        "rule_id": "threshold:glucose",
        "rule_type": "threshold",
        "colour": "red",
        "at": AT.isoformat(),
        "plan_version": 4,
        "parameter": "glucose",
        "value": 2.6,
        "message": "threshold",
        "args": {"bound": 3.0, "bound_op": "lt"},
    }
    words = alert_reason(replace(SampleAlert(), reason=finding))
    assert "2,6 mmol/L" in words
    assert "\u00a0" not in words
    assert not re.search(r"\d\.\d", words)


def test_a_reason_that_cannot_be_read_keeps_its_stored_words() -> None:
    alert = replace(SampleAlert(), reason={"text": {"nb": "Gammel\u00a0tekst", "en": "Old"}})
    assert alert_reason(alert) == "Gammel tekst"


@pytest.mark.parametrize("outcome", [o.value for o in ActionOutcome])
def test_every_outcome_has_bokmal_words(outcome: str) -> None:
    assert outcome_words(outcome) != outcome
    action = replace(SampleAction(), outcome=outcome)
    issue = detected_issue(SampleAlert(), [], actions=[action], people={NURSE.id: NURSE})
    check_resource(issue)
    (mitigation,) = issue["mitigation"]
    assert mitigation["action"]["coding"][0] == {
        "system": "urn:dho:code:alert-outcome",
        "code": outcome,
        "display": outcome_words(outcome),
    }
    assert mitigation["author"]["identifier"] == {"system": HPR, "value": NURSE.hpr_number}
    note = closing_note(SampleAlert(), [action], NURSE)
    check_resource(note)
    assert note["section"][0]["code"]["coding"][0]["code"] == outcome


@pytest.mark.parametrize(
    ("closer", "resolved_by", "author"),
    [
        (NURSE, "nina", {"system": HPR, "value": "9144901"}),
        (replace(NURSE, hpr_number=None), "nina", {"system": "urn:dho:user", "value": NURSE.id}),
        (None, "nina", None),
    ],
)
def test_the_closing_note_says_who_when_and_what(
    closer: SamplePerson | None, resolved_by: str, author: dict[str, str] | None
) -> None:
    action = replace(SampleAction(), note="Ringte. <script>alert(1)</script> & mer")
    alert = replace(SampleAlert(), resolved_by=resolved_by)
    note = closing_note(alert, [action], closer)
    check_resource(note)
    (who,) = note["author"]
    if author is None:
        assert who == {"type": "Practitioner", "display": "nina"}
    else:
        assert who["identifier"] == author
    assert note["date"] == "2026-12-07T09:02:00+01:00"  # resolved_at, in the patient's zone
    assert note["identifier"] == {"system": "urn:dho:alert-note", "value": alert.id}
    div = note["text"]["div"]
    assert div.startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert "<script>" not in div
    assert "&lt;script&gt;" in div
    assert "Ringte pasienten" in div  # the outcome in words
    assert "07.12.2026 kl. 09:02" in div
    assert note["section"][-1]["entry"] == [{"reference": f"DetectedIssue/{alert.id}"}]


# ----------------------------------------------------------------------------- bundles


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


def _journal(**changes: Any) -> dict[str, Any]:
    glucose = replace(
        SampleReading(),
        id="r-glucose",
        kind="glucose",
        values={"glucose": 2.6},
        device={"profile": "glucose", "address": "AA:BB:CC:DD:EE:01"},
        findings=[],
    )
    args: dict[str, Any] = {
        "alert": SampleAlert(),
        "actions": [SampleAction()],
        "closer": NURSE,
        "patient": SamplePatient(),
        "readings": [SampleReading(), glucose],
        "reports": [SampleReport()],
    }
    args.update(changes)
    return journal_transaction(**args)


def test_the_journal_transaction() -> None:
    bundle = _journal()
    check_resource(bundle)
    assert bundle["type"] == "transaction"
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "DetectedIssue"
    assert types[-1] == "Composition"
    assert sorted(types[1:-1]) == ["Observation"] * 4 + ["QuestionnaireResponse"]
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    assert all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", u) for u in urls)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"] == full_url(resource["resourceType"], resource["id"])
        identifier = resource["identifier"]
        first = identifier[0] if isinstance(identifier, list) else identifier
        assert entry["request"] == {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": f"identifier={first['system']}|{first['value']}",
        }
        subject = resource.get("subject") or resource.get("patient")
        assert subject == {"type": "Patient", "identifier": {"system": FNR, "value": "03834030100"}}
    # every literal reference points inside the Bundle; nothing names a local Patient/Device
    for ref in _references(bundle):
        assert ref in urls, ref
    issue = bundle["entry"][0]["resource"]
    implicated = [i["reference"] for i in issue["implicated"]]
    main_ids = {("Observation", SampleReading().id), ("Observation", "r-glucose"),
                ("QuestionnaireResponse", SampleReport().id)}  # fmt: skip
    assert sorted(implicated) == sorted(full_url(t, i) for t, i in main_ids)
    conditions = [e["request"]["ifNoneExist"] for e in bundle["entry"]]
    assert len(set(conditions)) == len(conditions)


def test_the_journal_transaction_is_the_same_every_time() -> None:
    assert json.dumps(_journal()) == json.dumps(_journal())


def test_a_patient_without_fodselsnummer_is_named_by_dho_id() -> None:
    bundle = _journal(patient=replace(SamplePatient(), national_id=None))
    check_resource(bundle)
    issue = bundle["entry"][0]["resource"]
    assert issue["patient"]["identifier"] == {"system": "urn:dho:patient", "value": "pat-kari"}


def test_an_alert_of_another_patient_is_refused() -> None:
    with pytest.raises(ValueError, match="not about patient"):
        _journal(alert=replace(SampleAlert(), patient_id="pat-other"))


@pytest.mark.parametrize("next_url", [None, "https://dho.example/fhir/r4/Observation?page=2"])
def test_searchset(next_url: str | None) -> None:
    observations = reading_observations(SampleReading())
    bundle = searchset(
        observations,
        total=7,
        self_url="https://dho.example/fhir/r4/Observation?patient=pat-kari",
        next_url=next_url,
        base_url="https://dho.example/fhir/r4/",
    )
    check_resource(bundle)
    assert bundle["total"] == 7
    relations = [link["relation"] for link in bundle["link"]]
    assert relations == (["self"] if next_url is None else ["self", "next"])
    assert bundle["entry"][0]["fullUrl"] == (
        f"https://dho.example/fhir/r4/Observation/{observations[0]['id']}"
    )
    assert all(e["search"] == {"mode": "match"} for e in bundle["entry"])
    empty = searchset([], total=0, self_url="https://x/fhir/r4/Flag", next_url=None)
    check_resource(empty)
    assert "entry" not in empty


# ----------------------------------------------------------------------------- the rest


@pytest.mark.parametrize("severity", ["fatal", "error", "warning", "information"])
def test_operation_outcome(severity: str) -> None:
    check_resource(operation_outcome("not-found", "Patient/x finnes ikke", severity))
    with pytest.raises(ValueError, match="severity"):
        operation_outcome("invalid", "x", "bad")


def test_capability_statement() -> None:
    statement = capability_statement("https://dho.example/fhir/r4", "1.2.3")
    check_resource(statement)
    (rest,) = statement["rest"]
    by_type = {r["type"]: r for r in rest["resource"]}
    assert set(by_type) == {
        "Patient", "Observation", "DetectedIssue", "CarePlan", "Flag", "QuestionnaireResponse",
    }  # fmt: skip
    assert by_type["Patient"]["operation"][0]["name"] == "everything"
    assert [p["name"] for p in by_type["Observation"]["searchParam"]] == [
        "patient", "category", "code", "date",
    ]  # fmt: skip
    assert statement["fhirVersion"] == "4.0.1"


def test_every_example_is_valid() -> None:
    made = examples()
    for resource in made.values():
        check_resource(resource)
    assert {r["resourceType"] for r in made.values()} == {
        "Patient", "Practitioner", "Device", "Observation", "QuestionnaireResponse", "CarePlan",
        "Goal", "Flag", "DetectedIssue", "Composition", "Bundle", "OperationOutcome",
        "CapabilityStatement",
    }  # fmt: skip


def test_the_plan_is_named_the_same_way_everywhere() -> None:
    """Observations, reports and alerts point at the CarePlan the mapping makes for the plan
    version; in the journal Bundle (which does not hold it) by an identifier it carries."""
    plan = care_plan(SamplePlanVersion(), "pat-kari")
    local = {"reference": f"CarePlan/{plan['id']}"}
    assert reading_observations(SampleReading())[0]["basedOn"] == [local]
    assert questionnaire_response(SampleReport())["basedOn"] == [local]
    score_observation = report_observation(SampleReport())
    assert score_observation is not None
    assert score_observation["basedOn"] == [local]
    assert detected_issue(SampleAlert(), [])["evidence"] == [{"detail": [local]}]
    bundle = _journal()
    issue = bundle["entry"][0]["resource"]
    (by_identifier,) = issue["evidence"][0]["detail"]
    assert by_identifier["identifier"] in plan["identifier"]
    no_plan = replace(SampleAlert(), reason={**SampleAlert().reason, "plan_id": None})
    assert "evidence" not in detected_issue(no_plan, [])


def test_the_samples_are_what_dho_stores() -> None:
    """The examples' rows hold what DHO would store: a scorable answer set with its score and
    colour, findings the domain reads back and puts into words."""
    report = SampleReport()
    scored = score(BUILTIN_QUESTIONNAIRES[report.questionnaire], report.answers)
    assert (scored.total, scored.colour.value) == (report.score, report.colour)
    for stored in [*SampleReading().findings, *report.findings, SampleAlert().reason]:
        assert reason(Finding.model_validate(stored), "nb")
    response = questionnaire_response(report)
    assert all("valueCoding" in item["answer"][0] for item in response["item"])


@pytest.mark.parametrize(("name", "finding"), _cases())
def test_a_journal_transaction_for_every_alert_type(name: str, finding: Finding) -> None:
    """An alert with no reading or report (a missing measurement, lost contact) is journalled
    as its DetectedIssue and the note; the others with their data."""
    alone = name in ("missing", "missing-questionnaire", "lost_contact", "notification")
    bundle = _journal(
        alert=_alert(finding),
        readings=[] if alone else [SampleReading()],
        reports=[],
    )
    check_resource(bundle)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "DetectedIssue"
    assert types[-1] == "Composition"
    assert len(types) == (2 if alone else 4)
    issue = bundle["entry"][0]["resource"]
    assert ("implicated" in issue) is (not alone)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(ref in urls for ref in _references(bundle))


def test_an_alert_type_the_mapping_does_not_know_keeps_its_name() -> None:
    """A rule type added later is not passed off as another; a reason the catalogue cannot put
    into words falls back to the stored words."""
    alert = replace(
        SampleAlert(),
        rule_id="someday",
        rule_type="someday",
        reason={
            "rule_id": "someday",
            "rule_type": "someday",
            "text": {"nb": "Ikke sendt", "en": "x"},
        },
    )
    issue = detected_issue(alert, [])
    check_resource(issue)
    assert issue["code"]["coding"][0]["code"] == "someday"
    assert issue["code"]["text"] == "Varsel"
    assert issue["detail"] == "Ikke sendt"
    unknown_key = {**SampleAlert().reason, "message": "no.such.key"}
    assert alert_reason(replace(SampleAlert(), reason=unknown_key)) == ""
    check_resource(closing_note(alert, [], None))
