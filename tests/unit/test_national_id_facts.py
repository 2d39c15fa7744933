"""Birth date and sex from synthetic identity numbers (D-number day + 40, test-number month +
80), the century from the individual number, and the programme's age bands."""

from __future__ import annotations

from datetime import date

import pytest

from triage.domain.national_id_facts import (
    AGE_BANDS,
    PersonFacts,
    Sex,
    age_band,
    age_on,
    person_facts,
)
from triage.storage.seed import synthetic_national_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # D-number: day 15 + 40 = 55; individual 078 (even: female), 000-499: the 1900s
        ("55065007877", PersonFacts(date(1950, 6, 15), Sex.FEMALE)),
        # test number: month 3 + 80 = 83; individual 301 (odd: male)
        ("03834030100", PersonFacts(date(1940, 3, 3), Sex.MALE)),
        # individual 953 with year 99: 900-999 and year 40-99 are the 1900s
        ("41129995368", PersonFacts(date(1999, 12, 1), Sex.MALE)),
        # individual 512 with year 10: 500-999 and year 00-39 are the 2000s
        ("41011051200", PersonFacts(date(2010, 1, 1), Sex.FEMALE)),
        # individual 600 with year 60: 500-749 and year 54-99 are the 1800s
        ("41016060000", PersonFacts(date(1860, 1, 1), Sex.FEMALE)),
    ],
)
def test_birth_date_and_sex(value: str, expected: PersonFacts) -> None:
    assert person_facts(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "1234",
        "abcdefghijk",
        "41014580000",  # individual 800 with year 45: not issued
        "71024512300",  # 31 February (day 71 - 40)
        "01934512300",  # month 93 - 80 = 13
    ],
)
def test_what_does_not_parse_is_unknown(value: str | None) -> None:
    assert person_facts(value) is None


def test_the_seed_identities_parse_to_their_birth_date() -> None:
    assert person_facts(synthetic_national_id(date(1931, 3, 3), 202)) == PersonFacts(
        date(1931, 3, 3), Sex.FEMALE
    )


def test_age_turns_on_the_birthday() -> None:
    born = date(1959, 11, 24)
    assert age_on(born, date(2026, 11, 23)) == 66
    assert age_on(born, date(2026, 11, 24)) == 67
    assert age_on(date(1948, 2, 29), date(2026, 2, 28)) == 77
    assert age_on(date(1948, 2, 29), date(2026, 3, 1)) == 78


def test_age_bands() -> None:
    assert AGE_BANDS == ("0-49", "50-66", "67-79", "80-89", "90+")
    assert [age_band(a) for a in (0, 49, 50, 66, 67, 79, 80, 89, 90, 104)] == [
        "0-49",
        "0-49",
        "50-66",
        "50-66",
        "67-79",
        "67-79",
        "80-89",
        "80-89",
        "90+",
        "90+",
    ]
