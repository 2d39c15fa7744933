"""OperationOutcome: how the FHIR API answers every error."""

from __future__ import annotations

from typing import Any

#: the R4 IssueSeverity codes
SEVERITIES = frozenset({"fatal", "error", "warning", "information"})


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    """One issue: ``code`` from the R4 IssueType value set ("not-found", "invalid",
    "forbidden", "login", "not-supported", "exception", …), ``diagnostics`` in words."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
