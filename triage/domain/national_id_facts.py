"""Birth date and sex from a Norwegian identity number, and the programme's age bands (pure).

The programme's reach compares the patients in follow-up with the municipality's inhabitants by
sex and age band; the only birth date and sex the service holds are those in the (synthetic)
identity number:

- digits 1–6 are the birth date ``DDMMYY``; a D-number adds 40 to the day, the test-number
  convention (Skatteetaten's synthetic identities) adds 80 to the month;
- digits 7–9 are the individual number: it gives the century (000–499: 1900–1999; 500–749 with
  year 54–99: 1854–1899; 500–999 with year 00–39: 2000–2039; 900–999 with year 40–99:
  1940–1999; any other combination is not issued) and its last digit the sex (odd: male, even:
  female).

Check digits are not checked here (the API checks them at enrolment); a value that does not
parse gives None, and the figures count its patient as "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"


#: The age bands of the programme's reach and of the population the admin enters. They are
#: SSB table 07459's one-year ages aggregated (0–49 together, as the service follows up few
#: younger patients), with the finer bands where the elderly population the service serves
#: lives: 67 is the pension age and the usual start of "eldre" in the municipalities' plans,
#: 80 and 90 the ages from which home-care nursing and nursing homes are most used.
AGE_BANDS: tuple[str, ...] = ("0-49", "50-66", "67-79", "80-89", "90+")
_BAND_STARTS: tuple[int, ...] = (0, 50, 67, 80, 90)


@dataclass(frozen=True, slots=True)
class PersonFacts:
    birth_date: date
    sex: Sex


def person_facts(national_id: str | None) -> PersonFacts | None:
    """The birth date and sex in ``national_id`` (at least its first nine digits); None when it
    is missing or does not hold a valid date and issued individual number."""
    if national_id is None or len(national_id) < 9 or not national_id[:9].isdigit():
        return None
    day, month, year = int(national_id[0:2]), int(national_id[2:4]), int(national_id[4:6])
    individual = int(national_id[6:9])
    if day > 40:
        day -= 40  # D-number
    if month > 80:
        month -= 80  # test-number convention
    century = _century(individual, year)
    if century is None:
        return None
    try:
        born = date(century + year, month, day)
    except ValueError:
        return None
    return PersonFacts(born, Sex.MALE if individual % 2 else Sex.FEMALE)


def _century(individual: int, year: int) -> int | None:
    if individual <= 499:
        return 1900
    if individual <= 749 and year >= 54:
        return 1800
    if individual >= 500 and year <= 39:
        return 2000
    if individual >= 900 and year >= 40:
        return 1900
    return None


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on ``day`` (a person born on 29 February turns a year older on
    1 March in other years)."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (1 if before_birthday else 0)


def age_band(age: int) -> str:
    """The band of :data:`AGE_BANDS` holding ``age`` (ages below 0 count as the first band)."""
    band = AGE_BANDS[0]
    for start, name in zip(_BAND_STARTS, AGE_BANDS, strict=True):
        if age >= start:
            band = name
    return band
