"""The OpenID Connect relying party's pure parts: the providers file, HelseID's claims mapped
to a DHO person and a security level, PKCE (docs/identity.md)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from triage.auth.oidc import (
    HELSEID_HPR_CLAIM,
    HELSEID_LEVEL_CLAIM,
    OidcRefusedError,
    ProviderConfig,
    ProvidersFileError,
    code_challenge,
    load_providers,
    new_code_verifier,
    person_keys,
    security_problem,
)
from triage.config import Settings


def _config(tmp_path: Path, **extra: object) -> ProviderConfig:
    key = tmp_path / "client.jwk"
    key.write_text("{}")
    return ProviderConfig.model_validate(
        {
            "id": "helseid",
            "label": "HelseID",
            "issuer": "https://helseid-sts.test.nhn.no/",
            "client_id": "dho",
            "private_key_file": str(key),
            **extra,
        }
    )


def test_the_providers_file_defaults_to_helseid_claim_names(tmp_path: Path) -> None:
    key = tmp_path / "client.jwk"
    key.write_text("{}")
    path = tmp_path / "providers.json"
    path.write_text(
        json.dumps(
            [
                {
                    "id": "helseid",
                    "label": "HelseID",
                    "issuer": "https://helseid-sts.test.nhn.no",
                    "client_id": "dho",
                    "private_key_file": str(key),
                }
            ]
        )
    )
    providers = load_providers(path)
    helseid = providers["helseid"]
    assert helseid.hpr_claim == "helseid://claims/hpr/hpr_number"
    assert helseid.pid_claim == "helseid://claims/identity/pid"
    assert helseid.security_level_claim == "helseid://claims/identity/security_level"
    assert helseid.min_security_level == 4
    assert "openid" in helseid.scopes
    assert helseid.acr_values == []
    assert load_providers(None) == {}


@pytest.mark.parametrize(
    ("entries", "says"),
    [
        ([{"id": "x"}], "label"),  # fields missing
        (
            [
                {
                    "id": "Has Space",
                    "label": "x",
                    "issuer": "https://a",
                    "client_id": "c",
                    "private_key_file": "KEY",
                }
            ],
            "id",
        ),
        (
            [
                {
                    "id": "a",
                    "label": "x",
                    "issuer": "ftp://a",
                    "client_id": "c",
                    "private_key_file": "KEY",
                }
            ],
            "issuer",
        ),
        (
            [
                {
                    "id": "a",
                    "label": "x",
                    "issuer": "https://a",
                    "client_id": "c",
                    "private_key_file": "KEY",
                    "surprise": 1,
                }
            ],
            "surprise",
        ),
        (
            [
                {
                    "id": "a",
                    "label": "x",
                    "issuer": "https://a",
                    "client_id": "c",
                    "private_key_file": "KEY",
                }
            ]
            * 2,
            "twice",
        ),
        (
            [
                {
                    "id": "a",
                    "label": "x",
                    "issuer": "https://a",
                    "client_id": "c",
                    "private_key_file": "/nowhere/key.jwk",
                }
            ],
            "no key file",
        ),
        (
            [
                {
                    "id": "a",
                    "label": "x",
                    "issuer": "http://helseid-sts.test.nhn.no",
                    "client_id": "c",
                    "private_key_file": "KEY",
                }
            ],
            "must be an https URL",
        ),
    ],
)
def test_a_bad_providers_file_is_refused_with_the_reason(
    tmp_path: Path, entries: list[dict[str, object]], says: str
) -> None:
    key = tmp_path / "client.jwk"
    key.write_text("{}")
    path = tmp_path / "providers.json"
    path.write_text(json.dumps(entries).replace("KEY", str(key)))
    with pytest.raises(ProvidersFileError, match=says):
        load_providers(path)


def test_a_missing_providers_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProvidersFileError, match="DHO_OIDC_PROVIDERS_FILE"):
        load_providers(tmp_path / "none.json")


def test_password_login_roles_default_to_every_role_and_refuse_unknown_ones() -> None:
    assert sorted(Settings(demo=True).password_login_roles) == ["admin", "gp", "lead", "nurse"]
    assert Settings(demo=True, password_login_roles=["admin"]).password_login_roles == ["admin"]
    with pytest.raises(ValidationError, match="unknown roles"):
        Settings(demo=True, password_login_roles=["admin", "doctor"])


def test_password_login_roles_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DHO_DEMO", "true")
    monkeypatch.setenv("DHO_PASSWORD_LOGIN_ROLES", '["admin", "lead"]')
    monkeypatch.setenv("DHO_OIDC_PROVIDERS_FILE", str(tmp_path / "p.json"))
    settings = Settings()
    assert settings.password_login_roles == ["admin", "lead"]
    assert settings.oidc_providers_file == tmp_path / "p.json"


def test_the_hpr_number_and_subject_identify_the_person(tmp_path: Path) -> None:
    config = _config(tmp_path)
    keys = person_keys({"sub": "abc", HELSEID_HPR_CLAIM: "9144889"}, config)
    assert (keys.provider, keys.subject, keys.hpr_number) == ("helseid", "abc", "9144889")
    assert keys.actor == "hpr:9144889"
    # HelseID may send it as a one-element list; HPR keeps it without leading zeros
    assert person_keys({"sub": "s", HELSEID_HPR_CLAIM: ["009144889"]}, config).hpr_number == (
        "9144889"
    )
    without = person_keys({"sub": "nurse-sub"}, config)
    assert without.hpr_number is None
    assert without.actor == "oidc:helseid:nurse-sub"
    for junk in ("", "91448x9", True, {"a": 1}, "1" * 17):
        assert person_keys({"sub": "s", HELSEID_HPR_CLAIM: junk}, config).hpr_number is None


def test_another_claim_name_is_followed(tmp_path: Path) -> None:
    config = _config(tmp_path, hpr_claim="hpr", security_level_claim="level")
    assert person_keys({"sub": "s", "hpr": "1234567"}, config).hpr_number == "1234567"
    assert person_keys({"sub": "s", HELSEID_HPR_CLAIM: "1234567"}, config).hpr_number is None
    assert security_problem({"level": "4"}, config) is None
    assert security_problem({HELSEID_LEVEL_CLAIM: "4"}, config) == "no security level (level)"


def test_the_security_level_must_reach_the_minimum(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert security_problem({HELSEID_LEVEL_CLAIM: "4"}, config) is None
    assert security_problem({HELSEID_LEVEL_CLAIM: 4}, config) is None
    assert security_problem({HELSEID_LEVEL_CLAIM: "3"}, config) == ("security level 3 is below 4")
    assert "no security level" in str(security_problem({}, config))
    assert "not a number" in str(security_problem({HELSEID_LEVEL_CLAIM: "high"}, config))
    assert "no security level" in str(security_problem({HELSEID_LEVEL_CLAIM: True}, config))
    lower = _config(tmp_path, min_security_level=3)
    assert security_problem({HELSEID_LEVEL_CLAIM: "3"}, lower) is None


def test_configured_acr_values_must_contain_the_tokens_acr(tmp_path: Path) -> None:
    config = _config(tmp_path, acr_values=["urn:helseid:level4"])
    good = {HELSEID_LEVEL_CLAIM: "4", "acr": "urn:helseid:level4"}
    assert security_problem(good, config) is None
    assert "acr" in str(security_problem({**good, "acr": "urn:helseid:level3"}, config))
    assert "acr" in str(security_problem({HELSEID_LEVEL_CLAIM: "4"}, config))


def test_pkce_s256_is_rfc7636s_transformation() -> None:
    # RFC 7636 appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    fresh = new_code_verifier()
    assert 43 <= len(fresh) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(fresh.encode()).digest()).rstrip(b"=")
    assert code_challenge(fresh) == digest.decode()
    assert new_code_verifier() != fresh


def test_a_refusal_code_must_be_one_the_dashboard_knows() -> None:
    assert OidcRefusedError("unknown_person", "x").code == "unknown_person"
    with pytest.raises(ValueError, match="unknown sign-in refusal code"):
        OidcRefusedError("oops", "x")


def test_the_client_key_is_read_as_a_jwk_or_pem(tmp_path: Path) -> None:
    from joserfc.jwk import ECKey, RSAKey

    from triage.auth.oidc import load_client_key

    rsa = RSAKey.generate_key(2048, {"alg": "PS256"}, private=True)
    jwk_file = tmp_path / "client.jwk"
    jwk_file.write_text(json.dumps(rsa.as_dict(private=True)))
    loaded = load_client_key(jwk_file)
    assert loaded.key_type == "RSA"
    assert loaded.get("alg") == "PS256"
    ec = ECKey.generate_key("P-256", private=True)
    pem_file = tmp_path / "client.pem"
    pem_file.write_bytes(ec.as_pem(private=True))
    assert load_client_key(pem_file).key_type == "EC"
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(ProvidersFileError, match="neither a JWK nor"):
        load_client_key(junk)
