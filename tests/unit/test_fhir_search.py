"""The FHIR API's search parameters and cursors (triage/api/fhir_search.py): date ranges with
prefixes and precision in the patient's zone (DST included), tokens, _count, strict handling,
and cursors bound to their search."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from triage.api.fhir_search import (
    MAX_COUNT,
    FhirError,
    Item,
    Position,
    Token,
    codeable_matches,
    date_window,
    decode_cursor,
    encode_cursor,
    parse_search,
    patient_parameter,
    strict,
    take,
    tokens,
)
from triage.api.queries.fhir import Mark, Window

OSLO = ZoneInfo("Europe/Oslo")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def holds(window: Window, moment: str) -> bool:
    """Whether ``moment`` satisfies the window (as the SQL clause does)."""
    t = utc(moment)
    inside = True
    if window.start is not None:
        inside &= t >= window.start if window.start_inclusive else t > window.start
    if window.end is not None:
        inside &= t <= window.end if window.end_inclusive else t < window.end
    return not inside if window.outside else inside


@pytest.mark.parametrize(
    ("value", "inside", "outside"),
    [
        # a day in Oslo (UTC+1 in winter): 23:00 UTC the day before to 23:00 UTC
        ("2026-11-18", ["2026-11-17T23:00:00+00:00", "2026-11-18T22:59:59+00:00"],
         ["2026-11-17T22:59:59+00:00", "2026-11-18T23:00:00+00:00"]),
        # the spring-forward day has 23 hours, the fall-back day 25
        ("eq2026-03-29", ["2026-03-28T23:00:00+00:00", "2026-03-29T21:59:59+00:00"],
         ["2026-03-29T22:00:00+00:00"]),
        ("2026-10-25", ["2026-10-24T22:00:00+00:00", "2026-10-25T22:59:59+00:00"],
         ["2026-10-24T21:59:59+00:00", "2026-10-25T23:00:00+00:00"]),
        ("ge2026-11", ["2026-10-31T23:00:00+00:00", "2030-01-01T00:00:00+00:00"],
         ["2026-10-31T22:59:59+00:00"]),
        ("lt2026", ["2025-12-31T22:59:59+00:00"], ["2025-12-31T23:00:00+00:00"]),
        ("le2026-12", ["2026-12-31T22:59:59+00:00"], ["2026-12-31T23:00:00+00:00"]),
        ("gt2026-11-18T09:00", ["2026-11-18T08:01:00+00:00"], ["2026-11-18T08:00:59+00:00"]),
        ("gt2026-11-18T09:00:00Z", ["2026-11-18T09:00:01+00:00"], ["2026-11-18T09:00:00.5+00:00"]),
        ("eq2026-11-18T09:00:00.25-02:00", ["2026-11-18T11:00:00.255+00:00"],
         ["2026-11-18T11:00:00.26+00:00", "2026-11-18T11:00:00.249+00:00"]),
        ("ne2026-11-18", ["2026-11-19T12:00:00+00:00"], ["2026-11-18T12:00:00+00:00"]),
        ("sa2026-11-18", ["2026-11-18T23:00:00+00:00"], ["2026-11-18T22:00:00+00:00"]),
        ("eb2026-11-18", ["2026-11-17T22:59:00+00:00"], ["2026-11-17T23:00:00+00:00"]),
    ],
)  # fmt: skip
def test_a_date_is_a_range_in_the_patients_zone(
    value: str, inside: list[str], outside: list[str]
) -> None:
    window = date_window(value, OSLO)
    for moment in inside:
        assert holds(window, moment), (value, moment)
    for moment in outside:
        assert not holds(window, moment), (value, moment)


@pytest.mark.parametrize(
    "value",
    ["2026-13-01", "2026-02-30", "26-11-01", "2026-11-01T25:00", "2026-11-01T10:00+15:00",
     "2026-11-01T10:00+01:60", "gx2026", "", "2026-11-01 10:00", "10000-01-01", "9999-12"],
)  # fmt: skip
def test_what_is_not_a_date_is_a_400(value: str) -> None:
    """… including December 9999, whose end is past the last time there is."""
    with pytest.raises(FhirError) as caught:
        date_window(value, OSLO)
    assert caught.value.status_code == 400


def test_approximately_is_refused_as_not_supported() -> None:
    with pytest.raises(FhirError) as caught:
        date_window("ap2026-11-18", OSLO)
    assert (caught.value.status_code, caught.value.code) == (400, "not-supported")


def test_tokens_with_and_without_a_system() -> None:
    loinc = {"system": "http://loinc.org", "code": "8867-4"}
    bare = {"code": "8867-4"}
    assert tokens("http://loinc.org|8867-4") == [Token("http://loinc.org", "8867-4")]
    assert tokens("8867-4,x") == [Token(None, "8867-4"), Token(None, "x")]
    assert tokens("|8867-4") == [Token("", "8867-4")]
    assert tokens("http://loinc.org|") == [Token("http://loinc.org", None)]
    assert tokens(r"a\,b") == [Token(None, "a,b")]
    assert Token(None, "8867-4").matches(loinc)
    assert Token(None, "8867-4").matches(bare)
    assert not Token("", "8867-4").matches(loinc)
    assert Token("", "8867-4").matches(bare)
    assert Token("http://loinc.org", None).matches(loinc)
    assert not Token("http://snomed.info/sct", "8867-4").matches(loinc)
    for bad in ("a|b|c", "|", ","):
        with pytest.raises(FhirError):
            tokens(bad)


def test_repeated_parameters_must_all_match_a_comma_is_or() -> None:
    concept = [{"coding": [{"system": "s", "code": "a"}, {"system": "s", "code": "b"}]}]
    assert codeable_matches(concept, [tokens("a"), tokens("b")])
    assert codeable_matches(concept, [tokens("x,b")])
    assert not codeable_matches(concept, [tokens("a"), tokens("x")])
    assert codeable_matches(concept, [])


def test_count_strict_handling_and_the_patient() -> None:
    query = [("patient", "Patient/p-1"), ("_count", "9999"), ("colour", "red")]
    search = parse_search(query, ("patient",), strict_handling=False)
    assert search.count == MAX_COUNT
    assert search.ignored == ["colour"]
    assert patient_parameter(search, "Observation") == "p-1"
    assert "colour" not in search.link("https://x/fhir/r4/Observation")
    with pytest.raises(FhirError) as caught:
        parse_search(query, ("patient",), strict_handling=True)
    assert caught.value.code == "not-supported"
    for count in ("0", "-1", "1.5", "many"):
        with pytest.raises(FhirError):
            parse_search([("_count", count)], (), strict_handling=False)
    assert strict('return=minimal, handling="strict"')
    assert not strict("handling=lenient")
    assert not strict(None)
    for patient in ("a,b", "Observation/x", "p 1"):
        search = parse_search([("patient", patient)], ("patient",), strict_handling=False)
        with pytest.raises(FhirError):
            patient_parameter(search, "Flag")


def test_a_cursor_is_bound_to_its_search_and_cannot_be_forged() -> None:
    search = parse_search(
        [("patient", "p"), ("code", "x")], ("patient", "code"), strict_handling=False
    )
    other = parse_search([("patient", "p")], ("patient", "code"), strict_handling=False)
    fingerprint = search.fingerprint("Observation")
    mark = Mark(utc("2026-11-18T08:00:00+00:00"), "r", "o18", 1)
    cursor = encode_cursor(Position("obs", mark, 0, fingerprint))
    assert decode_cursor(cursor, fingerprint, ("obs",)) == Position("obs", mark, 0, fingerprint)
    for bad_fingerprint, sections in (
        (other.fingerprint("Observation"), ("obs",)),
        (search.fingerprint("DetectedIssue"), ("obs",)),
        (fingerprint, ("qr",)),
    ):
        with pytest.raises(FhirError):
            decode_cursor(cursor, bad_fingerprint, sections)
    for forged in ("", "!!", cursor[:-3], "eyJzIjoib2JzIn0", "x" * 700):
        with pytest.raises(FhirError):
            decode_cursor(forged, fingerprint, ("obs",))


def test_take_splits_an_items_resources_across_pages_without_loss() -> None:
    at = utc("2026-11-18T08:00:00+00:00")

    def made(id_: str, n: int) -> Callable[[], list[dict[str, Any]]]:
        return lambda: [{"id": f"{id_}.{i}"} for i in range(n)]

    items = [Item("r", at, id_, made(id_, n)) for id_, n in (("c", 2), ("b", 0), ("a", 3))]
    seen: list[str] = []
    mark = None
    for _ in range(10):
        start = mark
        remaining = [i for i in items if start is None or i.id <= start.id]
        page, mark = take(remaining, start, 2)
        seen += [r["id"] for r in page]
        if mark is None:
            break
    assert seen == ["c.0", "c.1", "a.0", "a.1", "a.2"]
