"""Innskriving: enrol a patient (trial period), start follow-up after the trial, pause, resume
and discharge; the patient's gateways — register one, give one a new secret (the credentials are
shown once and never kept), revoke one (after a confirmation)."""

from __future__ import annotations

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiClient, ApiError, GatewayCredentials, Patient
from dashboard.i18n import Language, t
from dashboard.presenters import (
    CONDITION_CODES,
    GatewayRow,
    condition_label,
    credentials_text,
    gateway_rows,
    patient_state_label,
)

PICKER = "enrolment_patient"
#: the gateway whose revocation waits for the nurse's confirmation
CONFIRM_REVOKE = "gateway_confirm_revoke"
#: the coded reasons for discharge (the API's DischargeCode), in the order offered
DISCHARGE_CODES = (
    "stable",
    "patient_withdrew",
    "could_not_use_equipment",
    "not_suitable",
    "nursing_home",
    "moved",
    "died",
    "other",
)


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
            t("gp", lang),
            list(gps),
            format_func=gps.__getitem__,
            index=None,
            placeholder=t("choose", lang),
            key="enrol_gp",
        )
        home_care = st.checkbox(t("home_care", lang), key="enrol_home_care")
        if st.form_submit_button(t("enrol", lang), type="primary"):
            body = {
                "display_name": name.strip(),
                "condition": condition,
                "centre_id": centre,
                "municipality_id": municipality,
                "national_id": national_id.strip() or None,
                "gp_user_id": gp,
                "home_care": home_care,
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


def _show_once(credentials: GatewayCredentials, lang: Language) -> None:
    """The credentials, this once: they are kept nowhere in the session."""
    st.warning(t("credentials_once", lang), icon="🔐")
    st.code(credentials_text(credentials), language="yaml")


def _revoke(client: ApiClient, row: GatewayRow, lang: Language) -> None:
    """Revoking cannot be undone: it waits for a second, explicit click."""
    st.warning(t("revoke_confirm", lang, gateway=row.gateway_id), icon="⛔")
    yes, no = st.columns(2)
    if yes.button(t("revoke_yes", lang), key=f"revoke-yes-{row.gateway_id}", type="primary"):
        st.session_state.pop(CONFIRM_REVOKE, None)
        try:
            client.revoke_gateway(row.gateway_id)
        except ApiError as err:
            session.show_error(err)
            return
        session.flash(t("revoked", lang, gateway=row.gateway_id))
        st.rerun()
    if no.button(t("cancel", lang), key=f"revoke-no-{row.gateway_id}"):
        st.session_state.pop(CONFIRM_REVOKE, None)
        st.rerun()


def _gateway_row(client: ApiClient, row: GatewayRow, lang: Language) -> None:
    with st.container(border=True, key=f"gateway-{row.gateway_id}"):
        info, rotate, revoke = st.columns([4, 1.4, 1.4], vertical_alignment="center")
        info.markdown(
            f"📟 `{row.gateway_id}` · {row.state}  \n{t('last_seen', lang)}: {row.last_seen}"
        )
        if not row.can_change:
            return
        if rotate.button(t("rotate", lang), key=f"rotate-{row.gateway_id}", icon="🔑"):
            try:
                credentials = client.rotate_gateway(row.gateway_id)
            except ApiError as err:
                session.show_error(err)
            else:
                st.success(t("rotated", lang, gateway=row.gateway_id), icon="🔑")
                _show_once(credentials, lang)
        if revoke.button(t("revoke", lang), key=f"revoke-{row.gateway_id}", icon="⛔"):
            st.session_state[CONFIRM_REVOKE] = row.gateway_id
        if st.session_state.get(CONFIRM_REVOKE) == row.gateway_id:
            _revoke(client, row, lang)


def _gateways(client: ApiClient, patient: Patient, lang: Language) -> None:
    st.markdown(f"**{t('gateways', lang)}**")
    rows = gateway_rows(client.gateways(patient.id), session.now(), lang)
    if not rows:
        st.caption(t("no_gateways", lang))
    for row in rows:
        _gateway_row(client, row, lang)
    if st.button(t("register_gateway", lang), key="register_gateway", icon="📟"):
        try:
            credentials = client.register_gateway(patient.id)
        except ApiError as err:
            session.show_error(err)
            return
        _show_once(credentials, lang)


def _state(client: ApiClient, patient: Patient, lang: Language) -> None:
    state = patient_state_label(patient.state, lang)
    st.markdown(f"**{t('state', lang)}:** {state} {patient.state_reason or ''}")
    reason = st.text_input(t("reason", lang), key="state_reason")
    code = st.selectbox(
        t("discharge_code", lang),
        DISCHARGE_CODES,
        format_func=lambda c: t(f"discharge_code_{c}", lang),
        index=None,
        placeholder=t("choose", lang),
        key="state_discharge_code",
    )
    actions: list[tuple[str, str, bool]] = []
    if patient.state == "trial":
        actions.append(("activate", f"▶️ {t('activate', lang)}", False))
    if patient.state in {"trial", "active"}:
        actions.append(("pause", f"⏸ {t('pause', lang)}", True))
    if patient.state == "paused":
        actions.append(("resume", f"▶️ {t('resume', lang)}", False))
    actions.append(("discharge", f"⏹ {t('discharge', lang)}", True))
    for col, (action, label, needs_reason) in zip(st.columns(len(actions)), actions, strict=True):
        if col.button(label, key=f"state-{action}"):
            body: dict[str, str] | None = {"reason": reason} if needs_reason else None
            if action == "discharge":
                if code is None or len(reason.strip()) < 3:
                    st.error(t("discharge_code_needed", lang))
                    continue
                body = {"reason": reason, "code": code}
            try:
                changed = client.change_state(patient.id, action, body)
            except ApiError as err:
                session.show_error(err)
            else:
                session.flash(
                    t("state_changed", lang, state=patient_state_label(changed.state, lang))
                )
                st.rerun()


def _page(lang: Language) -> None:
    st.title(f"➕ {t('enrol_title', lang)}")
    session.show_flash()
    client = session.client()
    patients = client.patients()
    _enrol(client, patients, lang)
    by_id = {p.id: p for p in patients if p.state != "discharged"}
    picked = session.pick_patient(by_id, PICKER, lang)
    if picked is None:
        return
    with st.container(border=True):
        _state(client, by_id[picked], lang)
        _gateways(client, by_id[picked], lang)


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
