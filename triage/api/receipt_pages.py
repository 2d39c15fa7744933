"""The small HTML pages of the receipt link ("Bekreft mottatt") in escalation messages: bokmål
first, then English. Pure functions of what they show; they never hold the patient's name, a
measured value, or an internal id in their text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ReceiptView:
    """What a receipt page may say about a message: where it came from, to whom, when."""

    centre_name: str
    recipient: str
    sent_at: datetime  # when the message was written
    zone: ZoneInfo
    received_at: datetime | None
    dashboard_link: str | None


def local_time(at: datetime, zone: ZoneInfo) -> str:
    """``07.12.2026 kl. 15:05`` in the centre's zone."""
    return at.astimezone(zone).strftime("%d.%m.%Y kl. %H:%M")


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="nb">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n"
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.5}button{font-size:1.2rem;padding:.6rem 1.2rem}"
        ".en{color:#555}</style>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _open_link(view: ReceiptView) -> str:
    if view.dashboard_link is None:
        return ""
    href = escape(view.dashboard_link, quote=True)
    return f'<p><a href="{href}">Åpne DHO</a> <span class="en">/ Open DHO</span></p>'


def confirm_page(view: ReceiptView) -> str:
    """The page a GET shows: what the message was, and a button that confirms receipt."""
    centre, recipient = escape(view.centre_name), escape(view.recipient)
    when = local_time(view.sent_at, view.zone)
    return _page(
        "DHO: bekreft mottatt / confirm receipt",
        f"<h1>Rødt varsel fra {centre}</h1>\n"
        f"<p>Varselet ble sendt til {recipient} {when}. Trykk på knappen for å bekrefte at "
        "du har mottatt det: da sendes det ikke videre til neste mottaker. Varselet må "
        "fortsatt kvitteres og håndteres i DHO.</p>\n"
        f'<p class="en">A red alert from {centre} was sent to {recipient} on {when}. Press '
        "the button to confirm that you received it: it is then not passed on to the next "
        "receiver. The alert must still be acknowledged and handled in DHO.</p>\n"
        '<form method="post"><button type="submit">Bekreft mottatt / Confirm receipt'
        "</button></form>\n" + _open_link(view),
    )


def received_page(view: ReceiptView, *, just_now: bool) -> str:
    """The answer to a confirmation (``just_now``), or a GET after one: when it was received."""
    assert view.received_at is not None  # noqa: S101 - only for a received message
    when = local_time(view.received_at, view.zone)
    centre = escape(view.centre_name)
    if just_now:
        heading = f"Takk – mottatt {when}"
        nb = f"Du har bekreftet at du mottok det røde varselet fra {centre}."
        en = f"Thank you – you confirmed receiving the red alert from {centre} on {when}."
    else:
        heading = f"Allerede bekreftet mottatt {when}"
        nb = f"Det røde varselet fra {centre} ble bekreftet mottatt {when}."
        en = f"The red alert from {centre} was already confirmed received on {when}."
    return _page(
        "DHO: mottatt / received",
        f"<h1>{heading}</h1>\n<p>{nb} Det sendes ikke videre. Varselet må fortsatt kvitteres "
        f'og håndteres i DHO.</p>\n<p class="en">{en} It is not passed on. The alert must '
        "still be acknowledged and handled in DHO.</p>\n" + _open_link(view),
    )


def unknown_page() -> str:
    return _page(
        "DHO: ukjent lenke / unknown link",
        "<h1>Ukjent lenke</h1>\n<p>Denne lenken hører ikke til noe varsel. Kontroller at hele "
        "lenken fra meldingen er med, eller åpne DHO.</p>\n"
        '<p class="en">Unknown link: this link belongs to no alert. Check that the whole link '
        "from the message was used, or open DHO.</p>",
    )


def expired_page(view: ReceiptView) -> str:
    when = local_time(view.sent_at, view.zone)
    centre = escape(view.centre_name)
    return _page(
        "DHO: lenken er utløpt / link expired",
        f"<h1>Lenken er utløpt</h1>\n<p>Varselet fra {centre} ble sendt {when}; lenken virker "
        "bare i 48 timer. Åpne DHO for å se varselet.</p>\n"
        f'<p class="en">Link expired: the alert from {centre} was sent on {when}; the link '
        "works for 48 hours only. Open DHO to see the alert.</p>\n" + _open_link(view),
    )


def too_many_page(wait_s: int) -> str:
    return _page(
        "DHO: for mange forsøk / too many attempts",
        f"<h1>For mange forsøk</h1>\n<p>Prøv igjen om {wait_s} sekunder.</p>\n"
        f'<p class="en">Too many attempts from this address: try again in {wait_s} seconds.'
        "</p>",
    )
