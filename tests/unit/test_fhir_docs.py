"""docs/fhir.md shows the mapping as it is: its table and its examples are generated
from the code, and each example is exactly what the mapping makes (and valid FHIR)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.fhir_checks import check_resource
from triage.fhir.docs import REGENERATE, fill
from triage.fhir.examples import examples

PAGE = Path(__file__).resolve().parents[2] / "docs" / "fhir.md"
_EXAMPLE = re.compile(r"^### Example: (.+?)\n\n```json\n(.*?)\n```$", re.S | re.M)


def test_the_generated_parts_are_up_to_date() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert page == fill(page), f"docs/fhir.md is out of date: run {REGENERATE}"


def test_every_example_on_the_page_is_what_the_mapping_makes() -> None:
    shown = {title: json.loads(body) for title, body in _EXAMPLE.findall(PAGE.read_text("utf-8"))}
    made = examples()
    assert shown == made
    for resource in shown.values():
        check_resource(resource)


def test_the_table_has_every_vital_sign_code() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for code in ("85354-9", "8480-6", "8462-4", "8867-4", "2708-6", "59408-5", "29463-7",
                 "8310-5", "9279-1", "14743-9"):  # fmt: skip
        assert f"| {code} " in page or f"+ {code} " in page, code
