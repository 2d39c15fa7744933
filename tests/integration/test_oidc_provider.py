"""The test OpenID Connect provider itself (tests/oidc_provider/provider.js), over real HTTP with
httpx: a full authorization-code + PKCE sign-in through its login form, a private_key_jwt token
exchange, ID tokens that verify against its JWKS with HelseID's claims — and, on request, ID
tokens that are genuinely bad, a rotated key, and a real back-channel logout_token. DHO's
sign-in tests rely on all of it, so it must refuse what a provider refuses."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.oidc_provider import (
    ACR_LEVEL3,
    ACR_LEVEL4,
    CLAIM_ASSURANCE_LEVEL,
    CLAIM_HPR,
    CLAIM_PID,
    CLAIM_SECURITY_LEVEL,
    DEFAULT_REDIRECT_URI,
    SCOPES,
    OidcProvider,
    login,
    start_oidc_provider,
    stop_oidc_provider,
)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass
class SignIn:
    """One authorization request's secrets and, after the exchange, the token response."""

    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _authorize_url(provider: OidcProvider, sign_in: SignIn, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": DEFAULT_REDIRECT_URI,
        "scope": " ".join(SCOPES),
        "state": sign_in.state,
        "nonce": sign_in.nonce,
        "code_challenge": sign_in.challenge,
        "code_challenge_method": "S256",
        "acr_values": ACR_LEVEL4,
        **extra,
    }
    return f"{provider.discovery()['authorization_endpoint']}?{urlencode(params)}"


def _client_assertion(provider: OidcProvider, audience: str, key: Any = None) -> str:
    jwk = jwt.PyJWK(provider.client_jwk)
    now = int(time.time())
    claims = {
        "iss": provider.client_id,
        "sub": provider.client_id,
        "aud": audience,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 60,
    }
    algorithm = provider.client_jwk["alg"]
    return jwt.encode(
        claims,
        key if key is not None else jwk.key,
        algorithm=algorithm,
        headers={"kid": jwk.key_id},
    )


def _code(provider: OidcProvider, http: httpx.Client, sign_in: SignIn, user: str) -> str:
    location = provider.login(http, _authorize_url(provider, sign_in), user)
    assert location.startswith(DEFAULT_REDIRECT_URI), location
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [sign_in.state]
    assert query["iss"] == [provider.issuer]
    return query["code"][0]


def _exchange(
    provider: OidcProvider,
    sign_in: SignIn,
    code: str,
    *,
    verifier: str | None = None,
    assertion: str | None = None,
) -> httpx.Response:
    token_endpoint = provider.discovery()["token_endpoint"]
    with provider.control() as client:
        return client.post(
            token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": DEFAULT_REDIRECT_URI,
                "code_verifier": verifier or sign_in.verifier,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion or _client_assertion(provider, token_endpoint),
            },
        )


def _sign_in(provider: OidcProvider, user: str = "gp") -> tuple[SignIn, dict[str, Any]]:
    sign_in = SignIn()
    with httpx.Client(timeout=10) as http:
        answer = _exchange(provider, sign_in, _code(provider, http, sign_in, user))
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return sign_in, tokens


def _verify(provider: OidcProvider, token: str, nonce: str | None = None) -> dict[str, Any]:
    """Verify as a relying party would: the signature with the JWKS key its kid names, iss,
    aud, exp and iat, and the nonce."""
    keys = jwt.PyJWKSet.from_dict(provider.jwks())
    kid = jwt.get_unverified_header(token)["kid"]
    key = keys[kid]  # KeyError: a key the provider does not publish
    claims: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience=provider.client_id,
        issuer=provider.issuer,
        options={"require": ["exp", "iat", "sub"]},
    )
    if nonce is not None and claims.get("nonce") != nonce:
        raise jwt.InvalidTokenError(f"nonce {claims.get('nonce')!r} is not ours")
    return claims


def test_discovery_names_the_endpoints_and_back_channel_logout(oidc_provider: OidcProvider) -> None:
    document = oidc_provider.discovery()
    assert document["issuer"] == oidc_provider.issuer
    for endpoint in (
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ):
        assert document[endpoint].startswith(oidc_provider.issuer + "/")
    assert document["backchannel_logout_supported"] is True
    assert document["backchannel_logout_session_supported"] is True
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "private_key_jwt" in document["token_endpoint_auth_methods_supported"]
    assert {ACR_LEVEL4, ACR_LEVEL3} <= set(document["acr_values_supported"])
    assert {CLAIM_HPR, CLAIM_PID, CLAIM_SECURITY_LEVEL, "acr"} <= set(document["claims_supported"])
    assert set(SCOPES) <= set(document["scopes_supported"])


def test_a_full_sign_in_gives_an_id_token_with_helseid_claims(oidc_provider: OidcProvider) -> None:
    sign_in, tokens = _sign_in(oidc_provider, "gp")
    assert tokens["token_type"].lower() == "bearer"
    claims = _verify(oidc_provider, tokens["id_token"], sign_in.nonce)
    gp = oidc_provider.users["gp"]
    assert claims["sub"] == "gp"
    assert claims["acr"] == ACR_LEVEL4
    assert claims[CLAIM_HPR] == "9144889"
    assert claims[CLAIM_SECURITY_LEVEL] == "4"
    assert claims[CLAIM_ASSURANCE_LEVEL] == "high"
    assert claims[CLAIM_PID] == gp[CLAIM_PID]
    assert len(claims[CLAIM_PID]) == 11
    assert claims["name"] == "Gro Fastlege"
    sent = [entry for entry in oidc_provider.sent() if entry["kind"] == "token_response"]
    assert [entry["claims"]["sub"] for entry in sent] == ["gp"]


def _launch_sign_in(provider: OidcProvider, launch: str) -> dict[str, Any]:
    sign_in = SignIn()
    url = _authorize_url(provider, sign_in, launch=launch, scope=" ".join((*SCOPES, "launch")))
    with httpx.Client(timeout=10) as http:
        location = provider.login(http, url, "gp")
        assert location.startswith(DEFAULT_REDIRECT_URI), location
        code = parse_qs(urlsplit(location).query)["code"][0]
        answer = _exchange(provider, sign_in, code)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def test_a_registered_smart_launch_puts_its_patient_in_the_token_response(
    oidc_provider: OidcProvider,
) -> None:
    patient = "urn:oid:2.16.578.1.12.4.1.4.1|01817012345"
    oidc_provider.register_launch("epj-42", patient)
    assert _launch_sign_in(oidc_provider, "epj-42")["patient"] == patient
    # another launch, or none, carries no patient
    assert "patient" not in _launch_sign_in(oidc_provider, "epj-43")
    assert "patient" not in _sign_in(oidc_provider)[1]
    launches = [e.get("launch") for e in oidc_provider.sent() if e["kind"] == "token_response"]
    assert launches == ["epj-42", "epj-43", None]


@pytest.mark.parametrize(
    ("user", "hpr", "level", "acr"),
    [
        ("nurse", "1234567", "4", ACR_LEVEL4),
        ("unknown", "7777777", "4", ACR_LEVEL4),
        ("gp-level3", "9144889", "3", ACR_LEVEL3),
    ],
)
def test_each_user_has_their_claims(
    oidc_provider: OidcProvider, user: str, hpr: str, level: str, acr: str
) -> None:
    sign_in, tokens = _sign_in(oidc_provider, user)
    claims = _verify(oidc_provider, tokens["id_token"], sign_in.nonce)
    assert (claims["sub"], claims[CLAIM_HPR], claims[CLAIM_SECURITY_LEVEL], claims["acr"]) == (
        user,
        hpr,
        level,
        acr,
    )


def test_a_second_sign_in_in_the_same_browser_skips_the_form(oidc_provider: OidcProvider) -> None:
    with httpx.Client(timeout=10) as http:
        first, second = SignIn(), SignIn()
        _code(oidc_provider, http, first, "nurse")
        answer = http.get(_authorize_url(oidc_provider, second), follow_redirects=False)
        assert answer.is_redirect
        assert answer.headers["location"].startswith(DEFAULT_REDIRECT_URI)
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    tokens = _exchange(oidc_provider, second, code).json()
    first_claims = _verify(oidc_provider, tokens["id_token"], second.nonce)
    assert first_claims["sub"] == "nurse"


def test_an_es256_client_key_signs_in_too() -> None:
    provider = start_oidc_provider(client_alg="ES256")
    try:
        assert provider.client_jwk["kty"] == "EC"
        assert json.loads(provider.client_key_file.read_text()) == provider.client_jwk
        sign_in, tokens = _sign_in(provider, "gp")
        assert _verify(provider, tokens["id_token"], sign_in.nonce)[CLAIM_HPR] == "9144889"
    finally:
        stop_oidc_provider(provider)
    assert not provider.client_key_file.exists()


def test_an_unknown_login_stays_on_the_form(oidc_provider: OidcProvider) -> None:
    with httpx.Client(timeout=10) as http, pytest.raises(AssertionError, match="refused"):
        login(http, _authorize_url(oidc_provider, SignIn()), "nobody")


def test_pkce_is_required(oidc_provider: OidcProvider) -> None:
    sign_in = SignIn()
    url = _authorize_url(oidc_provider, sign_in)
    without = url.replace(f"code_challenge={sign_in.challenge}", "")
    with httpx.Client(timeout=10) as http:
        answer = http.get(without, follow_redirects=False)
    assert answer.is_redirect
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert "code_challenge" in query["error_description"][0]


def test_a_wrong_code_verifier_is_refused(oidc_provider: OidcProvider) -> None:
    sign_in = SignIn()
    with httpx.Client(timeout=10) as http:
        code = _code(oidc_provider, http, sign_in, "gp")
    answer = _exchange(oidc_provider, sign_in, code, verifier=secrets.token_urlsafe(48))
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_a_client_assertion_signed_with_another_key_is_refused(oidc_provider: OidcProvider) -> None:
    sign_in = SignIn()
    with httpx.Client(timeout=10) as http:
        code = _code(oidc_provider, http, sign_in, "gp")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token_endpoint = oidc_provider.discovery()["token_endpoint"]
    assertion = _client_assertion(oidc_provider, token_endpoint, key=stranger)
    answer = _exchange(oidc_provider, sign_in, code, assertion=assertion)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("mode", "extra", "error"),
    [
        ("rogue_key", {}, KeyError),
        ("rogue_key", {"same_kid": True}, jwt.InvalidSignatureError),
        ("wrong_aud", {}, jwt.InvalidAudienceError),
        ("expired", {}, jwt.ExpiredSignatureError),
        ("nonce", {}, jwt.InvalidTokenError),
    ],
)
def test_a_misbehaving_token_response_carries_a_bad_id_token(
    oidc_provider: OidcProvider, mode: Any, extra: dict[str, Any], error: type[Exception]
) -> None:
    oidc_provider.misbehave(mode, **extra)
    sign_in, tokens = _sign_in(oidc_provider, "gp")
    with pytest.raises(error) as raised:
        _verify(oidc_provider, tokens["id_token"], sign_in.nonce)
    if mode == "nonce":
        assert "nonce" in str(raised.value)
    # only the one response: the next sign-in is good again
    sign_in, tokens = _sign_in(oidc_provider, "gp")
    assert _verify(oidc_provider, tokens["id_token"], sign_in.nonce)["sub"] == "gp"
    assert [entry["mode"] for entry in oidc_provider.sent()] == [mode, None]


def test_key_rotation_publishes_the_new_key_first_and_keeps_the_old(
    oidc_provider: OidcProvider,
) -> None:
    sign_in, tokens = _sign_in(oidc_provider, "gp")
    old_kid = jwt.get_unverified_header(tokens["id_token"])["kid"]
    kids_before = [key["kid"] for key in oidc_provider.jwks()["keys"]]
    new_kid = oidc_provider.rotate_key()
    kids = [key["kid"] for key in oidc_provider.jwks()["keys"]]
    assert kids == [new_kid, *kids_before]
    assert old_kid in kids
    assert all("d" not in key for key in oidc_provider.jwks()["keys"])
    # the token signed before still verifies; a new one is signed with the new key
    assert _verify(oidc_provider, tokens["id_token"], sign_in.nonce)["sub"] == "gp"
    sign_in, tokens = _sign_in(oidc_provider, "nurse")
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] == new_kid
    assert _verify(oidc_provider, tokens["id_token"], sign_in.nonce)["sub"] == "nurse"


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, list[str]]]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        assert self.headers["content-type"].startswith("application/x-www-form-urlencoded")
        self.received.append(parse_qs(body))
        self.send_response(200)
        self.send_header("cache-control", "no-store")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def logout_receiver() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    received: list[dict[str, list[str]]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/backchannel-logout", received
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_back_channel_logout_delivers_a_logout_token(
    oidc_provider: OidcProvider, logout_receiver: tuple[str, list[dict[str, list[str]]]]
) -> None:
    uri, received = logout_receiver
    oidc_provider.set_client(backchannel_logout_uri=uri)
    # a user of this test only: the module's other tests leave sessions of "gp" behind
    oidc_provider.add_user("gp-2", {**oidc_provider.users["gp"], "name": "Gry Fastlege"})
    with httpx.Client(timeout=10) as http:
        sign_in = SignIn()
        answer = _exchange(oidc_provider, sign_in, _code(oidc_provider, http, sign_in, "gp-2"))
        id_claims = _verify(oidc_provider, answer.json()["id_token"], sign_in.nonce)

        sessions = oidc_provider.logout("gp-2")

        assert [session["outcome"] for session in sessions] == ["sent"]
        assert len(received) == 1
        token = received[0]["logout_token"][0]
        claims = _verify(oidc_provider, token)
        assert claims["sub"] == "gp-2"
        assert claims["sid"] == id_claims["sid"] == sessions[0]["sid"]
        assert claims["events"] == {BACKCHANNEL_EVENT: {}}
        assert "nonce" not in claims
        assert claims["jti"]
        logged = [entry for entry in oidc_provider.sent() if entry["kind"] == "logout_token"]
        assert [(entry["logout_token"], entry["status"]) for entry in logged] == [(token, 200)]
        # the provider's session is gone: the same browser is asked to log in again
        again = http.get(_authorize_url(oidc_provider, SignIn()), follow_redirects=True)
        assert 'name="login"' in again.text
    assert oidc_provider.logout("gp-2") == []
