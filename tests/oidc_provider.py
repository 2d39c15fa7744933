"""The test OpenID Connect provider (tests/oidc_provider/provider.js, on npm's oidc-provider).

``oidc_provider`` (a pytest fixture) is a real OpenID Connect provider with HelseID's claim
names, started once per test module with ``node tests/oidc_provider/provider.js --port 0`` and
reset (log, planned misbehaviour, registered launches) before each test. It has one client,
``dho-dashboard``, that authenticates with ``private_key_jwt``: the private JWK is in
:attr:`OidcProvider.client_key_file` (and :attr:`OidcProvider.client_jwk`). PKCE (S256) is
required. Consent is automatic.

Users (``login`` in the provider's form; the ``sub`` is the same id):

=============  =========  ==============  =====================
login          HPR        security level  acr
=============  =========  ==============  =====================
``gp``         9144889    4               urn:helseid:level4
``nurse``      1234567    4               urn:helseid:level4
``unknown``    7777777    4               urn:helseid:level4
``gp-level3``  9144889    3               urn:helseid:level3
=============  =========  ==============  =====================

each with a synthetic fødselsnummer (``helseid://claims/identity/pid``), ``name``,
``helseid://claims/identity/security_level`` ("4"/"3") and
``helseid://claims/identity/assurance_level`` ("high"/"substantial"), all in the ID token.

The client's redirect URIs and ``backchannel_logout_uri`` come from the test module's
``OIDC_REDIRECT_URIS`` / ``OIDC_BACKCHANNEL_LOGOUT_URI`` (and ``OIDC_CLIENT_ALG``, RS256 or
ES256, for the client's key) or later from
:meth:`OidcProvider.set_client`; the ID token has a ``sid`` only once the client has a
``backchannel_logout_uri`` (``backchannel_logout_session_required``). :func:`login` drives the
provider's login form with httpx. :meth:`OidcProvider.register_launch` makes the provider issue
a SMART launch context: ``"patient"`` in the token response of an authorization request that
carried that ``launch``.

Node or the provider's packages (``make node-deps``) missing: the test is skipped on a
developer's machine and fails under CI (tests/services.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.services import service_unavailable

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
PROVIDER_JS = PROVIDER_DIR / "provider.js"
START_TIMEOUT_S = 30.0
CLIENT_ID = "dho-dashboard"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:9/callback"

CLAIM_HPR = "helseid://claims/hpr/hpr_number"
CLAIM_PID = "helseid://claims/identity/pid"
CLAIM_SECURITY_LEVEL = "helseid://claims/identity/security_level"
CLAIM_ASSURANCE_LEVEL = "helseid://claims/identity/assurance_level"
#: The scopes that bring the claims above (HelseID's names).
HELSEID_SCOPES = (
    "helseid://scopes/identity/pid",
    "helseid://scopes/identity/security_level",
    "helseid://scopes/identity/assurance_level",
    "helseid://scopes/hpr/hpr_number",
)
SCOPES = ("openid", "profile", *HELSEID_SCOPES)
ACR_LEVEL4 = "urn:helseid:level4"
ACR_LEVEL3 = "urn:helseid:level3"

Misbehaviour = Literal["rogue_key", "wrong_aud", "expired", "nonce"]


@dataclass
class OidcProvider:
    """A running test provider. ``issuer`` is ``http://127.0.0.1:<port>``."""

    issuer: str
    port: int
    client_id: str
    client_key_file: Path
    client_jwk: dict[str, Any]
    users: dict[str, dict[str, str]]
    process: subprocess.Popen[str]
    stderr_file: Path
    started: dict[str, Any] = field(repr=False)

    def control(self) -> httpx.Client:
        return httpx.Client(base_url=self.issuer, timeout=10)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        with self.control() as client:
            answer = client.post(f"/__control/{path}", json=body or {})
            assert answer.status_code in {200, 201}, answer.text
            return answer.json()

    def discovery(self) -> dict[str, Any]:
        with self.control() as client:
            answer = client.get("/.well-known/openid-configuration")
            answer.raise_for_status()
            document: dict[str, Any] = answer.json()
            return document

    def jwks(self) -> dict[str, Any]:
        with self.control() as client:
            answer = client.get(self.discovery()["jwks_uri"])
            answer.raise_for_status()
            keys: dict[str, Any] = answer.json()
            return keys

    def rotate_key(self) -> str:
        """A new signing key (first in the JWKS; the old ones stay). Returns its kid."""
        kid: str = self._post("rotate")["kid"]
        return kid

    def misbehave(self, mode: Misbehaviour, *, times: int = 1, **extra: Any) -> None:
        """The next ``times`` token responses carry a bad ID token (see provider.js)."""
        self._post("misbehave", {"mode": mode, "times": times, **extra})

    def logout(self, sub: str) -> list[dict[str, Any]]:
        """End ``sub``'s sessions: the provider POSTs a logout_token to the client's
        backchannel_logout_uri for each. Returns ``[{sid, outcome}]``."""
        with self.control() as client:
            answer = client.post("/__control/logout", params={"sub": sub})
            answer.raise_for_status()
            sessions: list[dict[str, Any]] = answer.json()["sessions"]
            return sessions

    def register_launch(self, launch: str, patient: str) -> None:
        """What an EPJ's SMART launch ``launch`` stands for: an authorization request with
        ``launch=<launch>`` gets ``"patient": <patient>`` in its token response (an
        unregistered launch gets no patient)."""
        self._post("launch", {"launch": launch, "patient": patient})

    def sent(self) -> list[dict[str, Any]]:
        """What the provider sent: ``{"kind": "token_response" | "logout_token" | …, …}``."""
        with self.control() as client:
            answer = client.get("/__control/sent")
            answer.raise_for_status()
            log: list[dict[str, Any]] = answer.json()
            return log

    def add_user(self, login: str, claims: dict[str, str]) -> None:
        """Add (or replace) a user: ``claims`` as in :attr:`users` (``name``, HelseID claims)."""
        self._post("users", {"id": login, "claims": claims})

    def set_client(
        self,
        *,
        redirect_uris: Sequence[str] | None = None,
        backchannel_logout_uri: str | None = None,
    ) -> None:
        body: dict[str, Any] = {}
        if redirect_uris is not None:
            body["redirect_uris"] = list(redirect_uris)
        if backchannel_logout_uri is not None:
            body["backchannel_logout_uri"] = backchannel_logout_uri
        self._post("client", body)

    def reset(self) -> None:
        self._post("reset")

    def login(self, http: httpx.Client, start_url: str, user: str) -> str:
        """:func:`login` at this provider: the client's redirect location after the form."""
        return login(http, start_url, user, issuer=self.issuer)


def _node() -> str:
    node = shutil.which("node")
    ci = os.environ.get("CI")
    if node is None:
        service_unavailable(
            "node (Node.js 20) is not installed: the test OIDC provider needs it", ci
        )
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        service_unavailable(
            f"the test OIDC provider's packages are not installed in {PROVIDER_DIR}: run "
            "`make node-deps`",
            ci,
        )
    assert node is not None
    return node


def start_oidc_provider(
    *,
    redirect_uris: Sequence[str] = (DEFAULT_REDIRECT_URI,),
    backchannel_logout_uri: str | None = None,
    client_alg: Literal["RS256", "ES256"] = "RS256",
) -> OidcProvider:
    """Start a provider on a free port and wait until it listens. ``client_alg``: the client's
    key pair (its private JWK carries ``alg``, ``kid``)."""
    command = [_node(), str(PROVIDER_JS), "--port", "0", "--host", "127.0.0.1"]
    command += ["--client-alg", client_alg]
    for uri in redirect_uris:
        command += ["--redirect-uri", uri]
    if backchannel_logout_uri is not None:
        command += ["--backchannel-logout-uri", backchannel_logout_uri]
    handle, stderr_name = tempfile.mkstemp(prefix="dho-oidc-provider-", suffix=".log")
    with os.fdopen(handle, "w") as stderr:
        process = subprocess.Popen(  # noqa: S603 - our own script with fixed arguments
            command, cwd=PROVIDER_DIR, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    first: list[str] = []
    reader = threading.Thread(target=_first_line, args=(process.stdout, first), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    stderr_file = Path(stderr_name)
    if not first or not first[0].strip():
        process.kill()
        process.communicate(timeout=10)
        raise RuntimeError(
            f"the test OIDC provider did not start: {stderr_file.read_text()[-2000:]}"
        )
    started: dict[str, Any] = json.loads(first[0])
    return OidcProvider(
        issuer=started["issuer"],
        port=started["port"],
        client_id=started["client_id"],
        client_key_file=Path(started["client_key_file"]),
        client_jwk=started["client_jwk"],
        users=started["users"],
        process=process,
        stderr_file=stderr_file,
        started=started,
    )


def _first_line(stream: IO[str] | None, into: list[str]) -> None:
    if stream is not None:
        into.append(stream.readline())


def stop_oidc_provider(provider: OidcProvider) -> None:
    provider.process.terminate()
    try:
        provider.process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        provider.process.kill()
        provider.process.communicate(timeout=10)
    shutil.rmtree(provider.client_key_file.parent, ignore_errors=True)
    provider.stderr_file.unlink(missing_ok=True)


def login(
    http: httpx.Client,
    start_url: str,
    user: str,
    *,
    issuer: str | None = None,
    max_hops: int = 10,
) -> str:
    """Follow ``start_url`` through the provider's login form as ``user`` and return the first
    location outside the provider that the provider sends the browser to (the client's
    redirect URI with ``code``, ``state`` and ``iss``, or with ``error``).

    ``start_url`` is the provider's authorization URL, or a URL that redirects there (DHO's
    ``/start``) when ``issuer`` names the provider. ``http`` keeps the provider's cookies: a
    second sign-in with the same client finds the provider's session and skips the form."""
    issuer = issuer or "{0.scheme}://{0.netloc}".format(urlsplit(start_url))
    url = start_url
    at_provider = False
    for _ in range(max_hops):
        here = url.startswith(issuer + "/")
        if at_provider and not here:
            return url
        at_provider = at_provider or here
        answer = http.get(url, follow_redirects=False)
        if answer.is_redirect:
            url = urljoin(url, answer.headers["location"])
            continue
        if here and answer.status_code == 200 and 'name="login"' in answer.text:
            path = urlsplit(url).path.rstrip("/")
            posted = http.post(
                f"{issuer}{path}/login", data={"login": user}, follow_redirects=False
            )
            if not posted.is_redirect:
                raise AssertionError(
                    f"login as {user!r} refused: {posted.status_code} {posted.text}"
                )
            url = urljoin(url, posted.headers["location"])
            continue
        raise AssertionError(f"unexpected answer from {url}: {answer.status_code} {answer.text}")
    raise AssertionError(f"more than {max_hops} redirects from {start_url}")


@pytest.fixture(scope="module")
def oidc_provider_module(request: pytest.FixtureRequest) -> Iterator[OidcProvider]:
    provider = start_oidc_provider(
        redirect_uris=getattr(request.module, "OIDC_REDIRECT_URIS", (DEFAULT_REDIRECT_URI,)),
        backchannel_logout_uri=getattr(request.module, "OIDC_BACKCHANNEL_LOGOUT_URI", None),
        client_alg=getattr(request.module, "OIDC_CLIENT_ALG", "RS256"),
    )
    yield provider
    stop_oidc_provider(provider)


@pytest.fixture
def oidc_provider(oidc_provider_module: OidcProvider) -> OidcProvider:
    """The module's test provider, its log and planned misbehaviour emptied for this test."""
    oidc_provider_module.reset()
    return oidc_provider_module
