"""The reader's language for one request, from its ``Accept-Language`` header.

Bokmål (``nb``) is the default; English (``en``) when the header prefers it (``en``,
``en-GB``, …) over Norwegian. :class:`RequestLanguage` (pure ASGI middleware) puts the choice in
a context variable for the request, so every finding in the response is put into words in that
language (:class:`triage.api.schemas_patients.FindingRead`), and answers with
``Content-Language`` and ``Vary: Accept-Language``.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.texts.catalogue import Language

_LANGUAGE: ContextVar[Language] = ContextVar("dho_request_language", default="nb")
_NORWEGIAN = frozenset({"nb", "no", "nn"})


def request_language() -> Language:
    """The language of the request being answered (bokmål outside a request)."""
    return _LANGUAGE.get()


def preferred_language(header: str | None) -> Language:
    """The first of bokmål and English that ``header`` accepts, by its q-values; bokmål when it
    names neither ("nb-NO,nb;q=0.9,en;q=0.8" → nb; "en-GB,en;q=0.9" → en; "*" → nb)."""
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary in _NORWEGIAN:
            language: Language = "nb"
        elif primary == "en":
            language = "en"
        else:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidate = (-quality, position, language)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best is not None else "nb"


class RequestLanguage:
    """Pure ASGI middleware: the request's language for the findings in its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        language = preferred_language(Headers(scope=scope).get("accept-language"))
        token = _LANGUAGE.set(language)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-language", language)
                headers.add_vary_header("Accept-Language")
            await send(message)

        try:
            await self.app(scope, receive, send_with_language)
        finally:
            _LANGUAGE.reset(token)
