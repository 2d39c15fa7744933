"""The generated parts of docs/fhir.md: the mapping table (from :data:`TABLE`) and the
examples (from :func:`triage.fhir.examples.examples`). Pure: text in, text out.

The page keeps its prose by hand; what lies between ``<!-- BEGIN generated: <part> -->`` and
``<!-- END generated: <part> -->`` is replaced by :func:`fill`, and a test checks the page
equals ``fill(page)``. Regenerate with :data:`REGENERATE`.
"""

from __future__ import annotations

import json
import re

from triage.fhir.codes import OBSERVATION_CATEGORY, TABLE
from triage.fhir.examples import examples

#: the command that rewrites the generated parts of docs/fhir.md (triage/cli.py)
REGENERATE = "dho docs fhir --write"
_PART = re.compile(
    r"(<!-- BEGIN generated: (?P<name>[a-z-]+) -->\n).*?(<!-- END generated: (?P=name) -->)",
    re.S,
)


def mapping_table() -> str:
    """The table: one row per kind and parameter."""
    rows = [
        "| Measured by (`kind`) | Parameter | LOINC | MDC (ISO/IEEE 11073-10101) | UCUM "
        "| FHIR R4 profile | Category |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in TABLE:
        parameter = row.parameter.value if row.parameter is not None else "(panel)"
        extra = "".join(f" + {code} {display}" for code, display in row.extra_loinc)
        profile = f"`{row.profile}`" if row.profile else "—"
        unit = f"`{row.ucum}`" if row.ucum else "—"
        rows.append(
            f"| `{row.kind.value}` | `{parameter}` | {row.loinc} {row.loinc_display}{extra} "
            f"| {row.mdc} `{row.mdc_reference_id}` | {unit} | {profile} | `{row.category}` |"
        )
    rows.append("")
    rows.append(f"Category codes are from `{OBSERVATION_CATEGORY}`.")
    return "\n".join(rows) + "\n"


def examples_markdown() -> str:
    """One JSON example per resource, each under its own heading."""
    parts = []
    for title, resource in examples().items():
        body = json.dumps(resource, indent=2, ensure_ascii=False)
        parts.append(f"### Example: {title}\n\n```json\n{body}\n```\n")
    return "\n".join(parts)


def fill(page: str) -> str:
    """``page`` with every generated part made anew."""
    made = {"table": mapping_table(), "examples": examples_markdown()}

    def replace(match: re.Match[str]) -> str:
        return f"{match.group(1)}{made[match.group('name')]}{match.group(3)}"

    return _PART.sub(replace, page)
