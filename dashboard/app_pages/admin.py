"""Administration: the users (admins see patient data only with a reason, through the API)."""

from __future__ import annotations

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiError
from dashboard.i18n import t

language = session.language()
st.title(f"⚙️ {t('nav_admin', language)}")
st.caption(t("admin_intro", language))
try:
    users = session.client().users()
except ApiError as error:
    session.show_error(error)
else:
    st.dataframe(
        [
            {
                t("username", language): u.get("username"),
                t("display_name", language): u.get("display_name"),
                "role": u.get("role"),
                "active": u.get("active"),
            }
            for u in users
        ],
        hide_index=True,
        width="stretch",
    )
