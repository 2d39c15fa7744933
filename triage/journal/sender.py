"""One delivery of a journal Bundle: an HTTP POST of the transaction to the FHIR base URL, and
the judgement of the answer.

Success is only a ``2xx`` answer whose body is a ``transaction-response`` Bundle with one entry
per entry sent, each ``response.status`` a 2xx ("201 Created", or "200 OK" when
``ifNoneExist`` matched a resource from an earlier delivery). Anything else is a failed attempt
with what the server said, cut: its OperationOutcome's diagnostics, or the start of the body, or
the network error. Nothing here touches the database; the job (:mod:`triage.jobs.journal`)
records the result.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

FHIR_JSON = "application/fhir+json"
#: The longest answer kept in an attempt row and in ``last_error``.
MAX_ANSWER = 2000


@dataclass(frozen=True)
class Delivery:
    """What one POST gave: ok, the HTTP status (None: no answer), the answer in words (cut),
    how long it took, and on success the answer in short (each entry's status and location)."""

    ok: bool
    http_status: int | None
    answer: str
    duration_ms: int
    summary: dict[str, Any] | None = field(default=None)


class TokenUnreadableError(RuntimeError):
    """The configured bearer token file cannot be read or is empty."""


def read_token(path: Path | None) -> str | None:
    """The bearer token in ``path`` (surrounding whitespace dropped), or None without a path."""
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise TokenUnreadableError(f"the journal token file cannot be read: {error}") from error
    if not token:
        raise TokenUnreadableError(f"the journal token file {path} is empty")
    return token


def deliver(
    url: str,
    bundle: dict[str, Any],
    *,
    token: str | None,
    timeout_s: float,
    client: httpx.Client | None = None,
) -> Delivery:
    """POST ``bundle`` to ``url`` and judge the answer (never raises for the server's doing)."""
    headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    started = time.monotonic()
    try:
        if client is None:
            with httpx.Client(timeout=timeout_s, follow_redirects=False) as own:
                response = own.post(url, content=body, headers=headers)
        else:
            response = client.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as error:
        return Delivery(
            ok=False,
            http_status=None,
            answer=cut(f"no answer: {type(error).__name__}: {error}"),
            duration_ms=_ms_since(started),
        )
    duration_ms = _ms_since(started)
    sent = len(bundle.get("entry", []))
    ok, answer, summary = judge(response.status_code, response.content, sent)
    return Delivery(ok, response.status_code, answer, duration_ms, summary)


def judge(status: int, content: bytes, sent: int) -> tuple[bool, str, dict[str, Any] | None]:
    """(ok, the answer in words, the summary on success) of an HTTP answer to a transaction of
    ``sent`` entries."""
    try:
        parsed: Any = json.loads(content) if content else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        text = content[:300].decode("utf-8", errors="replace")
        return False, cut(f"HTTP {status}, not FHIR JSON: {text}"), None
    if parsed.get("resourceType") == "OperationOutcome":
        return False, cut(f"HTTP {status}: {outcome_text(parsed)}"), None
    if not 200 <= status < 300:
        return False, cut(f"HTTP {status}: {json.dumps(parsed)[:300]}"), None
    if parsed.get("resourceType") != "Bundle" or parsed.get("type") != "transaction-response":
        what = f"{parsed.get('resourceType')} {parsed.get('type') or ''}".strip()
        return False, cut(f"HTTP {status}, not a transaction-response Bundle: {what}"), None
    entries = parsed.get("entry") or []
    results = [_entry_result(e) for e in entries]
    if len(results) != sent:
        return (
            False,
            cut(f"HTTP {status}: the answer has {len(results)} entries for {sent} sent"),
            None,
        )
    failed = [
        f"entry {i}: {r['status']}" for i, r in enumerate(results) if not _is_2xx(r["status"])
    ]
    if failed:
        return False, cut(f"HTTP {status}, entries failed: " + "; ".join(failed)), None
    summary = {"http_status": status, "entries": results}
    statuses = ", ".join(sorted({r["status"] for r in results})) or "no entries"
    return True, cut(f"HTTP {status}: {len(results)} entries ({statuses})"), summary


def outcome_text(outcome: dict[str, Any]) -> str:
    """An OperationOutcome's issues in one line: ``severity code: diagnostics | …``."""
    parts = []
    for issue in outcome.get("issue") or []:
        if not isinstance(issue, dict):
            continue
        words = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        parts.append(f"{issue.get('severity', '?')} {issue.get('code', '?')}: {words}".strip())
    return " | ".join(parts) or "OperationOutcome without issues"


def cut(text: str, limit: int = MAX_ANSWER) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry_result(entry: Any) -> dict[str, Any]:
    response = entry.get("response") if isinstance(entry, dict) else None
    if not isinstance(response, dict):
        return {"status": "(no response)", "location": None}
    return {"status": str(response.get("status", "")), "location": response.get("location")}


def _is_2xx(status: str) -> bool:
    code = status.strip().split(" ", 1)[0]
    return code.isdigit() and 200 <= int(code) < 300


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
