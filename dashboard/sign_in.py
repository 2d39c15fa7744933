"""Sign-in with an OpenID Connect provider (HelseID), the dashboard's side: pure functions the
login page and the entry script use (issue 20).

The API does the whole OpenID Connect exchange; the dashboard only

- links to each provider's ``start_url`` (with where to go afterwards, ``next``),
- swaps the one-time ``?dho_handoff=<code>`` the API sends the browser back with for DHO's
  tokens (``POST /auth/oidc/exchange``), and
- explains a refusal ``?dho_login_error=<code>`` in the person's language, saying what they can
  do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from dashboard.i18n import Language, t

#: the query parameters the API's callback sends the browser back to the dashboard with
HANDOFF_PARAM = "dho_handoff"
ERROR_PARAM = "dho_login_error"

#: every refusal code the API's callback may send (``?dho_login_error=``), each with its own
#: message in the catalogue (``login_error_<code>``)
LOGIN_ERROR_CODES: tuple[str, ...] = (
    "unknown_person",
    "level_too_low",
    "invalid_token",
    "expired_attempt",
    "not_own_patient",
    "provider_error",
    "password_only_role",
    "session_ended",
)

DestinationKind = Literal["gp_patient", "patient", "alert"]


@dataclass(frozen=True)
class Destination:
    """Where to go after the sign-in: a patient's page — a GP's (``gp_patient:<id>``) or a
    nurse's (``patient:<id>``), from the EPJ's launch — or an alert's patient (``alert:<id>``,
    from an escalation message's link)."""

    kind: DestinationKind
    id: str

    @property
    def next_value(self) -> str:
        """As the API's ``next`` parameter carries it."""
        return f"{self.kind}:{self.id}"


def destination(next_value: str | None) -> Destination | None:
    """The API's ``next`` (``gp_patient:<id>``, ``patient:<id>``, ``alert:<id>``) as a
    :class:`Destination`; None for
    nothing, or for a location the dashboard does not know (the person lands on their start
    page)."""
    if not next_value:
        return None
    kind, sep, ident = next_value.strip().partition(":")
    ident = ident.strip()
    if not sep or not ident or len(ident) > 200:
        return None
    if kind == "gp_patient":
        return Destination("gp_patient", ident)
    if kind == "patient":
        return Destination("patient", ident)
    if kind == "alert":
        return Destination("alert", ident)
    return None


def login_error_message(code: str, language: Language) -> str:
    """What a refused sign-in means for the person and what they can do, for each code the API
    sends (an unknown code: a general message that names it, for the administrator)."""
    if code in LOGIN_ERROR_CODES:
        return t(f"login_error_{code}", language)
    return t("login_error_other", language, code=code[:60])


def provider_button_label(label: str, language: Language) -> str:
    """ "Logg inn med HelseID" / "Sign in with HelseID"."""
    return t("login_with", language, provider=label)


def start_link(start_url: str, api_url: str, next_value: str | None = None) -> str:
    """The browser's link to a provider's sign-in: the API's ``start_url`` (made absolute
    against the API's public address when the API gives a path) with ``next`` added."""
    absolute = urljoin(api_url.rstrip("/") + "/", start_url)
    if not next_value:
        return absolute
    parts = urlsplit(absolute)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "next"]
    query.append(("next", next_value))
    return urlunsplit(parts._replace(query=urlencode(query)))
