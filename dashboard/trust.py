"""Data-quality flags on a reading, as a nurse reads them: an icon and words saying why the
reading's time (or origin) is uncertain. The API gives each reading its ``flags`` as stored by
ingest (docs/contracts/receipts.md, Flags); those that matter to a nurse are shown here, the
others (``no_plan``: the reading is "not classified" already) are left out.

Pure: flags in, text out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dashboard.i18n import Language, t

#: the time is uncertain: set by the gateway, or a clock was wrong
CLOCK_ICON = "🕓"
#: sent in after an outage, long after it was measured
BACKFILL_ICON = "📥"
#: typed in by the patient, not measured by a device
TYPED_ICON = "⌨"

#: flag → (icon, i18n key), in the order shown
_FLAGS: dict[str, tuple[str, str]] = {
    "timed_by_gateway": (CLOCK_ICON, "flag_timed_by_gateway"),
    "device_clock_ahead": (CLOCK_ICON, "flag_device_clock_ahead"),
    "gateway_clock_ahead": (CLOCK_ICON, "flag_gateway_clock_ahead"),
    "gateway_clock_behind": (CLOCK_ICON, "flag_gateway_clock_behind"),
    "backfill": (BACKFILL_ICON, "flag_backfill"),
    "patient_typed": (TYPED_ICON, "patient_typed"),
}


@dataclass(frozen=True)
class TrustNote:
    icon: str
    words: str


def trust_notes(flags: Iterable[str], language: Language, *, typed: bool = True) -> list[TrustNote]:
    """The reading's flags a nurse should know about, each with its icon and words, in a
    fixed order; ``typed=False`` leaves out "typed in by the patient" (shown elsewhere)."""
    present = set(flags)
    return [
        TrustNote(icon, t(key, language))
        for flag, (icon, key) in _FLAGS.items()
        if flag in present and (typed or flag != "patient_typed")
    ]


def trust_icons(notes: Iterable[TrustNote]) -> str:
    """The notes' icons, each once: "🕓📥"."""
    return "".join(dict.fromkeys(n.icon for n in notes))


def trust_text(notes: Iterable[TrustNote]) -> str:
    """ "🕓 Tidspunktet er satt av gatewayen … · 📥 Sendt inn etter et brudd …"."""
    return " · ".join(f"{n.icon} {n.words}" for n in notes)
