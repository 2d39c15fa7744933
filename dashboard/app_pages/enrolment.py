"""Innskriving: enrol a patient (trial period), register their gateway (the credentials are
shown once and never kept), start follow-up after the trial, pause, resume and discharge."""

from __future__ import annotations

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiClient, ApiError, Patient
from dashboard.i18n import Language, t
from dashboard.presenters import CONDITION_CODES, condition_label, format_time

PICKER = "enrolment_patient"


def _enrol(client: ApiClient, patients: list[Patient], lang: Language) -> None:
    """Centres, municipalities and GPs are offered from the nurse's own patients (a nurse
    cannot list them otherwise)."""
    centres = {p.centre_id: p.centre_name for p in patients}
    municipalities = {p.municipality_id: p.municipality_name for p in patients}
    gps = {p.gp_user_id: p.gp_name or p.gp_user_id for p in patients if p.gp_user_id}
    with st.form("enrol", clear_on_submit=True):
        st.subheader(t("enrol_title", lang))
        name = st.text_input(t("display_name", lang), key="enrol_name")
        national_id = st.text_input(t("national_id", lang), key="enrol_national_id")
        condition = st.selectbox(
            t("condition", lang),
            CONDITION_CODES,
            format_func=lambda c: condition_label(c, lang),
            key="enrol_condition",
        )
        left, middle, right = st.columns(3)
        centre = left.selectbox(
            t("centre", lang), list(centres), format_func=centres.__getitem__, key="enrol_centre"
        )
        municipality = middle.selectbox(
            t("municipality_id", lang),
            list(municipalities),
            format_func=municipalities.__getitem__,
            key="enrol_municipality",
        )
        gp = right.selectbox(
            t("gp", lang), list(gps), format_func=gps.__getitem__, index=None, key="enrol_gp"
        )
        if st.form_submit_button(t("enrol", lang), type="primary"):
            body = {
                "display_name": name.strip(),
                "condition": condition,
                "centre_id": centre,
                "municipality_id": municipality,
                "national_id": national_id.strip() or None,
                "gp_user_id": gp,
            }
            try:
                patient = client.enrol(body)
            except ApiError as err:
                session.show_error(err)
            else:
                session.choose_patient(patient.id)
                st.session_state[PICKER] = patient.id
                session.flash(t("enrolled", lang, name=patient.display_name))
                st.rerun()


def _gateway(client: ApiClient, patient: Patient, lang: Language) -> None:
    gateways = client.gateways(patient.id)
    now = session.now()
    for gateway in gateways:
        state = "⛔" if gateway.revoked_at else ("🟢 online" if gateway.online else "⚪ offline")
        st.caption(f"`{gateway.id}` · {state} · {format_time(gateway.last_seen_at, now)}")
    if st.button(t("register_gateway", lang), key="register_gateway", icon="📟"):
        try:
            credentials = client.register_gateway(patient.id)
        except ApiError as err:
            session.show_error(err)
            return
        # shown once, never stored in the session
        st.warning(t("credentials_once", lang), icon="🔐")
        st.code(
            f"gateway_id: {credentials.gateway_id}\nsecret: {credentials.secret}\n"
            f"mqtt_username: {credentials.mqtt_username}\n"
            f"mqtt_topic_prefix: {credentials.mqtt_topic_prefix}\n"
            f"http_token: {credentials.http_token}",
            language="yaml",
        )


def _state(client: ApiClient, patient: Patient, lang: Language) -> None:
    st.markdown(f"**{t('state', lang)}:** {patient.state} {patient.state_reason or ''}")
    reason = st.text_input(t("reason", lang), key="state_reason")
    actions: list[tuple[str, str, bool]] = []
    if patient.state == "trial":
        actions.append(("activate", "▶️ Start", False))
    if patient.state in {"trial", "active"}:
        actions.append(("pause", f"⏸ {t('pause', lang)}", True))
    if patient.state == "paused":
        actions.append(("resume", f"▶️ {t('resume', lang)}", False))
    actions.append(("discharge", f"⏹ {t('discharge', lang)}", True))
    for col, (action, label, needs_reason) in zip(st.columns(len(actions)), actions, strict=True):
        if col.button(label, key=f"state-{action}"):
            try:
                changed = client.change_state(
                    patient.id, action, {"reason": reason} if needs_reason else None
                )
            except ApiError as err:
                session.show_error(err)
            else:
                session.flash(t("state_changed", lang, state=changed.state))
                st.rerun()


def _page(lang: Language) -> None:
    st.title(f"➕ {t('enrol_title', lang)}")
    session.show_flash()
    client = session.client()
    patients = client.patients()
    _enrol(client, patients, lang)
    by_id = {p.id: p for p in patients if p.state != "discharged"}
    ids = list(by_id)
    chosen = session.patient_id()
    picked = st.selectbox(
        t("choose_patient", lang),
        ids,
        index=ids.index(chosen) if chosen in ids else None,
        format_func=lambda pid: by_id[pid].display_name,
        key=PICKER,
    )
    if picked is None:
        return
    with st.container(border=True):
        _state(client, by_id[picked], lang)
        _gateway(client, by_id[picked], lang)


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
