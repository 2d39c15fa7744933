"""Log in through the API (``POST /auth/login``); a refusal shows the API's reason."""

from __future__ import annotations

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiError
from dashboard.i18n import t
from dashboard.presenters import login_refusal

lang = session.language()
st.title(f"🩺 {t('app_title', lang)}")
st.write(t("login_intro", lang))

with st.form("login", border=True, clear_on_submit=True):
    username = st.text_input(t("username", lang), key="login_username")
    password = st.text_input(t("password", lang), type="password", key="login_password")
    submitted = st.form_submit_button(t("login", lang), type="primary")

if submitted:
    try:
        user = session.client().login(username.strip(), password)
    except ApiError as err:
        st.error(f"**{t('login_failed', lang)}**  \n{login_refusal(err, lang)}", icon="🔒")
    else:
        session.logged_in(user)
        st.rerun()
