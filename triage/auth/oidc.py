"""DHO as an OpenID Connect relying party (HelseID and other providers; docs/identity.md).

The operator lists the providers in ``DHO_OIDC_PROVIDERS_FILE`` (:func:`load_providers`). For
each, :class:`ProviderClient` reads the provider's discovery document
(``<issuer>/.well-known/openid-configuration``, cached), builds the authorization request
(authorization code, PKCE S256, state, nonce), exchanges the code at the token endpoint with
``private_key_jwt`` client authentication (authlib's RFC 7523 helper) and validates the ID token
and back-channel logout tokens against the provider's JWKS: the signature with a key of the JWKS
(fetched again once when a token names an unknown ``kid``: key rotation), then the claims with
authlib.oidc.core (iss, aud, exp, iat with a small leeway, nonce).

What a validated ID token means for DHO (which person, whether the level is enough) is decided
by the pure functions :func:`security_problem` and :func:`person_keys`; the router looks the
person up and refuses anyone unknown (an account is never created at sign-in).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from authlib.oidc.core import CodeIDToken
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import Key, KeySet, import_key
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

#: HelseID's claim names (https://utviklerportal.nhn.no: HelseID claims), the defaults.
HELSEID_HPR_CLAIM = "helseid://claims/hpr/hpr_number"
HELSEID_PID_CLAIM = "helseid://claims/identity/pid"
HELSEID_LEVEL_CLAIM = "helseid://claims/identity/security_level"
HELSEID_SCOPES = (
    "openid",
    "profile",
    "helseid://scopes/identity/pid",
    "helseid://scopes/identity/security_level",
    "helseid://scopes/hpr/hpr_number",
)
#: OpenID Connect Back-Channel Logout 1.0 §2.4: the event a logout token must carry.
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Signature algorithms accepted on ID and logout tokens (never "none", never HMAC: the
#: provider's public keys are not secrets).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
#: Clock skew allowed on exp, iat and nbf (seconds).
LEEWAY_S = 60
#: A logout token older than this is refused (its jti is kept at least as long).
LOGOUT_TOKEN_MAX_AGE_S = 600
#: How long the discovery document and the JWKS are kept before they are read again.
METADATA_TTL_S = 3600.0
HTTP_TIMEOUT_S = 10.0

#: Why a sign-in was refused: the code the dashboard shows a message for.
LOGIN_ERROR_CODES = (
    "unknown_person",
    "level_too_low",
    "invalid_token",
    "expired_attempt",
    "not_own_patient",
    "provider_error",
    "password_only_role",
)


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ProviderConfig(BaseModel):
    """One OpenID Connect provider people may sign in with (an entry of the providers file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    label: Annotated[str, Field(min_length=1, max_length=100)]
    issuer: Annotated[str, Field(pattern=r"^https?://[^\s?#]+$", max_length=500)]
    client_id: Annotated[str, Field(min_length=1, max_length=200)]
    private_key_file: Path = Field(
        description="The client's private key (a JWK in JSON, or PEM) for private_key_jwt."
    )
    scopes: list[str] = Field(default_factory=lambda: list(HELSEID_SCOPES))
    acr_values: list[str] = Field(
        default_factory=list,
        description="When given: sent as acr_values, and the ID token's acr must be one of them.",
    )
    min_security_level: Annotated[int, Field(ge=0, le=4)] = 4
    hpr_claim: str = HELSEID_HPR_CLAIM
    pid_claim: str = HELSEID_PID_CLAIM
    security_level_claim: str = HELSEID_LEVEL_CLAIM
    max_session_hours: Annotated[int, Field(ge=1, le=24 * 31)] = 12

    @field_validator("issuer")
    @classmethod
    def _https_issuer(cls, issuer: str) -> str:
        """OpenID Connect issuers are https URLs; plain http only on this machine (a test
        provider), never across a network where the discovery document and the keys could be
        replaced on the way."""
        host = urlsplit(issuer).hostname or ""
        if issuer.startswith("http://") and host not in _LOOPBACK:
            raise ValueError(f"issuer {issuer!r} must be an https URL (http only on loopback)")
        return issuer

    @property
    def issuer_url(self) -> str:
        return self.issuer.rstrip("/")


class ProvidersFileError(ValueError):
    """The providers file cannot be used; the message says why."""


_PROVIDERS = TypeAdapter(list[ProviderConfig])


def load_providers(path: Path | None) -> dict[str, ProviderConfig]:
    """The providers of ``DHO_OIDC_PROVIDERS_FILE`` by id (none when unset)."""
    if path is None:
        return {}
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ProvidersFileError(f"DHO_OIDC_PROVIDERS_FILE {path}: {err.strerror}") from err
    try:
        providers = _PROVIDERS.validate_json(raw)
    except ValidationError as err:
        raise ProvidersFileError(f"DHO_OIDC_PROVIDERS_FILE {path}: {err}") from err
    by_id: dict[str, ProviderConfig] = {}
    for provider in providers:
        if provider.id in by_id:
            raise ProvidersFileError(
                f"DHO_OIDC_PROVIDERS_FILE {path}: provider id {provider.id!r} twice"
            )
        if not provider.private_key_file.is_file():
            raise ProvidersFileError(
                f"DHO_OIDC_PROVIDERS_FILE {path}: provider {provider.id!r}: no key file "
                f"{provider.private_key_file}"
            )
        by_id[provider.id] = provider
    return by_id


# ------------------------------------------------------------------ refusals


class OidcRefusedError(Exception):
    """A sign-in (or logout token) refused: ``code`` for the dashboard, ``why`` for the audit
    log (it may say more, e.g. which claim failed)."""

    def __init__(self, code: str, why: str, *, patient_id: str | None = None) -> None:
        if code not in LOGIN_ERROR_CODES:
            raise ValueError(f"unknown sign-in refusal code {code!r}")
        super().__init__(f"{code}: {why}")
        self.code = code
        self.why = why
        self.patient_id = patient_id  # a launch's patient, for the audit row


# ------------------------------------------------------------------ claims → DHO (pure)


def security_problem(claims: Mapping[str, Any], config: ProviderConfig) -> str | None:
    """Why the ID token's security level is not enough for ``config``, or None.

    The configured security-level claim (HelseID: ``helseid://claims/identity/security_level``,
    "4" for BankID/Buypass/Commfides) must be at least ``min_security_level``; if acr_values are
    configured, the token's ``acr`` must be one of them."""
    raw = claims.get(config.security_level_claim)
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if isinstance(raw, bool) or raw is None:
        return f"no security level ({config.security_level_claim})"
    try:
        level = int(str(raw).strip())
    except ValueError:
        return f"security level {raw!r} is not a number"
    if level < config.min_security_level:
        return f"security level {level} is below {config.min_security_level}"
    if config.acr_values and claims.get("acr") not in config.acr_values:
        return f"acr {claims.get('acr')!r} is not one of {config.acr_values}"
    return None


@dataclass(frozen=True, slots=True)
class PersonKeys:
    """What identifies the signed-in person: the HPR number (if the token has one) and the
    provider's subject."""

    provider: str
    subject: str
    hpr_number: str | None

    @property
    def actor(self) -> str:
        """How the audit log names a person not (yet) matched to a DHO user."""
        if self.hpr_number:
            return f"hpr:{self.hpr_number}"
        return f"oidc:{self.provider}:{self.subject}"


def person_keys(claims: Mapping[str, Any], config: ProviderConfig) -> PersonKeys:
    """The HPR number (digits only, as HPR keeps them) and subject of a validated ID token."""
    raw = claims.get(config.hpr_claim)
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    hpr: str | None = None
    if isinstance(raw, int | str) and not isinstance(raw, bool):
        text = str(raw).strip()
        if text.isdigit() and 1 <= len(text) <= 16:
            hpr = text.lstrip("0") or "0"
    return PersonKeys(provider=config.id, subject=str(claims["sub"]), hpr_number=hpr)


# ------------------------------------------------------------------ PKCE, state, nonce


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    """RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~]; 64 bytes of randomness."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def handoff_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


# ------------------------------------------------------------------ the provider


def load_client_key(path: Path) -> Key:
    """The client's private key: a JWK (JSON) or a PEM file."""
    raw = path.read_bytes()
    if raw.lstrip().startswith(b"{"):
        data = json.loads(raw)
        if "keys" in data:  # a JWKS with one private key
            data = data["keys"][0]
        return import_key(data)
    for kty in ("RSA", "EC"):
        try:
            return import_key(raw, kty)
        except (ValueError, TypeError, JoseError):
            continue
    raise ProvidersFileError(f"{path}: neither a JWK nor an RSA or EC private key in PEM")


def _signing_alg(key: Key) -> str:
    alg = key.get("alg") if isinstance(key.get("alg"), str) else None
    if alg:
        return str(alg)
    if key.key_type == "EC":
        return "ES256"
    return "RS256"


@dataclass
class _Cached:
    value: dict[str, Any]
    fetched: float  # time.monotonic()


class ProviderClient:
    """The HTTP side of one provider: discovery, JWKS, token endpoint; and token validation."""

    def __init__(self, config: ProviderConfig) -> None:
        self.config = config
        self._key = load_client_key(config.private_key_file)
        self._alg = _signing_alg(self._key)
        self._lock = threading.Lock()
        self._metadata: _Cached | None = None
        self._jwks: _Cached | None = None

    # --- metadata

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=HTTP_TIMEOUT_S, follow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as err:
            raise OidcRefusedError("provider_error", f"GET {url}: {err}") from err
        if not isinstance(data, dict):
            raise OidcRefusedError("provider_error", f"GET {url}: not a JSON object")
        return data

    def metadata(self) -> dict[str, Any]:
        """The discovery document (cached ``METADATA_TTL_S``); its issuer must be ours."""
        with self._lock:
            cached = self._metadata
        if cached is not None and time.monotonic() - cached.fetched < METADATA_TTL_S:
            return cached.value
        url = f"{self.config.issuer_url}/.well-known/openid-configuration"
        data = self._get_json(url)
        if str(data.get("issuer", "")).rstrip("/") != self.config.issuer_url:
            raise OidcRefusedError(
                "provider_error", f"discovery names issuer {data.get('issuer')!r}, not ours"
            )
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(field), str):
                raise OidcRefusedError("provider_error", f"discovery has no {field}")
        with self._lock:
            self._metadata = _Cached(data, time.monotonic())
        return data

    def _keyset(self, *, refresh: bool = False) -> KeySet:
        with self._lock:
            cached = self._jwks
        if refresh or cached is None or time.monotonic() - cached.fetched >= METADATA_TTL_S:
            data = self._get_json(str(self.metadata()["jwks_uri"]))
            cached = _Cached(data, time.monotonic())
            with self._lock:
                self._jwks = cached
        try:
            return KeySet.import_key_set(cached.value)  # type: ignore[arg-type]
        except (ValueError, TypeError, KeyError, JoseError) as err:
            raise OidcRefusedError("provider_error", f"the provider's JWKS: {err}") from err

    def _verification_key(self, kid: str | None) -> Key:
        """The JWKS key named ``kid``; the JWKS is fetched again once when it has none (the
        provider rotated its keys)."""
        for refresh in (False, True):
            keys = self._keyset(refresh=refresh)
            try:
                return keys.get_by_kid(kid)
            except (ValueError, KeyError, JoseError):
                continue
        raise OidcRefusedError("invalid_token", f"signed with a key not in the JWKS (kid {kid!r})")

    # --- the authorization request

    def authorization_url(
        self,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        verifier: str,
        launch: str | None = None,
    ) -> str:
        scopes = list(self.config.scopes)
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if launch is not None:  # SMART App Launch, EHR launch: the EPJ's launch context
            scopes.append("launch")
            params["launch"] = launch
        params["scope"] = " ".join(dict.fromkeys(scopes))
        if self.config.acr_values:
            params["acr_values"] = " ".join(self.config.acr_values)
        endpoint = str(self.metadata()["authorization_endpoint"])
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(params)}"

    # --- the token endpoint

    def exchange_code(self, *, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The token response for ``code``, the client authenticated with private_key_jwt
        (a client assertion signed with its private key, audience the token endpoint)."""
        token_endpoint = str(self.metadata()["token_endpoint"])
        assertion = private_key_jwt_sign(
            self._key, self.config.client_id, token_endpoint, alg=self._alg, expires_in=60
        )
        if isinstance(assertion, bytes):
            assertion = assertion.decode("ascii")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": self.config.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        try:
            response = httpx.post(
                token_endpoint, data=form, timeout=HTTP_TIMEOUT_S, follow_redirects=False
            )
        except httpx.HTTPError as err:
            raise OidcRefusedError("provider_error", f"token endpoint: {err}") from err
        if response.status_code != 200:
            raise OidcRefusedError(
                "provider_error",
                f"token endpoint answered {response.status_code}: {response.text[:300]}",
            )
        try:
            data = response.json()
        except ValueError as err:
            raise OidcRefusedError("provider_error", "token endpoint: not JSON") from err
        if not isinstance(data, dict) or not isinstance(data.get("id_token"), str):
            raise OidcRefusedError("provider_error", "token response without an id_token")
        return data

    # --- token validation

    def _decode(self, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims of a JWS signed by one of the provider's keys."""
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (ValueError, UnicodeError, JoseError) as err:
            raise OidcRefusedError("invalid_token", f"not a signed JWT: {err}") from err
        if header.get("alg") not in ALGORITHMS:
            raise OidcRefusedError("invalid_token", f"algorithm {header.get('alg')!r} refused")
        kid = header.get("kid")
        key = self._verification_key(kid if isinstance(kid, str) else None)
        try:
            decoded = jwt.decode(token, key, algorithms=list(ALGORITHMS))
        except JoseError as err:
            raise OidcRefusedError("invalid_token", f"signature: {err}") from err
        return dict(decoded.header), dict(decoded.claims)

    def validate_id_token(self, token: str, *, nonce: str, now: datetime) -> dict[str, Any]:
        """The claims of a valid ID token (OpenID Connect Core §3.1.3.7): signature by a key of
        the provider's JWKS, iss, aud (and azp), exp and iat (leeway ``LEEWAY_S``), nonce."""
        header, claims = self._decode(token)
        checked = CodeIDToken(
            claims,
            header,
            options={
                "iss": {"essential": True, "value": self.config.issuer_url},
                "aud": {"essential": True, "value": self.config.client_id},
            },
            params={"nonce": nonce, "client_id": self.config.client_id},
        )
        try:
            checked.validate(now=int(now.timestamp()), leeway=LEEWAY_S)
        except ExpiredTokenError as err:
            raise OidcRefusedError("invalid_token", "the ID token has expired") from err
        except JoseError as err:
            raise OidcRefusedError("invalid_token", f"ID token claims: {err}") from err
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise OidcRefusedError("invalid_token", "the ID token has no subject")
        return claims

    def validate_logout_token(self, token: str, *, now: datetime) -> dict[str, Any]:
        """The claims of a valid logout token (OpenID Connect Back-Channel Logout 1.0 §2.6):
        signature, iss, aud, iat (not older than ``LOGOUT_TOKEN_MAX_AGE_S``), exp if given, the
        back-channel logout event, sid or sub, no nonce, a jti (its single use is the
        caller's)."""
        header, claims = self._decode(token)
        # not IDToken's checks: a logout token has no nonce, auth_time or at_hash
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=LEEWAY_S,
            iss={"essential": True, "value": self.config.issuer_url},
            aud={"essential": True, "value": self.config.client_id},
            iat={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as err:
            raise OidcRefusedError("invalid_token", f"logout token claims: {err}") from err
        typ = header.get("typ")
        if typ is not None and str(typ).lower() not in ("logout+jwt", "application/logout+jwt"):
            raise OidcRefusedError("invalid_token", f"typ {typ!r} is not logout+jwt")
        if now.timestamp() - float(claims["iat"]) > LOGOUT_TOKEN_MAX_AGE_S:
            raise OidcRefusedError("invalid_token", "the logout token is too old")
        events = claims.get("events")
        if not isinstance(events, dict) or not isinstance(
            events.get(BACKCHANNEL_LOGOUT_EVENT), dict
        ):
            raise OidcRefusedError("invalid_token", "no back-channel logout event")
        if "nonce" in claims:
            raise OidcRefusedError("invalid_token", "a logout token must not have a nonce")
        sid, sub = claims.get("sid"), claims.get("sub")
        if not (isinstance(sid, str) and sid) and not (isinstance(sub, str) and sub):
            raise OidcRefusedError("invalid_token", "neither sid nor sub")
        if not isinstance(claims.get("jti"), str):
            raise OidcRefusedError("invalid_token", "no jti")
        return claims


class OidcProviders:
    """The configured providers and their clients (one per provider, for the app's life)."""

    def __init__(self, configs: Mapping[str, ProviderConfig]) -> None:
        self.configs = dict(configs)
        self._clients = {id_: ProviderClient(config) for id_, config in configs.items()}

    def __bool__(self) -> bool:
        return bool(self._clients)

    def get(self, provider_id: str) -> ProviderClient | None:
        return self._clients.get(provider_id)

    def only(self) -> ProviderClient | None:
        """The provider an EPJ launch uses when it names none: the first configured."""
        return next(iter(self._clients.values()), None)
