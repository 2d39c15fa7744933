"""One person's dashboard session in ``st.session_state``: the settings of this run, the logged-in
API client and user, the chosen language and patient; and how an API error is shown.

Pages call these instead of touching ``st.session_state`` keys themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import streamlit as st

from dashboard.api_client import ApiClient, ApiError, Me, Patient
from dashboard.i18n import Language, t
from dashboard.settings import DashboardSettings
from dashboard.sign_in import Destination

_SETTINGS = "dho_settings"
_CLIENT = "dho_client"
_ME = "dho_me"
_LANGUAGE = "dho_language"
_PATIENT = "dho_patient_id"
_FLASH = "dho_flash"
_FLASH_ERROR = "dho_flash_error"
_LOGIN_NOTICE = "dho_login_notice"
#: where to go after the login (a :class:`dashboard.sign_in.Destination`): kept through the
#: password form, and handed to the sign-in service as ``next``
_AFTER_LOGIN = "dho_after_login"


def start(settings: DashboardSettings) -> None:
    """Called by the entry script on every run: keep this run's settings, make a client."""
    st.session_state[_SETTINGS] = settings
    if _CLIENT not in st.session_state:
        st.session_state[_CLIENT] = ApiClient(
            settings.api_base, timeout=settings.api_timeout_seconds
        )
    if _LANGUAGE not in st.session_state:
        st.session_state[_LANGUAGE] = settings.language
    client().set_language(language())


def settings() -> DashboardSettings:
    found: DashboardSettings = st.session_state[_SETTINGS]
    return found


def now() -> datetime:
    """The dashboard's 'now' (see :meth:`DashboardSettings.now`)."""
    return settings().now()


def client() -> ApiClient:
    found: ApiClient = st.session_state[_CLIENT]
    return found


def language() -> Language:
    chosen: Language = st.session_state.get(_LANGUAGE, "nb")
    return chosen


def set_language(chosen: Language) -> None:
    """The person's language: the pages' words and the reasons the API writes."""
    st.session_state[_LANGUAGE] = chosen
    client().set_language(chosen)


def me() -> Me | None:
    found: Me | None = st.session_state.get(_ME)
    return found


def logged_in(user: Me) -> None:
    st.session_state[_ME] = user


def log_out() -> None:
    """End the login on the server and forget the user (the language stays)."""
    try:
        client().logout()
    except ApiError as err:
        # the login is forgotten here whatever the server said; it ends by itself when the
        # access token expires
        flash(f"{t('logout', language())}: {err.title}")
    st.session_state.pop(_ME, None)
    st.session_state.pop(_PATIENT, None)


def after_login(destination: Destination | None) -> None:
    """Where to go once logged in (None: the role's start page)."""
    if destination is None:
        st.session_state.pop(_AFTER_LOGIN, None)
    else:
        st.session_state[_AFTER_LOGIN] = destination


def take_after_login() -> Destination | None:
    """Where to go now that the person is logged in (once)."""
    found: Destination | None = st.session_state.pop(_AFTER_LOGIN, None)
    return found


def pending_next() -> str | None:
    """The ``next`` to give a sign-in service: where the person was going."""
    found: Destination | None = st.session_state.get(_AFTER_LOGIN)
    return found.next_value if found else None


def login_notice(message: str, *, error: bool = True) -> None:
    """A message for the login page: why a sign-in was refused or a login ended."""
    st.session_state[_LOGIN_NOTICE] = (message, error)


def show_login_notice() -> None:
    notice: tuple[str, bool] | None = st.session_state.pop(_LOGIN_NOTICE, None)
    if notice is None:
        return
    message, error = notice
    lang = language()
    if error:
        st.error(f"**{t('login_error_title', lang)}**  \n{message}", icon="🔒")
    else:
        st.warning(message, icon="🔒")


def session_ended() -> None:
    """The API ended the login (expired, logged out at the sign-in service, re-authentication
    due): forget the person and go back to the login page with a message."""
    st.session_state.pop(_ME, None)
    st.session_state.pop(_PATIENT, None)
    login_notice(t("login_error_session_ended", language()), error=False)
    st.rerun()


def patient_id() -> str | None:
    found: str | None = st.session_state.get(_PATIENT)
    return found


def choose_patient(patient: str) -> None:
    st.session_state[_PATIENT] = patient


def pick_patient(patients: Mapping[str, Patient], key: str, lang: Language) -> str | None:
    """A patient picker over ``patients`` (id → patient), starting at the patient chosen last;
    the id picked, or None."""
    ids = list(patients)
    chosen = patient_id()
    picked: str | None = st.selectbox(
        t("choose_patient", lang),
        ids,
        index=ids.index(chosen) if chosen in ids else None,
        placeholder=t("choose", lang),
        format_func=lambda pid: patients[pid].display_name,
        key=key,
    )
    return picked


def flash(message: str) -> None:
    """A message to show at the top of the next page run (after an action and a rerun)."""
    st.session_state[_FLASH] = message


def flash_error(err: ApiError) -> None:
    """A refusal to show at the top of the next page run (from a button's callback)."""
    st.session_state[_FLASH_ERROR] = err


def show_flash() -> None:
    message = st.session_state.pop(_FLASH, None)
    if message:
        st.success(message, icon="✅")
    refused: ApiError | None = st.session_state.pop(_FLASH_ERROR, None)
    if refused is not None:
        show_error(refused)


def show_error(err: ApiError) -> None:
    """The API's reason, in a box a person can read; a login that ended sends them back to the
    login page (with a message)."""
    if err.is_unauthorised and me() is not None:
        session_ended()
    text = f"**{err.title}**"
    if err.detail:
        text += f"  \n{err.detail}"
    st.error(text, icon="⚠️")
