"""One delivery attempt through Apprise: ``deliver(url, title, body)`` → :class:`Delivery`.

Apprise is the channel library (SMTP ``mailto://``/``mailtos://``, SMS providers, Teams/Slack,
ntfy, JSON webhooks: one URL per receiver). Its ``notify`` answers only True/False; the
provider's own answer (SMTP reply, HTTP status, connection error) is in Apprise's log, so each
attempt captures that log and keeps it (cut) as the attempt's answer for the centre to read.

Apprise's own retries are left at its defaults (none for most plugins): the outbox decides
when to try again (triage.jobs.notify). URLs may carry credentials: :func:`masked_url` is the
only form that may be shown or logged.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

import apprise

#: The longest provider answer kept per attempt (characters).
ANSWER_LIMIT = 2000

#: Apprise's DEBUG lines that carry the provider's own answer (an SMTP reply code, an HTTP
#: status or response); the rest of its DEBUG output (hosts, addresses, timings) is left out.
_PROVIDER_WORDS = re.compile(r"exception|response|status|error|refused|reply", re.IGNORECASE)


class UnusableUrlError(ValueError):
    """Apprise does not understand the URL (unknown scheme, missing parts)."""


@dataclass(frozen=True)
class Delivery:
    """The outcome of one attempt: accepted or not, what the provider said, how long it took."""

    ok: bool
    answer: str
    duration_ms: int


def check_url(url: str) -> str:
    """The URL's Apprise scheme (``mailto``, ``json``, …); :class:`UnusableUrlError` if unusable."""
    instance = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not instance:
        raise UnusableUrlError(
            "Apprise does not understand this URL (see https://github.com/caronc/apprise/wiki "
            "for each channel's form, e.g. mailtos://user:password@smtp.example.no?to=…)"
        )
    return scheme_of(url)


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()[:32] or "unknown"


#: A host worth showing: a dotted name or IPv4 address, an IPv6 address, or localhost.
_REAL_HOST = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+|[0-9a-f:.]*:[0-9a-f:.]*|localhost")


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError:  # an unbalanced "[" of an IPv6 address
        return urlsplit("")


def _shown_host(parts: SplitResult) -> str:
    """The host if it is one; ``…`` for what sits in its place in many Apprise URLs: a token
    (``tgram://<bot token>/…``, ``slack://<token>/…``, ``discord://<webhook id>/…``) or an
    ntfy topic, which are as secret as a password."""
    host = parts.hostname or ""
    return host if _REAL_HOST.fullmatch(host) else "…"


def _shown_port(parts: SplitResult) -> str:
    try:
        port = parts.port
    except ValueError:  # not a port: "tgram://123:<token>/…" puts the token there
        return ""
    return f":{port}" if port else ""


def masked_url(url: str) -> str:
    """The URL without credentials, path or query: ``mailtos://smtp.example.no`` (safe to show);
    a token in the host's place shows as ``…`` (``tgram://…``). Never raises."""
    parts = _split(url)
    host = _shown_host(parts)
    port = _shown_port(parts)
    return f"{parts.scheme}://{host}{port}" if parts.scheme else "(unreadable URL)"


def digest_url(base_url: str, address: str) -> str:
    """``base_url`` (the operator's ``DHO_NOTIFY_EMAIL_URL``) sending to ``address`` only.

    Any ``to=`` already in the base URL is replaced; the address is percent-encoded, so an
    address cannot add parameters of its own. The rest of the URL is kept as written.
    """
    parts = urlsplit(base_url)
    kept = [
        item for item in parts.query.split("&") if item and item.split("=", 1)[0].lower() != "to"
    ]
    kept.append("to=" + quote(address.strip(), safe="@"))
    return urlunsplit(parts._replace(query="&".join(kept)))


def deliver(url: str, title: str, body: str, *, timeout_s: float = 20.0) -> Delivery:
    """Send ``title``/``body`` to ``url`` once; never raises for a delivery failure."""
    started = time.monotonic()
    sender = apprise.Apprise()
    try:
        added = sender.add(url)
    except Exception as error:  # a URL Apprise chokes on is a failed attempt, not a crash
        return _done(False, f"unusable URL: {type(error).__name__}", started)
    if not added:
        return _done(False, "Apprise does not understand this URL", started)
    for plugin in sender:
        # socket/HTTP timeouts of the plugin (connect, read), where it has them
        if hasattr(plugin, "socket_connect_timeout"):
            plugin.socket_connect_timeout = timeout_s
        if hasattr(plugin, "socket_read_timeout"):
            plugin.socket_read_timeout = timeout_s
    with apprise.LogCapture(level=logging.DEBUG) as log:  # type: ignore[no-untyped-call]
        try:
            ok = bool(sender.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))
        except Exception as error:
            ok = False
            log.write(f"{type(error).__name__}: {error}\n")
        answer = log.getvalue()
    return _done(ok, answer, started)


def _done(ok: bool, answer: str, started: float) -> Delivery:
    lines = [
        _without_timestamp(line)
        for line in answer.splitlines()
        if line.strip() and (" - DEBUG - " not in line or _PROVIDER_WORDS.search(line))
    ]
    text = "\n".join(lines)
    if len(text) > ANSWER_LIMIT:
        text = text[: ANSWER_LIMIT - 1] + "…"
    return Delivery(ok=ok, answer=text, duration_ms=int((time.monotonic() - started) * 1000))


def _without_timestamp(line: str) -> str:
    # "2026-12-07 05:54:34,244 - INFO - Sent Email to x" → "INFO - Sent Email to x"
    head, sep, rest = line.partition(" - ")
    return rest if sep and head[:4].isdigit() else line
