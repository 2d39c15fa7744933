"""The login page and the entry script against the real API (issue 20): a refusal sent back by
the sign-in service is explained in words and leaves the address, the password form stays when
the API offers no sign-in service, and a login the API ends sends the person back to the login
page with a message — never a stack trace."""

from __future__ import annotations

import httpx

from tests.integration.dashboard.conftest import CLIENT_KEY, AppFactory, Ward, logged_in


def _texts(at: object) -> str:
    """Every message and text on the page, as one string."""
    parts: list[str] = []
    for kind in ("error", "warning", "info", "success", "markdown", "title", "subheader"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return "\n".join(parts)


def test_a_refused_sign_in_is_explained_in_bokmal_and_leaves_the_address(
    app: AppFactory, ward: Ward
) -> None:
    at = app()
    at.query_params["dho_login_error"] = "unknown_person"
    at.run()
    assert not at.exception, at.exception
    said = [e.value for e in at.error]
    assert any(
        "Du er ikke registrert i DHO. Be administrator legge deg til med HPR-nummeret ditt." in s
        for s in said
    ), said
    assert "dho_login_error" not in at.query_params
    assert at.text_input(key="login_username")  # the person may still use the form
    at.run()  # a rerun (or a reload) does not show it again
    assert not [e.value for e in at.error]


def test_the_wrong_level_is_explained_in_english_when_english_is_chosen(
    app: AppFactory, ward: Ward
) -> None:
    at = app().run()
    at.radio(key="language_choice").set_value("en").run()
    at.query_params["dho_login_error"] = "level_too_low"
    at.run()
    assert any("security level is too low" in e.value for e in at.error), _texts(at)


def test_an_unknown_refusal_code_is_named_not_hidden(app: AppFactory, ward: Ward) -> None:
    at = app()
    at.query_params["dho_login_error"] = "brand_new_reason"
    at.run()
    assert any("brand_new_reason" in e.value for e in at.error), _texts(at)


def test_a_made_up_handoff_is_refused_with_advice_and_nobody_is_logged_in(
    app: AppFactory, ward: Ward
) -> None:
    """A handoff code the API does not know (forged, used or expired): the person is told to
    start the sign-in again, and the code leaves the address."""
    at = app()
    at.query_params["dho_handoff"] = "not-a-real-code"
    at.run()
    assert not at.exception, at.exception
    assert any("Start innloggingen på nytt" in e.value for e in at.error), _texts(at)
    assert "dho_handoff" not in at.query_params
    assert "dho_me" not in at.session_state
    assert at.text_input(key="login_username")


def test_a_login_the_api_ends_sends_the_person_back_to_the_login_page_with_a_message(
    app: AppFactory, ward: Ward, http: httpx.Client
) -> None:
    """The API ends the login (here: the session is revoked on the server, as a logout at the
    sign-in service does): the next click lands on the login page, which says why."""
    at = logged_in(app, "gp-1")
    assert "Fastlege En" in "\n".join(c.value for c in at.caption)
    tokens = at.session_state[CLIENT_KEY]._tokens
    ended = http.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens.access_token}"}
    )
    assert ended.status_code in (200, 204), ended.text
    at.run()  # the next click
    assert not at.exception, at.exception
    assert "dho_me" not in at.session_state
    assert at.text_input(key="login_username")
    said = "\n".join(w.value for w in at.warning)
    assert "Innloggingen din er avsluttet" in said, _texts(at)
    at.run()
    assert "Innloggingen din er avsluttet" not in "\n".join(w.value for w in at.warning)
