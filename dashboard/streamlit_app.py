"""The DHO follow-up-centre dashboard: ``streamlit run dashboard/streamlit_app.py``.

Builds the navigation for the logged-in person's role (nurse, GP, admin, centre lead) with
``st.navigation``; the pages in ``app_pages/`` are thin: they call :mod:`dashboard.api_client`
and the pure functions of :mod:`dashboard.presenters`. Settings come from ``DHO_DASHBOARD_*``
variables, read when the script runs (never at import).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiError
from dashboard.i18n import LANGUAGES, Language, t
from dashboard.presenters import role_word
from dashboard.settings import DashboardSettings
from dashboard.sign_in import (
    ERROR_PARAM,
    HANDOFF_PARAM,
    Destination,
    destination,
    login_error_message,
)

PAGES = Path(__file__).parent / "app_pages"

#: print: hide Streamlit's chrome so a summary page fits one sheet
_STYLE = """
<style>
@media print {
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"],
  .stButton, [data-testid="stDecoration"] { display: none !important; }
  .block-container { padding-top: 0 !important; }
}
</style>
"""


def _page(file: str, key: str, icon: str, language: Language, *, default: bool = False) -> st.Page:
    return st.Page(
        PAGES / file,
        title=t(key, language),
        icon=icon,
        url_path=file.removesuffix(".py"),
        default=default,
    )


def _programme_page(language: Language, *, default: bool = False) -> st.Page:
    """The programme view (issue 18): a centre lead's page, and the nurse's and admin's too."""
    return _page(
        "programme.py", "nav_programme", ":material/monitoring:", language, default=default
    )


def _pages_for(role: str, language: Language) -> list[st.Page]:
    """The pages a role may use; the API enforces access, this only keeps the menu honest."""
    if role == "nurse":
        return [
            _page(
                "worklist.py",
                "nav_worklist",
                ":material/format_list_bulleted:",
                language,
                default=True,
            ),
            _page("patient.py", "nav_patient", ":material/person:", language),
            _page("plans.py", "nav_plans", ":material/assignment:", language),
            _page("enrolment.py", "nav_enrolment", ":material/person_add:", language),
            _page("notifications.py", "nav_notifications", ":material/outgoing_mail:", language),
            _programme_page(language),  # issue 18: page
        ]
    if role == "lead":  # issue 18: page — the centre lead sees the programme's figures only
        return [_programme_page(language, default=True)]
    if role == "gp":
        return [
            _page("gp_overview.py", "nav_gp", ":material/stethoscope:", language, default=True),
            _page("patient.py", "nav_patient", ":material/person:", language),
            _page("plans.py", "nav_plans", ":material/assignment:", language),
            _page("summary.py", "nav_summary", ":material/print:", language),
        ]
    return [
        _page("admin.py", "nav_admin", ":material/settings:", language, default=True),
        _page("notifications.py", "nav_notifications", ":material/outgoing_mail:", language),
        _programme_page(language),  # issue 18: page
    ]


def _sidebar(language: Language) -> None:
    with st.sidebar:
        chosen = st.radio(
            t("language", language),
            LANGUAGES,
            index=LANGUAGES.index(language),
            format_func=lambda code: {"nb": "Norsk (bokmål)", "en": "English"}[code],
            horizontal=True,
            key="language_choice",
        )
        if chosen != language:
            session.set_language(chosen)
            st.rerun()
        user = session.me()
        if user is not None:
            st.caption(
                f"{t('logged_in_as', language)} **{user.display_name}** "
                f"({role_word(user.role, language)})"
            )
            if st.button(t("logout", language), key="logout", icon=":material/logout:"):
                session.log_out()
                st.rerun()


def _remember_linked_alert() -> None:
    """A link ``/?alert=<id>`` (from an escalation message): its patient after the login."""
    linked = st.query_params.get("alert")
    if linked:
        session.after_login(Destination("alert", linked))
        del st.query_params["alert"]


def _sign_in_returned(language: Language) -> None:
    """The browser is back from a sign-in service (issue 20): ``?dho_handoff=<code>`` swaps the
    one-time code for DHO's tokens (then on to ``next``), ``?dho_login_error=<code>`` says on
    the login page why the sign-in was refused. Both parameters leave the address at once, so
    a reload or a bookmark never reuses them."""
    handoff = st.query_params.get(HANDOFF_PARAM)
    error = st.query_params.get(ERROR_PARAM)
    for name in (HANDOFF_PARAM, ERROR_PARAM, "next"):
        if name in st.query_params:
            del st.query_params[name]
    if error:
        session.login_notice(login_error_message(error, language))
        return
    if not handoff:
        return
    try:
        user, next_value = session.client().exchange_handoff(handoff)
    except ApiError as err:
        if err.status is None or err.status >= 500:
            session.login_notice(f"{err.title}  \n{err.detail}".strip())
        else:  # used, expired or unknown: the same advice
            session.login_notice(login_error_message("expired_attempt", language))
        return
    session.logged_in(user)
    session.after_login(destination(next_value))


def _open_destination(pages: list[st.Page], language: Language) -> None:
    """After the login: the patient the person was going to (a patient's GP view from the EPJ's
    launch, or a linked alert's patient) when the person's pages include the patient page."""
    going = session.take_after_login()
    patient_page = next((p for p in pages if p.url_path == "patient"), None)
    if going is None or patient_page is None:
        return
    patient = going.id
    if going.kind == "alert":
        try:
            patient = session.client().alert(going.id).patient_id
        except ApiError:
            session.flash_error(ApiError(404, t("alert_link_not_found", language)))
            return
    session.choose_patient(patient)
    st.switch_page(patient_page)


def _run(chosen: st.Page) -> None:
    """The page; a login the API ended on the way goes back to the login page, with a reason
    (never a stack trace)."""
    try:
        chosen.run()
    except ApiError as err:
        if err.is_unauthorised and session.me() is not None:
            session.session_ended()
        session.show_error(err)


def main() -> None:
    settings = DashboardSettings()
    st.set_page_config(page_title="DHO", page_icon="🩺", layout="wide")
    st.html(_STYLE)
    session.start(settings)
    language = session.language()
    _remember_linked_alert()
    _sign_in_returned(language)
    _sidebar(language)
    user = session.me()
    if user is None:
        pages = [_page("login.py", "login", ":material/login:", language, default=True)]
    else:
        pages = _pages_for(user.role, language)
    chosen = st.navigation(pages)
    if user is not None:
        _open_destination(pages, language)
    _run(chosen)


main()
