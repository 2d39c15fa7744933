"""The reader's language from Accept-Language: bokmål unless English is preferred."""

from __future__ import annotations

import pytest

from triage.api.language import preferred_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "nb"),
        ("", "nb"),
        ("*", "nb"),
        ("de-DE", "nb"),
        ("nb-NO,nb;q=0.9,en;q=0.8", "nb"),
        ("no", "nb"),
        ("nn-NO", "nb"),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("nb;q=0.5, en;q=0.9", "en"),
        ("en;q=0, nb", "nb"),
        ("de, en-US;q=0.7, nb;q=0.3", "en"),
        ("en;q=bad, nb;q=0.1", "nb"),
    ],
)
def test_preferred_language(header: str | None, expected: str) -> None:
    assert preferred_language(header) == expected
