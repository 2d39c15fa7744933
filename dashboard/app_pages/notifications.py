"""Sendte varsler: what DHO has sent about red alerts (and test messages and GP summaries) for a
centre, newest first, each with its status in words; opened, one shows the message, and on
request its attempts with the provider's answers. For the centre's nurses and administrators
(an administrator gives a reason: the list names patients)."""

from __future__ import annotations

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiClient, ApiError, Notification
from dashboard.i18n import Language, t
from dashboard.presenters import (
    NOTIFICATION_STATUSES,
    attempt_lines,
    notification_views,
)

#: the notifications whose attempts the person asked to see (ids)
_SHOWN = "notifications_attempts_shown"


def _centres(client: ApiClient, admin: bool) -> dict[str, str]:
    """The centres the person may look at: id → name."""
    if admin:
        return {c.id: c.name for c in client.centres()}
    return {h.centre_id: h.centre_name for h in client.service_hours()}


def _show_attempts(notification_id: str) -> None:
    shown: set[str] = st.session_state.setdefault(_SHOWN, set())
    shown.add(notification_id)


def _attempts(client: ApiClient, found: Notification, reason: str | None, lang: Language) -> None:
    if found.id not in st.session_state.get(_SHOWN, set()):
        st.button(
            t("n_show_attempts", lang),
            key=f"attempts-{found.id}",
            on_click=_show_attempts,
            args=(found.id,),
        )
        return
    detail = client.notification(found.id, reason)
    lines = attempt_lines(detail, session.now(), lang)
    st.markdown(f"**{t('n_show_attempts', lang)}**")
    st.markdown("\n".join(f"- {line}" for line in lines) if lines else t("n_no_attempts", lang))


def _page(lang: Language) -> None:
    st.title(f"📨 {t('notifications_title', lang)}")
    st.caption(t("notifications_caption", lang))
    client = session.client()
    user = session.me()
    admin = user is not None and user.role == "admin"
    centres = _centres(client, admin)
    if not centres:
        st.info(t("no_notifications", lang))
        return
    ids = list(centres)
    left, right = st.columns([3, 2])
    centre = left.selectbox(
        t("centre", lang), ids, format_func=centres.__getitem__, key="notifications_centre"
    )
    status = right.segmented_control(
        t("n_status", lang),
        ["", *NOTIFICATION_STATUSES],
        format_func=lambda s: t(f"n_status_{s}", lang) if s else t("n_all", lang),
        default="",
        key="notifications_status",
    )
    reason: str | None = None
    if admin:
        reason = st.text_input(t("admin_reason", lang), key="notifications_reason") or None
    found = client.notifications(centre, status=status or None, reason=reason)
    if not found:
        st.info(t("no_notifications", lang), icon="📭")
        return
    now = session.now()
    by_id = {n.id: n for n in found}
    for view in notification_views(found, now, lang):
        head = f"{view.when} · {view.kind} · {view.recipient} · {view.status}"
        with st.expander(head):
            st.markdown(
                f"**{t('n_patient', lang)}:** {view.patient}  \n"
                f"**{t('n_attempts', lang)}:** {view.attempts}"
                + (
                    f"  \n**{t('n_last_error', lang)}:** {view.last_error}"
                    if view.last_error
                    else ""
                )
            )
            item = by_id[view.notification_id]
            if item.body:
                st.markdown(f"**{t('n_message', lang)}:** {item.title}")
                st.code(item.body, language=None, wrap_lines=True)
            _attempts(client, item, reason, lang)


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
