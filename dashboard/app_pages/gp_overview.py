"""The fastlege's five minutes: own patients only (the API's scope), who deviated from the
egenbehandlingsplan since the GP last looked, each deviation with its reason and what the
follow-up centre did; plan drafts waiting for approval; the printable summary per patient."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiClient, ApiError, Patient
from dashboard.i18n import Language, t
from dashboard.presenters import (
    colour_badge_markdown,
    condition_label,
    deviation,
    drafts,
    format_datetime,
    worst_colour,
)

_LAST_LOOK = "gp_last_look"
DEFAULT_LOOK_BACK = timedelta(days=7)


def _since() -> datetime:
    found: datetime | None = st.session_state.get(_LAST_LOOK)
    return found or session.now() - DEFAULT_LOOK_BACK


def _deviations(client: ApiClient, patient: Patient, since: datetime, lang: Language) -> None:
    alerts = [a for a in client.alerts(patient.id, state="all") if a.opened_at >= since]
    colour = worst_colour(a.colour for a in alerts if a.resolved_at is None)
    with st.container(border=True, key=f"gp-{patient.id}"):
        head, go = st.columns([5, 1], vertical_alignment="center")
        head.markdown(
            f"{colour_badge_markdown(colour, lang)} **{patient.display_name}** · "
            f"{condition_label(patient.condition, lang)}"
        )
        if go.button(t("nav_summary", lang), key=f"summary-{patient.id}", icon="🖨️"):
            session.choose_patient(patient.id)
            st.switch_page("app_pages/summary.py")
        if not alerts:
            st.caption(t("no_deviations", lang))
        user = session.me()
        names = {user.user_id: user.username} if user else {}
        for alert in alerts:
            found = deviation(client.alert(alert.id), session.now(), lang, names)
            st.markdown(f"{found.badge} **{found.reason}** · {found.when}")
            st.markdown(
                "\n".join(f"  - {t('centre_did', lang)}: {did}" for did in found.centre_did)
            )
        for draft in drafts(client.plan_versions(patient.id)):
            label = f"{t('plan', lang)} v{draft.version}"
            left, right = st.columns([5, 1], vertical_alignment="center")
            left.warning(
                f"**{t('drafts_to_approve', lang)}:** {label} — {draft.note or ''}", icon="📝"
            )
            if right.button(
                t("approve", lang), key=f"approve-{draft.plan_id}-{draft.version}", type="primary"
            ):
                try:
                    client.approve_plan(draft.plan_id, draft.version)
                except ApiError as err:
                    session.show_error(err)
                else:
                    session.flash(t("approved", lang, label=label))
                    st.rerun()


def _page(lang: Language) -> None:
    st.title(f"🩺 {t('gp_title', lang)}")
    st.caption(t("gp_caption", lang))
    session.show_flash()
    since = _since()
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.markdown(f"**{t('since_last_look', lang)}:** {format_datetime(since)}")
    if right.button(t("mark_seen", lang), key="mark_seen", icon="👁️"):
        st.session_state[_LAST_LOOK] = session.now()
        st.rerun()
    client = session.client()
    for patient in client.patients():
        if patient.state != "discharged":
            _deviations(client, patient, since, lang)


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
