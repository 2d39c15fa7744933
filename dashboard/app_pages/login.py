"""Log in: one button per sign-in service the API offers (``GET /auth/oidc/providers``: "Logg inn
med HelseID"), and the password form (``POST /auth/login``) unless the API has turned it off; a
refusal — from the form or from the sign-in service — shows why and what the person can do."""

from __future__ import annotations

from html import escape

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiError, SignInOptions
from dashboard.i18n import Language, t
from dashboard.presenters import login_refusal
from dashboard.sign_in import provider_button_label, start_link

#: the provider buttons are plain links, followed in this tab (Streamlit's link button opens a
#: new one): the sign-in leaves the dashboard and comes back to it
_BUTTON_STYLE = """
<style>
a.dho-sign-in {
  display: inline-block; padding: 0.6rem 1.4rem; margin: 0.2rem 0.6rem 0.6rem 0;
  border-radius: 0.5rem; background: #005b82; color: #ffffff !important;
  font-weight: 600; text-decoration: none !important; font-size: 1.05rem;
}
a.dho-sign-in:hover, a.dho-sign-in:focus { background: #00425e; outline: 3px solid #f2b500; }
</style>
"""


def _options(lang: Language) -> SignInOptions:
    """The API's sign-in services; an API without them (or not answering) keeps the form."""
    try:
        return session.client().sign_in_options()
    except ApiError as err:
        if err.status not in (404, 405):
            st.warning(f"**{t('login_providers_unavailable', lang)}**  \n{err.title}", icon="⚠️")
        return SignInOptions()


def _provider_buttons(options: SignInOptions, lang: Language) -> None:
    api_url = session.settings().api_public_base
    next_value = session.pending_next()
    links = "".join(
        f'<a class="dho-sign-in" data-provider="{escape(p.id)}" '
        f'href="{escape(start_link(p.start_url, api_url, next_value))}">'
        f"{escape(provider_button_label(p.label, lang))}</a>"
        for p in options.providers
    )
    st.html(_BUTTON_STYLE + f'<div class="dho-sign-in-buttons">{links}</div>')


def _password_form(lang: Language) -> None:
    with st.form("login", border=True, clear_on_submit=True):
        username = st.text_input(t("username", lang), key="login_username")
        password = st.text_input(t("password", lang), type="password", key="login_password")
        submitted = st.form_submit_button(t("login", lang), type="primary")
    if not submitted:
        return
    try:
        user = session.client().login(username.strip(), password)
    except ApiError as err:
        st.error(f"**{t('login_failed', lang)}**  \n{login_refusal(err, lang)}", icon="🔒")
    else:
        session.logged_in(user)
        st.rerun()


lang = session.language()
st.title(f"🩺 {t('app_title', lang)}")
session.show_login_notice()
options = _options(lang)
if options.providers:
    st.write(t("login_intro_oidc", lang))
    _provider_buttons(options, lang)
if options.password_login:
    if options.providers:
        st.subheader(t("login_password_heading", lang))
    else:
        st.write(t("login_intro", lang))
    _password_form(lang)
elif not options.providers:
    st.error(t("login_no_way", lang), icon="🔒")
