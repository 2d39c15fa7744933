"""A red alert's notification that never arrived: a red *technical* finding for the patient.

When the sender (:mod:`triage.jobs.notify`) gives up on an escalation message after
``notify_max_attempts`` failed attempts, the receiver (the after-hours service, a nurse's phone)
has not been told about the red alert. The finding (rule ``notification_undelivered``) opens a
technical alert on the worklist that tells the centre to phone the receiver; technical alerts
never change the patient's clinical colour (:data:`triage.domain.findings.TECHNICAL_RULE_TYPES`).
The text names the receiver's label and the number of attempts, never the patient's data.

A closed alert's journal Bundle that the journal sender (:mod:`triage.jobs.journal`) gives up
on after ``fhir_journal_max_attempts`` is the same kind of failure towards the patient's record:
:func:`journal_undelivered_finding` (rule ``journal_undelivered``) opens a yellow technical alert
that tells the centre that the closing was not written to the record.
"""

from __future__ import annotations

from datetime import datetime

from triage.domain.colours import Colour
from triage.domain.findings import Finding, RuleType

RULE_ID = "notification_undelivered"
JOURNAL_RULE_ID = "journal_undelivered"


def undelivered_finding(recipient: str, attempts: int, at: datetime) -> Finding:
    """Red: the message about a red alert did not reach ``recipient`` after ``attempts`` tries."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be timezone-aware: {at.isoformat()}")
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    return Finding(
        rule_id=RULE_ID,
        rule_type=RuleType.NOTIFICATION,
        colour=Colour.RED,
        at=at,
        value=float(attempts),
        bound=f"{attempts} attempts",
        message="notification.undelivered",
        args={"recipient": recipient, "attempts": attempts},
    )


def journal_undelivered_finding(attempts: int, at: datetime) -> Finding:
    """Yellow: a closed alert's journal Bundle was not accepted after ``attempts`` tries."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"at must be timezone-aware: {at.isoformat()}")
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    return Finding(
        rule_id=JOURNAL_RULE_ID,
        rule_type=RuleType.JOURNAL,
        colour=Colour.YELLOW,
        at=at,
        value=float(attempts),
        bound=f"{attempts} attempts",
        message="journal.undelivered",
        args={"attempts": attempts},
    )
