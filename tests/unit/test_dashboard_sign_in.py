"""The dashboard's side of the sign-in with HelseID (issue 20): the refusal messages, the
provider buttons' links and where the person goes afterwards."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.api_client import ApiError, SignInOptions
from dashboard.i18n import WORDS
from dashboard.presenters import login_refusal
from dashboard.settings import DashboardSettings
from dashboard.sign_in import (
    LOGIN_ERROR_CODES,
    Destination,
    destination,
    login_error_message,
    provider_button_label,
    start_link,
)

API = "http://dho.testvik.invalid/api/v1"


def test_an_unknown_person_is_told_to_ask_the_administrator_with_the_hpr_number() -> None:
    assert login_error_message("unknown_person", "nb") == (
        "Du er ikke registrert i DHO. Be administrator legge deg til med HPR-nummeret ditt."
    )
    assert "HPR number" in login_error_message("unknown_person", "en")


@pytest.mark.parametrize("code", LOGIN_ERROR_CODES)
def test_every_refusal_code_has_its_own_message_in_both_languages(code: str) -> None:
    """Each code of COMMON20.md's list (and an ended session) says what happened and what the
    person can do, in bokmål and English; no two codes share a message."""
    nb, en = WORDS[f"login_error_{code}"]
    assert login_error_message(code, "nb") == nb
    assert login_error_message(code, "en") == en
    assert code not in nb  # words, never the code
    others = {login_error_message(c, "nb") for c in LOGIN_ERROR_CODES if c != code}
    assert nb not in others


def test_the_specific_advice_of_each_refusal() -> None:
    assert "BankID" in login_error_message("level_too_low", "nb")
    assert "sikkerhetsnivå" in login_error_message("level_too_low", "nb")
    assert "egne pasienter" in login_error_message("not_own_patient", "nb")
    assert "på nytt" in login_error_message("expired_attempt", "nb")
    assert "brukernavn og passord" in login_error_message("password_only_role", "nb")


def test_a_code_the_dashboard_does_not_know_is_named_for_the_administrator() -> None:
    said = login_error_message("something_new", "nb")
    assert "something_new" in said
    assert "administrator" in said
    assert len(login_error_message("x" * 500, "nb")) < 200  # a crafted code stays short


def test_the_button_says_sign_in_with_the_providers_label() -> None:
    assert provider_button_label("HelseID", "nb") == "Logg inn med HelseID"
    assert provider_button_label("HelseID", "en") == "Sign in with HelseID"


def test_the_start_link_is_the_apis_url_with_next_added() -> None:
    url = "http://dho.testvik.invalid/api/v1/auth/oidc/helseid/start"
    assert start_link(url, API) == url
    linked = start_link(url, API, "alert:a-1")
    assert urlsplit(linked).path == "/api/v1/auth/oidc/helseid/start"
    assert parse_qs(urlsplit(linked).query) == {"next": ["alert:a-1"]}


def test_a_start_path_is_made_absolute_on_the_apis_public_address() -> None:
    assert (
        start_link("/api/v1/auth/oidc/helseid/start", API)
        == "http://dho.testvik.invalid/api/v1/auth/oidc/helseid/start"
    )
    assert (
        start_link("auth/oidc/helseid/start", API)
        == "http://dho.testvik.invalid/api/v1/auth/oidc/helseid/start"
    )


def test_a_next_already_in_the_start_url_is_replaced_not_doubled() -> None:
    linked = start_link(f"{API}/auth/oidc/helseid/start?next=old&x=1", API, "gp_patient:p-1")
    assert parse_qs(urlsplit(linked).query) == {"x": ["1"], "next": ["gp_patient:p-1"]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("gp_patient:p-1", Destination("gp_patient", "p-1")),
        ("alert:a-9", Destination("alert", "a-9")),
        ("patient:p-3", Destination("patient", "p-3")),
        (" gp_patient: p-2 ", Destination("gp_patient", "p-2")),
        (None, None),
        ("", None),
        ("gp_patient:", None),
        ("worklist", None),
        ("admin:everything", None),
        ("gp_patient:" + "x" * 201, None),
    ],
)
def test_next_becomes_a_destination_only_when_the_dashboard_knows_it(
    given: str | None, expected: Destination | None
) -> None:
    assert destination(given) == expected


def test_a_destination_goes_back_to_the_api_as_next() -> None:
    assert Destination("gp_patient", "p-1").next_value == "gp_patient:p-1"
    assert destination(Destination("alert", "a-1").next_value) == Destination("alert", "a-1")


def test_the_api_may_answer_a_bare_list_of_providers_and_the_form_stays() -> None:
    options = SignInOptions.model_validate(
        [{"id": "helseid", "label": "HelseID", "start_url": "/x"}]
    )
    assert [p.label for p in options.providers] == ["HelseID"]
    assert options.password_login
    off = SignInOptions.model_validate({"providers": [], "password_login": False})
    assert not off.password_login
    assert not SignInOptions().providers


def test_the_browser_reaches_the_api_at_its_public_address_when_one_is_set() -> None:
    inside = DashboardSettings(api_url="http://api:8000")  # type: ignore[arg-type]
    assert inside.api_public_base == "http://api:8000/api/v1"
    public = DashboardSettings(
        api_url="http://api:8000",  # type: ignore[arg-type]
        api_public_url="https://dho.testvik.invalid/",  # type: ignore[arg-type]
    )
    assert public.api_public_base == "https://dho.testvik.invalid/api/v1"
    assert public.api_base == "http://api:8000/api/v1"


def test_a_role_that_must_use_helseid_is_told_so_after_a_password() -> None:
    """``DHO_PASSWORD_LOGIN_ROLES`` without the person's role: the API answers 403 after the
    right password; the form says to sign in with HelseID."""
    refused = ApiError(403, "Forbidden", "password login is not allowed for the role gp")
    assert login_refusal(refused, "nb") == (
        "Rollen din kan ikke logge inn med passord her. Logg inn med HelseID."
    )
    assert "Sign in with HelseID" in login_refusal(refused, "en")
