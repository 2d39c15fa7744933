"""Lost contact with the home gateway: a technical finding, kept apart from clinical colours.

The gateway is **silent** from the last time it was seen (``last_seen``), or, when it was never
seen, from ``since`` (typically enrolment). Silent for ``after`` (24 hours by default;
[PROJECT]) or more → a yellow *technical* finding (rule ``lost_contact``); otherwise green, which
marks an open lost-contact alert as back in contact. Alerts opened from this finding are
TECHNICAL (:func:`triage.domain.alerts.open_alert`), so they never change the patient's clinical
colour; the worklist shows them in their own tier (:mod:`triage.domain.worklist`).

Times in the text are local (``timezone``, Europe/Oslo by default): bokmål as ``21.11 14:05``
(with the year, ``21.11.2025 14:05``, when it is not the year of ``now``) and English as
``2026-11-21 14:05``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.domain.colours import Colour, Text
from triage.domain.findings import Finding, RuleType

RULE_ID = "lost_contact"
DEFAULT_AFTER = timedelta(hours=24)


def lost_contact_finding(
    last_seen: datetime | None,
    since: datetime,
    now: datetime,
    after: timedelta = DEFAULT_AFTER,
    timezone: str = "Europe/Oslo",
) -> Finding:
    """Yellow when the gateway has been silent for ``after`` or more at ``now``, else green.

    ``value`` is the silence in hours; ``bound`` the limit, e.g. "≥ 24 h".
    """
    for name, moment in (("last_seen", last_seen), ("since", since), ("now", now)):
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise ValueError(f"{name} must be timezone-aware: {moment.isoformat()}")
    if after <= timedelta(0):
        raise ValueError("after must be a positive duration")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown IANA time zone {timezone!r}") from err
    start = last_seen if last_seen is not None else since
    silent = now - start
    colour = Colour.YELLOW if silent >= after else Colour.GREEN
    local = start.astimezone(zone)
    same_year = local.year == now.astimezone(zone).year
    when_nb = local.strftime("%d.%m %H:%M" if same_year else "%d.%m.%Y %H:%M")
    when_en = local.strftime("%Y-%m-%d %H:%M")
    nb_dur, en_dur = _duration(silent)
    if last_seen is None:
        text = (
            Text(
                nb=f"Ingen kontakt med hjemmeenheten siden oppstart {when_nb} ({nb_dur})",
                en=f"No contact with the home gateway since enrolment {when_en} ({en_dur})",
            )
            if colour is Colour.YELLOW
            else Text(
                nb=f"Ingen kontakt med hjemmeenheten ennå (oppstart {when_nb}, {nb_dur} siden)",
                en=f"Home gateway not in contact yet (enrolled {when_en}, {en_dur} ago)",
            )
        )
    elif colour is Colour.YELLOW:
        text = Text(
            nb=f"Ingen kontakt med hjemmeenheten siden {when_nb} ({nb_dur})",
            en=f"No contact with the home gateway since {when_en} ({en_dur})",
        )
    else:
        text = Text(
            nb=f"Kontakt med hjemmeenheten {when_nb} ({nb_dur} siden)",
            en=f"Home gateway in contact at {when_en} ({en_dur} ago)",
        )
    hours = after.total_seconds() / 3600
    return Finding(
        rule_id=RULE_ID,
        rule_type=RuleType.LOST_CONTACT,
        colour=colour,
        at=now,
        value=round(max(silent, timedelta(0)).total_seconds() / 3600, 2),
        bound=f"≥ {hours:g} h",
        text=text,
    )


def _duration(silent: timedelta) -> tuple[str, str]:
    """Whole hours ("50 t" / "50 h"), or whole minutes under an hour."""
    seconds = max(int(silent.total_seconds()), 0)
    if seconds < 3600:
        return f"{seconds // 60} min", f"{seconds // 60} min"
    return f"{seconds // 3600} t", f"{seconds // 3600} h"
