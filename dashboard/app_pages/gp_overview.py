"""The fastlege's five minutes: own patients only (the API's scope), who deviated from the
egenbehandlingsplan since the GP last looked — worst first (red, then yellow, the newest
deviation first within a colour) — each deviation with its reason and what the follow-up
centre did; the patients without deviations folded into one line; the newest draft of each
plan with its changes against the version in use, to approve; the printable summary per
patient; and the GP's choice of a daily or weekly summary by e-mail (counts only, never
anything acute)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiClient, ApiError, Patient
from dashboard.gp_presenters import DraftToApprove, PatientDeviations, gp_overview, newest_drafts
from dashboard.i18n import Language, t
from dashboard.plan_presenters import diff_lines
from dashboard.presenters import (
    DIGEST_FREQUENCIES,
    colour_badge_markdown,
    condition_label,
    deviation,
    deviations_by_patient,
    digest_frequency_label,
    format_datetime,
    since_last_look,
)

#: when the overview on the screen was fetched: "mark as seen" marks through then, so a
#: deviation that arrived while the GP read is shown next time
_SHOWN_AT = "gp_overview_shown_at"


def _deviations(item: PatientDeviations, lang: Language) -> None:
    patient = item.patient
    with st.container(border=True, key=f"gp-{patient.id}"):
        head, go = st.columns([5, 1], vertical_alignment="center")
        head.markdown(
            f"{colour_badge_markdown(item.colour, lang)} **{patient.display_name}** · "
            f"{condition_label(patient.condition, lang)}"
        )
        _summary_button(go, patient, lang)
        for alert in item.alerts:
            found = deviation(alert, session.now(), lang)
            st.markdown(f"{found.badge} **{found.reason}** · {found.when}")
            st.markdown(
                "\n".join(f"  - {t('centre_did', lang)}: {did}" for did in found.centre_did)
            )


def _summary_button(where: Any, patient: Patient, lang: Language) -> None:
    if where.button(t("nav_summary", lang), key=f"summary-{patient.id}", icon="🖨️"):
        session.choose_patient(patient.id)
        st.switch_page("app_pages/summary.py")


def _without(patients: Sequence[Patient], lang: Language) -> None:
    """One line for every patient without deviations, their names (and summaries) folded."""
    if not patients:
        return
    key = "without_deviations_one" if len(patients) == 1 else "without_deviations"
    with st.expander(t(key, lang, count=len(patients))):
        for patient in patients:
            name, go = st.columns([5, 1], vertical_alignment="center")
            name.markdown(
                f"**{patient.display_name}** · {condition_label(patient.condition, lang)}"
            )
            _summary_button(go, patient, lang)


def _draft(client: ApiClient, item: DraftToApprove, lang: Language) -> None:
    """The newest draft of a plan with what it changes against the version in use, then
    "Godkjenn"."""
    draft = item.draft
    label = f"{t('plan', lang)} v{draft.version}"
    with st.container(border=True, key=f"draft-{draft.plan_id}"):
        st.markdown(
            f"📝 **{draft.patient_name}** · {label}" + (f" — {draft.note}" if draft.note else "")
        )
        if draft.changes is None:
            st.caption(t("draft_first_plan", lang))
        else:
            st.caption(t("draft_changes", lang, version=draft.in_use_version))
            lines = diff_lines(draft.changes, lang)
            st.markdown("\n".join(f"- {line}" for line in lines) or t("diff_none", lang))
            if draft.changes.get("looser"):
                st.warning(t("diff_looser_count", lang, count=draft.changes["looser"]), icon="⚠️")
        if item.older:
            key = "older_drafts_one" if item.older == 1 else "older_drafts"
            st.caption(t(key, lang, count=item.older))
        if st.button(
            t("approve", lang), key=f"approve-{draft.plan_id}-{draft.version}", type="primary"
        ):
            try:
                client.approve_plan(draft.plan_id, draft.version)
            except ApiError as err:
                session.show_error(err)
            else:
                session.flash(t("approved", lang, label=label))
                st.rerun()


def _mark_seen(client: ApiClient, lang: Language, now: datetime) -> None:
    """Explicitly, never on view: a GP called away mid-overview finds it unchanged."""
    shown_at: datetime = st.session_state.get(_SHOWN_AT) or now
    try:
        client.mark_overview_seen(min(shown_at, now))
    except ApiError as err:
        session.show_error(err)
        return
    session.flash(t("marked_seen", lang))
    st.rerun()


def _digest(client: ApiClient, lang: Language) -> None:
    """ "Oppsummering på e-post": none, daily or weekly, to an address the GP gives; a plain
    note when the operator has not set up sending."""
    try:
        current = client.digest()
    except ApiError as err:
        session.show_error(err)
        return
    with st.container(border=True, key="digest"):
        st.subheader(f"✉️ {t('digest_title', lang)}")
        st.caption(t("digest_caption", lang))
        if not current.sending_configured:
            st.info(t("digest_not_configured", lang), icon="ℹ️")
        choices = list(DIGEST_FREQUENCIES)
        with st.form("digest_form"):
            frequency = st.radio(
                t("digest_frequency", lang),
                choices,
                index=choices.index(current.frequency),
                format_func=lambda f: digest_frequency_label(f, lang),
                horizontal=True,
                key="digest_frequency",
            )
            email = st.text_input(
                t("digest_email", lang), value=current.email or "", key="digest_email"
            )
            if not st.form_submit_button(t("digest_save", lang), key="digest_submit"):
                return
        try:
            saved = client.set_digest(frequency, email.strip() or None)
        except ApiError as err:
            session.show_error(err)
            return
        choice = digest_frequency_label(saved.frequency, lang)
        if saved.email and saved.frequency != "none":
            choice = f"{choice}, {saved.email}"
        session.flash(t("digest_saved", lang, choice=choice))
        st.rerun()


def _page(lang: Language) -> None:
    st.title(f"🩺 {t('gp_title', lang)}")
    st.caption(t("gp_caption", lang))
    session.show_flash()
    client = session.client()
    now = session.now()
    look = client.overview_seen()
    since = since_last_look(look, now)
    left, right = st.columns([4, 1], vertical_alignment="center")
    never = f" — {t('never_looked', lang)}" if look.seen_through is None else ""
    left.markdown(f"**{t('since_last_look', lang)}:** {format_datetime(since)}{never}")
    if right.button(t("mark_seen", lang), key="mark_seen", icon="👁️"):
        _mark_seen(client, lang, now)
    by_patient = deviations_by_patient(client.deviations(since))
    drafts = newest_drafts(client.plan_drafts())  # one request for every patient's drafts
    st.session_state[_SHOWN_AT] = now
    overview = gp_overview(client.patients(), by_patient)
    st.caption(t("gp_order_caption", lang))
    for item in overview.deviated:
        _deviations(item, lang)
    if not overview.deviated:
        st.info(t("no_deviations_anyone", lang), icon="✅")
    if drafts:
        st.subheader(f"📝 {t('drafts_to_approve', lang)}")
        for patient_drafts in drafts.values():
            for found in patient_drafts:
                _draft(client, found, lang)
    _without(overview.without, lang)
    _digest(client, lang)


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
