"""Lost contact with the home gateway: a technical finding, kept apart from clinical colours.

The gateway is **silent** from the last time it was seen (``last_seen``), or, when it was never
seen, from ``since`` (typically enrolment). Silent for ``after`` (24 hours by default;
[PROJECT]) or more → a yellow *technical* finding (rule ``lost_contact``); otherwise green, which
marks an open lost-contact alert as back in contact. Alerts opened from this finding are
TECHNICAL (:func:`triage.domain.alerts.open_alert`), so they never change the patient's clinical
colour; the worklist shows them in their own tier (:mod:`triage.domain.worklist`).

Times in the reason are local (``timezone``, Europe/Oslo by default), kept in the finding's
arguments and written when shown (:mod:`triage.texts`): bokmål as ``21.11 kl. 14:05`` (with the
year, ``21.11.2025 kl. 14:05``, when it is not the year of ``now``) and English as
``2026-11-21 14:05``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.domain.colours import Colour
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
    seconds = max(int(silent.total_seconds()), 0)
    args: dict[str, object] = {
        "since": {
            "key": "since",
            "args": {
                "local_time": local.isoformat(),
                "with_year": local.year != now.astimezone(zone).year,
            },
        },
        "duration": _duration(seconds),
    }
    if last_seen is None:
        key = "lost.never" if colour is Colour.YELLOW else "lost.not_yet"
    else:
        key = "lost.silent" if colour is Colour.YELLOW else "lost.contact"
    hours = after.total_seconds() / 3600
    return Finding(
        rule_id=RULE_ID,
        rule_type=RuleType.LOST_CONTACT,
        colour=colour,
        at=now,
        value=round(max(silent, timedelta(0)).total_seconds() / 3600, 2),
        bound=f"≥ {hours:g} h",
        message=key,
        args=args,
    )


def _duration(seconds: int) -> dict[str, object]:
    """Whole hours ("50 t" / "50 h"), or whole minutes under an hour, as a nested message."""
    if seconds < 3600:
        return {"key": "duration.minutes", "args": {"n": seconds // 60}}
    return {"key": "duration.hours", "args": {"n": seconds // 3600}}
