"""The words of an escalation message: what a receiver's phone or mailbox shows.

SMS and ordinary e-mail are not secure channels for health data (Normen), so by default
(:class:`~triage.domain.notification.DetailLevel` ``none``) a message says only that a red alert
waits at the centre, since when, and where to look — no name, no value, no rule:

    Title: DHO: rødt varsel venter
    DHO: 1 rød varsling venter hos Oppfølgingstjenesten Fjordvik siden 15:05 — åpne DHO: <link>
    Bekreft mottatt / confirm receipt: <receipt link>
    DHO: 1 red alert waiting at Oppfølgingstjenesten Fjordvik since 15:05 — open DHO: <link>

With ``initials_municipality`` *and* a target the operator declared secure, one line more:
"Pasient: K. N., Fjordvik kommune". Never on a non-secure target.

The time is when the alert turned red, in the centre's time zone: ``HH:MM`` on the same local
day as ``now``, else with the date (``04.12 15:05``; with the year when not this year; English
``2026-12-04 15:05``). Bokmål first, then one English line.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from triage.domain.notification import DetailLevel

TITLE = "DHO: rødt varsel venter"


def escalation_message(
    *,
    centre_name: str,
    red_since: datetime,
    now: datetime,
    timezone: str,
    dashboard_url: str,
    receipt_url: str,
    detail: DetailLevel = DetailLevel.NONE,
    secure: bool = False,
    patient_name: str | None = None,
    municipality: str | None = None,
) -> tuple[str, str]:
    """(title, body) of one escalation message; ``patient_name``/``municipality`` are used only
    when ``detail`` is ``initials_municipality`` and the target is ``secure``."""
    for name, moment in (("red_since", red_since), ("now", now)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware: {moment.isoformat()}")
    zone = ZoneInfo(timezone)
    when_nb, when_en = local_when(red_since, now, zone)
    lines = [
        f"DHO: 1 rød varsling venter hos {centre_name} siden {when_nb} — åpne DHO: {dashboard_url}"
    ]
    if detail is DetailLevel.INITIALS_MUNICIPALITY and secure:
        who = [part for part in (initials(patient_name or ""), _municipality(municipality)) if part]
        if who:
            lines.append("Pasient: " + ", ".join(who))
    lines.append(f"Bekreft mottatt / confirm receipt: {receipt_url}")
    lines.append(
        f"DHO: 1 red alert waiting at {centre_name} since {when_en} — open DHO: {dashboard_url}"
    )
    return TITLE, "\n".join(lines)


def local_when(at: datetime, now: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """``at`` in ``zone`` for bokmål and English: the time alone on ``now``'s local day."""
    local = at.astimezone(zone)
    today = now.astimezone(zone)
    if local.date() == today.date():
        return local.strftime("%H:%M"), local.strftime("%H:%M")
    nb = local.strftime("%d.%m %H:%M" if local.year == today.year else "%d.%m.%Y %H:%M")
    return nb, local.strftime("%Y-%m-%d %H:%M")


def initials(name: str) -> str:
    """ "Kari Anne Nordmann" → "K. N.": the first and the last name's initials only."""
    parts = [p for p in re.split(r"[\s]+", name.strip()) if p]
    if not parts:
        return ""
    chosen = parts if len(parts) == 1 else [parts[0], parts[-1]]
    return " ".join(f"{p[0].upper()}." for p in chosen)


def _municipality(name: str | None) -> str:
    if not name:
        return ""
    return name if name.lower().endswith("kommune") else f"{name} kommune"


def alert_link(dashboard_public_url: str, alert_id: str) -> str:
    """The dashboard's page of the alert (its patient), after login if needed."""
    return f"{dashboard_public_url.rstrip('/')}/?alert={alert_id}"


def receipt_link(api_public_url: str, token: str) -> str:
    """The receipt link ("mottatt") of one message; the token appears nowhere else."""
    return f"{api_public_url.rstrip('/')}/api/v1/notifications/receipt/{token}"
