"""Observations from readings: every kind (with and without a pulse), typed entries,
data-quality flags, interpretations from real findings, times with the reading's own offset;
each validated against the FHIR R4 JSON Schema, the R4B models and the Vital Signs rules; and a
property test that values, units and the instant come back out unchanged."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fhir_checks import check_resource, model_errors, vital_signs_problems
from tests.fhir_schema import resource_errors
from tests.unit.plans import NOW, days_ago, reading, reading_with
from tests.unit.test_classify import GROUPED, PLAN, TREND, _past
from triage.domain.classify import History, classify
from triage.domain.colours import Colour
from triage.domain.readings import PLAUSIBLE, REQUIRED_KEYS, VALUE_KEYS, Kind
from triage.fhir.examples import SampleReading
from triage.fhir.ids import logical_id
from triage.fhir.observations import reading_observations
from triage.fhir.references import LOCAL

LOINC = "http://loinc.org"
MDC = "urn:iso:std:iso:11073:10101"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

#: written out from the sources (HL7 FHIR R4 Vital Signs, HL7 PHD IG STU2 / IEEE 11073-10101),
#: not from triage.fhir.codes: value key → (LOINC, MDC, UCUM) per kind
EXPECTED: dict[str, dict[str, tuple[str, str, str]]] = {
    "blood_pressure": {
        "systolic": ("8480-6", "150021", "mm[Hg]"),
        "diastolic": ("8462-4", "150022", "mm[Hg]"),
        "mean": ("8478-0", "150023", "mm[Hg]"),
        "pulse": ("8867-4", "149546", "/min"),
    },
    "spo2": {"spo2": ("2708-6", "150456", "%"), "pulse": ("8867-4", "149530", "/min")},
    "heart_rate": {"pulse": ("8867-4", "147842", "/min")},
    "glucose": {"glucose": ("14743-9", "160184", "mmol/L")},
    "body_weight": {"weight": ("29463-7", "188736", "kg")},
    "body_temperature": {"temperature": ("8310-5", "150364", "Cel")},
    "respiratory_rate": {"rate": ("9279-1", "151562", "/min")},
    "peak_flow": {"pef": ("19935-6", "152584", "L/min")},
}
#: kind → (the main Observation's LOINC, MDC, category, profile id or None)
MAIN: dict[str, tuple[str, str, str, str | None]] = {
    "blood_pressure": ("85354-9", "150020", "vital-signs", "bp"),
    "spo2": ("2708-6", "150456", "vital-signs", "oxygensat"),
    "heart_rate": ("8867-4", "147842", "vital-signs", "heartrate"),
    "glucose": ("14743-9", "160184", "laboratory", None),
    "body_weight": ("29463-7", "188736", "vital-signs", "bodyweight"),
    "body_temperature": ("8310-5", "150364", "vital-signs", "bodytemp"),
    "respiratory_rate": ("9279-1", "151562", "vital-signs", "resprate"),
    "peak_flow": ("19935-6", "152584", "exam", None),
}
#: a plausible value per key
SAMPLE = {
    "systolic": 134.0,
    "diastolic": 82.0,
    "mean": 99.3,
    "pulse": 71.0,
    "spo2": 95.0,
    "glucose": 6.4,
    "weight": 82.35,
    "temperature": 37.2,
    "rate": 16.0,
    "pef": 410.0,
}


def _codes(concept: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in concept["coding"] if c["system"] == system]


def _values_by_loinc(observation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The first LOINC code → valueQuantity, over the Observation and its components."""
    found: dict[str, dict[str, Any]] = {}
    for part in [observation, *observation.get("component", [])]:
        if "valueQuantity" in part:
            found[_codes(part["code"], LOINC)[0]] = part["valueQuantity"]
    return found


def _interpretation(resource: dict[str, Any]) -> str | None:
    concepts = resource.get("interpretation")
    if not concepts:
        return None
    (concept,) = concepts
    (code,) = _codes(concept, INTERPRETATION)
    return code


def test_every_kind_is_covered() -> None:
    assert set(EXPECTED) == {k.value for k in Kind} == set(MAIN)


def _cases() -> list[tuple[str, bool]]:
    cases = []
    for kind in Kind:
        cases.append((kind.value, False))
        if "pulse" in VALUE_KEYS[kind] and kind is not Kind.HEART_RATE:
            cases.append((kind.value, True))
    return cases


@pytest.mark.parametrize(("kind", "with_pulse"), _cases())
def test_every_kind_maps_to_valid_observations(kind: str, with_pulse: bool) -> None:
    keys = set(VALUE_KEYS[Kind(kind)]) - ({"pulse"} if kind != "heart_rate" else set())
    values = {k: SAMPLE[k] for k in keys} | ({"pulse": SAMPLE["pulse"]} if with_pulse else {})
    sample = replace(
        SampleReading(),
        kind=kind,
        values=values,
        device={"profile": kind, "address": "00:5F:BF:12:34:56", "model": "Meter"},
        findings=[],
        colour="green",
    )
    observations = reading_observations(sample)
    assert len(observations) == (2 if with_pulse else 1)
    loinc, mdc, category, profile = MAIN[kind]
    main = observations[0]
    for observation in observations:
        check_resource(observation, vital_sign=category != "exam")
        assert observation["subject"] == {"reference": "Patient/pat-kari"}
        assert observation["device"] == {"reference": "Device/pat-kari.meter-005FBF123456"}
        assert observation["extension"][0]["valueReference"] == {
            "reference": "Device/gw-kari.gateway"
        }
        assert _interpretation(observation) == "N"
    assert _codes(main["code"], LOINC)[0] == loinc
    assert _codes(main["code"], MDC) == [mdc]
    assert _codes(
        main["category"][0], "http://terminology.hl7.org/CodeSystem/observation-category"
    ) == [category]
    assert main.get("meta", {}).get("profile") == (
        [f"http://hl7.org/fhir/StructureDefinition/{profile}"] if profile else None
    )
    assert main["identifier"] == [{"system": "urn:dho:reading", "value": sample.id}]
    assert main["id"] == sample.id
    if kind == "spo2":
        assert _codes(main["code"], LOINC) == ["2708-6", "59408-5"]
    # every value comes out once, with its LOINC, MDC and UCUM
    seen: dict[str, Any] = {}
    for observation in observations:
        for part in [observation, *observation.get("component", [])]:
            if "valueQuantity" in part:
                mdc_codes = _codes(part["code"], MDC)
                seen[_codes(part["code"], LOINC)[0]] = (mdc_codes, part["valueQuantity"])
    for key, value in values.items():
        want_loinc, want_mdc, want_ucum = EXPECTED[kind][key]
        mdc_codes, quantity = seen.pop(want_loinc)
        assert mdc_codes == [want_mdc]
        assert quantity["value"] == value
        assert quantity["code"] == want_ucum
    assert seen == {}
    if with_pulse:
        pulse = observations[1]
        assert pulse["id"] == f"{sample.id}.pulse" != main["id"]
        assert pulse["identifier"][0]["value"] == f"{sample.id}:pulse"
        assert pulse["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/heartrate"]


def test_a_typed_value_has_no_device_and_the_patient_performed_it() -> None:
    typed = replace(
        SampleReading(),
        device={"profile": "blood_pressure", "model": "manual", "address": None},
        flags=["patient_typed"],
    )
    for observation in reading_observations(typed):
        check_resource(observation)
        assert "device" not in observation
        assert observation["performer"] == [{"reference": "Patient/pat-kari"}]
        assert {"system": "urn:dho:code:reading-flag", "code": "patient_typed"}.items() <= (
            observation["meta"]["tag"][0].items()
        )


FLAGS = [
    "device_clock_ahead",
    "gateway_clock_ahead",
    "gateway_clock_behind",
    "backfill",
    "no_plan",
    "timed_by_gateway",
    "patient_typed",
]


@pytest.mark.parametrize("flag", FLAGS)
def test_data_quality_flags_are_tags(flag: str) -> None:
    flagged = replace(SampleReading(), flags=[flag, "backfill"] if flag != "backfill" else [flag])
    for observation in reading_observations(flagged):
        check_resource(observation)
        tags = [t["code"] for t in observation["meta"]["tag"]]
        assert tags[0] == flag
        assert "http://hl7.org/fhir/StructureDefinition/" in observation["meta"]["profile"][0]


def test_every_flag_of_the_pipeline_is_known() -> None:
    from triage.ingest.pipeline import Flag

    assert sorted(FLAGS) == sorted(f.value for f in Flag)


def _stored(
    kind: str, values: dict[str, float], plan: Any = PLAN, history: History | None = None
) -> SampleReading:
    """A reading as the pipeline stores it, with the findings the classifier made."""
    domain = reading_with(kind, values)
    result = classify(domain, plan, history or History(), NOW)
    return replace(
        SampleReading(),
        id=domain.id,
        kind=kind,
        values=values,
        measured_at=NOW,
        colour=result.colour.value,
        findings=[f.model_dump(mode="json") for f in result.findings],
    )


@pytest.mark.parametrize(
    ("kind", "values", "main", "components"),
    [
        ("glucose", {"glucose": 2.9}, "LL", {}),  # red below
        ("glucose", {"glucose": 3.5}, "L", {}),  # yellow below
        ("glucose", {"glucose": 6.0}, "N", {}),
        ("glucose", {"glucose": 14.0}, "H", {}),  # yellow above
        ("glucose", {"glucose": 20.0}, "HH", {}),  # red above
        ("spo2", {"spo2": 92.0}, "LL", {}),
        ("spo2", {"spo2": 94.0}, "L", {}),
        ("blood_pressure", {"systolic": 185.0, "diastolic": 90.0}, "HH", {"8480-6": "HH"}),
        ("blood_pressure", {"systolic": 165.0, "diastolic": 90.0}, "H", {"8480-6": "H"}),
        ("blood_pressure", {"systolic": 130.0, "diastolic": 80.0}, "N", {"8480-6": "N"}),
    ],
)
def test_threshold_findings_give_directional_interpretations(
    kind: str, values: dict[str, float], main: str, components: dict[str, str]
) -> None:
    observation = reading_observations(_stored(kind, values))[0]
    check_resource(observation)
    assert _interpretation(observation) == main
    for component in observation.get("component", []):
        code = _codes(component["code"], LOINC)[0]
        assert _interpretation(component) == components.get(code)


def test_a_trend_is_abnormal_and_a_combination_critical() -> None:
    weights = History(readings=(reading("body_weight", at=days_ago(2), weight=80.0),))
    trend = _stored("body_weight", {"weight": 82.3}, TREND, weights)
    assert trend.colour == "yellow"
    assert _interpretation(reading_observations(trend)[0]) == "A"
    grouped = History(
        readings=(reading("body_weight", at=days_ago(2), weight=80.0),),
        findings=(_past("hf-symptoms", Colour.YELLOW, 5),),
    )
    combined = _stored("body_weight", {"weight": 82.5}, GROUPED, grouped)
    assert combined.colour == "red"
    assert _interpretation(reading_observations(combined)[0]) == "AA"


def test_a_pulse_finding_goes_to_the_pulse_observation_only() -> None:
    stored = replace(
        SampleReading(),
        findings=[
            {"rule_type": "threshold", "colour": "yellow", "parameter": "pulse",
             "args": {"bound": 101, "bound_op": "ge"}},
            {"rule_type": "threshold", "colour": "green", "parameter": "systolic"},
        ],
    )  # fmt: skip
    panel, pulse = reading_observations(stored)
    assert _interpretation(panel) == "N"
    assert _interpretation(pulse) == "H"


def test_an_old_stored_finding_reads_its_direction_from_the_bound() -> None:
    old = {
        "rule_id": "threshold:spo2",
        "rule_type": "threshold",
        "colour": "red",
        "parameter": "spo2",
        "value": 86.0,
        "bound": "≤ 87 %",
        "text": {"nb": "SpO2 86 % — rød: ≤ 87 % (plan v1)", "en": "SpO2 86 % — red"},
    }
    stored = replace(SampleReading(), kind="spo2", values={"spo2": 86.0}, findings=[old])
    assert _interpretation(reading_observations(stored)[0]) == "LL"


def test_no_plan_no_interpretation() -> None:
    stored = replace(SampleReading(), colour=None, findings=[], flags=["no_plan"])
    assert all("interpretation" not in o for o in reading_observations(stored))


@pytest.mark.parametrize(
    ("zone", "at", "expected"),
    [
        ("Europe/Oslo", datetime(2026, 12, 7, 7, 15, tzinfo=UTC), "2026-12-07T08:15:00+01:00"),
        ("Europe/Oslo", datetime(2026, 7, 1, 6, 0, tzinfo=UTC), "2026-07-01T08:00:00+02:00"),
        # the spring-forward night: 00:59:59 UTC is 01:59:59+01:00, 01:00 UTC is 03:00+02:00
        ("Europe/Oslo", datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), "2026-03-29T01:59:59+01:00"),
        ("Europe/Oslo", datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "2026-03-29T03:00:00+02:00"),
        ("America/New_York", datetime(2026, 12, 7, 7, 15, tzinfo=UTC), "2026-12-07T02:15:00-05:00"),
        ("UTC", datetime(2026, 12, 7, 7, 15, 30, 250000, tzinfo=UTC),
         "2026-12-07T07:15:30.250000+00:00"),
    ],
)  # fmt: skip
def test_effective_time_has_the_offset_of_the_readings_own_zone(
    zone: str, at: datetime, expected: str
) -> None:
    stored = replace(SampleReading(), timezone=zone, measured_at=at)
    for observation in reading_observations(stored):
        assert observation["effectiveDateTime"] == expected


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        reading_observations(replace(SampleReading(), kind="cholesterol"))


def test_no_gateway_no_extension_and_a_meter_named_by_nothing_no_device() -> None:
    stored = replace(SampleReading(), gateway_id="", device={"profile": "blood_pressure"})
    for observation in reading_observations(stored):
        check_resource(observation)
        assert "extension" not in observation
        assert "device" not in observation


def test_a_meter_without_an_address_is_named_by_its_model() -> None:
    simulated = {"profile": "blood_pressure", "model": "DHO simulated"}
    stored = replace(SampleReading(), device=simulated)
    for observation in reading_observations(stored):
        assert observation["device"] == {
            "reference": "Device/pat-kari.meter-BLOODPRESSUREDHOSIMULATED"
        }


@pytest.mark.parametrize(
    ("source", "part", "expected"),
    [
        ("r-1", None, "r-1"),
        ("r-1", "pulse", "r-1.pulse"),
        ("0b8f5f9e-6d1c-5a8e-9a43-3f1e2d7c9b10", None, "0b8f5f9e-6d1c-5a8e-9a43-3f1e2d7c9b10"),
    ],
)
def test_a_valid_id_is_kept(source: str, part: str | None, expected: str) -> None:
    assert logical_id(source, part) == expected


@pytest.mark.parametrize("source", ["a b", "pat/1", "x" * 65, "æøå", "a:b"])
def test_an_invalid_id_becomes_a_stable_hash(source: str) -> None:
    made = logical_id(source)
    assert made == logical_id(source) != source
    assert made.startswith("h.")
    assert len(made) == 42
    assert logical_id(source, "pulse") not in (made, logical_id(source + "x"))
    check_resource(reading_observations(replace(SampleReading(), id=source))[0])


def test_even_an_empty_id_gets_a_valid_one() -> None:
    assert logical_id("").startswith("h.")


def test_local_references() -> None:
    assert LOCAL.patient("pat-1") == {"reference": "Patient/pat-1"}
    assert LOCAL.to("Observation", "r 1") == {"reference": f"Observation/{logical_id('r 1')}"}
    assert LOCAL.to("Observation", "r-1", "pulse") == {"reference": "Observation/r-1.pulse"}


def test_the_checks_can_fail() -> None:
    """Each of the three checks refuses an Observation broken in its own way."""
    good = reading_observations(SampleReading())[1]  # heart rate
    assert vital_signs_problems(good) == []
    assert resource_errors(good) == []
    wrong_unit = json.loads(json.dumps(good))
    wrong_unit["valueQuantity"]["code"] = "Hz"
    assert vital_signs_problems(wrong_unit)
    no_offset = json.loads(json.dumps(good))
    no_offset["effectiveDateTime"] = "2026-12-07T08:15:00"
    assert vital_signs_problems(no_offset)
    no_category = json.loads(json.dumps(good))
    no_category["category"][0]["coding"][0]["code"] = "laboratory"
    assert vital_signs_problems(no_category)
    bad_status = json.loads(json.dumps(good))
    bad_status["status"] = "done"
    assert resource_errors(bad_status)  # the R4B models do not check codes (research notes)
    no_code = json.loads(json.dumps(good))
    del no_code["code"]
    assert resource_errors(no_code)
    assert model_errors(no_code)
    bad_interpretation = json.loads(json.dumps(good))
    bad_interpretation["interpretation"] = {"text": "not a list"}
    assert resource_errors(bad_interpretation)


# ----------------------------------------------------------------------------- property test

ZONES = ["Europe/Oslo", "UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]


@cache
def _transitions(zone: str, year: int) -> tuple[datetime, ...]:
    """The instants in ``year`` at which ``zone``'s offset changes (to the minute)."""
    tz = ZoneInfo(zone)
    found = []
    day = datetime(year, 1, 1, tzinfo=UTC)
    while day.year == year:
        nxt = day + timedelta(days=1)
        if day.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            low, high = day, nxt
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                if mid.astimezone(tz).utcoffset() == low.astimezone(tz).utcoffset():
                    low = mid
                else:
                    high = mid
            found.append(high)
        day = nxt
    return tuple(found)


@st.composite
def instants(draw: st.DrawFn, zone: str) -> datetime:
    """Any instant 2000–2037, or one within three hours of a change of offset in ``zone``."""
    year = draw(st.integers(2000, 2037))
    changes = _transitions(zone, year)
    near_a_change = draw(st.booleans())
    if changes and near_a_change:
        change: datetime = draw(st.sampled_from(changes))
        return change + timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 3600)))
    return draw(
        st.datetimes(
            datetime(2000, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
            datetime(2037, 12, 31),  # noqa: DTZ001
            timezones=st.just(UTC),
        )
    )


@st.composite
def readings(draw: st.DrawFn) -> tuple[SampleReading, str]:
    kind = draw(st.sampled_from(list(Kind)))
    values: dict[str, float] = {}
    for key, parameter in VALUE_KEYS[kind].items():
        if key in REQUIRED_KEYS[kind] or draw(st.booleans()):
            low, high = PLAUSIBLE[parameter]
            values[key] = draw(st.floats(low, high, allow_nan=False, allow_infinity=False))
    if kind is Kind.BLOOD_PRESSURE and values["diastolic"] >= values["systolic"]:
        values["diastolic"], values["systolic"] = (
            min(values["diastolic"], values["systolic"]),
            max(values["diastolic"], values["systolic"]),
        )
    zone = draw(st.sampled_from(ZONES))
    at = draw(instants(zone))
    sample = replace(
        SampleReading(),
        id=draw(st.from_regex(r"[A-Za-z0-9\-]{1,40}", fullmatch=True)),
        kind=kind.value,
        values=values,
        measured_at=at,
        timezone=zone,
        findings=[],
        colour=None,
    )
    return sample, zone


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(readings())
def test_values_units_and_instant_round_trip(case: tuple[SampleReading, str]) -> None:
    sample, zone = case
    # through JSON, as the export writes it and a receiver parses it
    observations = json.loads(json.dumps(reading_observations(sample)))
    found: dict[str, dict[str, Any]] = {}
    for observation in observations:
        check_resource(observation, vital_sign=sample.kind != "peak_flow")
        effective = datetime.fromisoformat(observation["effectiveDateTime"])
        assert effective == sample.measured_at
        assert effective.utcoffset() == sample.measured_at.astimezone(ZoneInfo(zone)).utcoffset()
        found |= _values_by_loinc(observation)
    expected = EXPECTED[sample.kind]
    assert len(found) == len(sample.values)
    for key, value in sample.values.items():
        loinc, _, ucum = expected[key]
        assert found[loinc]["value"] == value
        assert found[loinc]["code"] == ucum
        assert found[loinc]["system"] == "http://unitsofmeasure.org"


def test_based_on_the_plan_version_that_triaged_it() -> None:
    for observation in reading_observations(SampleReading()):
        assert observation["basedOn"] == [{"reference": "CarePlan/plan-kari.v2"}]
    unplanned = replace(SampleReading(), plan_id=None, plan_version=None, flags=["no_plan"])
    assert all("basedOn" not in o for o in reading_observations(unplanned))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([("spo2", "spo2"), ("glucose", "glucose"), ("blood_pressure", "systolic")]),
    st.floats(0.0, 1.0),
)
def test_the_interpretation_agrees_with_the_plans_zones(
    kind_key: tuple[str, str], fraction: float
) -> None:
    """Whatever the value, the code says the zone the classifier put it in, and its side."""
    kind, key = kind_key
    parameter = VALUE_KEYS[Kind(kind)][key]
    low, high = PLAUSIBLE[parameter]
    value = round(low + (high - low) * fraction, 1)
    # systolic is at least 50 (plausible), so a diastolic of 40 is always below it
    values = {key: value} | ({"diastolic": 40.0} if kind == "blood_pressure" else {})
    colour, side, _ = PLAN.zones[parameter].zone(value)
    expected = {
        (Colour.GREEN, None): "N",
        (Colour.YELLOW, "low"): "L",
        (Colour.RED, "low"): "LL",
        (Colour.YELLOW, "high"): "H",
        (Colour.RED, "high"): "HH",
    }[(colour, side.value if side is not None else None)]
    observation = reading_observations(_stored(kind, values))[0]
    assert _interpretation(observation) == expected
