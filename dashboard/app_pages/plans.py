"""Egenbehandlingsplaner: versions, a new draft from a condition template, the trial period's
proposed thresholds next to the template's, editing zone bounds into a new draft, approving a
draft (the API decides who may), and the differences between two versions."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiClient, ApiError, PlanVersionSummary
from dashboard.i18n import Language, t
from dashboard.presenters import (
    CONDITION_CODES,
    bounds_text,
    condition_label,
    format_datetime,
    parameter_label,
)

BOUNDS = ("red_low", "yellow_low", "yellow_high", "red_high")


def _pick_patient(client: ApiClient, lang: Language) -> str | None:
    patients = {p.id: p for p in client.patients() if p.state != "discharged"}
    ids = list(patients)
    chosen = session.patient_id()
    picked = st.selectbox(
        t("choose_patient", lang),
        ids,
        index=ids.index(chosen) if chosen in ids else None,
        format_func=lambda pid: patients[pid].display_name,
        key="plans_patient",
    )
    if picked is not None:
        session.choose_patient(picked)
    return picked


def _versions(versions: list[PlanVersionSummary], lang: Language) -> None:
    st.subheader(t("versions", lang))
    st.dataframe(
        [
            {
                "v": v.version,
                t("state", lang): t(f"status_{v.status}", lang),
                t("time", lang): format_datetime(v.created_at),
                "👤": v.created_by or "",
                t("approve", lang): v.approved_by or "",
                t("note", lang): v.note or "",
            }
            for v in versions
        ],
        hide_index=True,
        width="stretch",
    )


def _from_template(client: ApiClient, patient_id: str, lang: Language) -> None:
    with st.form("plan_template"):
        st.markdown(f"**{t('new_from_template', lang)}**")
        condition = st.selectbox(
            t("condition", lang),
            CONDITION_CODES,
            format_func=lambda c: condition_label(c, lang),
            key="template_condition",
        )
        note = st.text_input(t("why", lang), key="template_note")
        if st.form_submit_button(t("create", lang)):
            try:
                draft = client.plan_from_template(patient_id, condition, note or "")
            except ApiError as err:
                session.show_error(err)
            else:
                session.flash(t("draft_saved", lang, label=f"v{draft.version}"))
                st.rerun()


def _proposal(client: ApiClient, patient_id: str, lang: Language) -> None:
    with st.expander(t("proposal", lang)):
        try:
            proposal = client.plan_proposal(patient_id)
        except ApiError as err:
            session.show_error(err)
            return
        rule = proposal.get("rule") or {}
        st.caption(str(rule.get(lang) or rule.get("nb") or ""))
        rows = []
        for item in proposal.get("parameters") or []:
            red_t, yellow_t = bounds_text(item.get("template") or {})
            red_p, yellow_p = bounds_text(item.get("proposed") or {})
            text = item.get("text") or {}
            rows.append(
                {
                    t("value", lang): parameter_label(str(item.get("parameter")), lang),
                    "n": item.get("n"),
                    "median": item.get("median"),
                    "mal rød / template red": red_t,
                    "forslag rød / proposed red": red_p,
                    "mal gul / template yellow": yellow_t,
                    "forslag gul / proposed yellow": yellow_p,
                    "": str(text.get(lang) or text.get("nb") or ""),
                }
            )
        st.dataframe(rows, hide_index=True, width="stretch")


def _edit(client: ApiClient, latest: PlanVersionSummary, lang: Language) -> None:
    plan = client.plan_version(latest.plan_id, latest.version)
    zones: dict[str, Any] = dict(plan.document.get("zones") or {})
    with st.form("plan_edit"):
        st.markdown(f"**{t('edit_bounds', lang)}** (v{latest.version})")
        changed: dict[str, dict[str, float | None]] = {}
        for parameter, bounds in zones.items():
            st.markdown(parameter_label(parameter, lang))
            cols = st.columns(len(BOUNDS))
            for col, name in zip(cols, BOUNDS, strict=True):
                raw = bounds.get(name)
                current = (
                    None if raw is None else float(raw["value"] if isinstance(raw, dict) else raw)
                )
                value = col.number_input(
                    name, value=current, key=f"bound-{parameter}-{name}", format="%g"
                )
                if value != current:
                    changed.setdefault(parameter, {})[name] = value
        note = st.text_input(t("why", lang), key="edit_note")
        if st.form_submit_button(t("save_draft", lang)):
            try:
                draft = client.new_plan_version(
                    latest.plan_id, {"zones": changed}, note, base_version=latest.version
                )
            except ApiError as err:
                session.show_error(err)
            else:
                session.flash(t("draft_saved", lang, label=f"v{draft.version}"))
                st.rerun()


def _approve(client: ApiClient, versions: list[PlanVersionSummary], lang: Language) -> None:
    newest = versions[0] if versions else None
    if newest is None or newest.status != "draft":
        return
    if st.button(f"{t('approve', lang)} v{newest.version}", key="approve_draft", type="primary"):
        try:
            client.approve_plan(newest.plan_id, newest.version)
        except ApiError as err:
            session.show_error(err)
        else:
            session.flash(t("approved", lang, label=f"v{newest.version}"))
            st.rerun()


def _diff(client: ApiClient, versions: list[PlanVersionSummary], lang: Language) -> None:
    if len(versions) < 2:
        return
    st.subheader(t("diff", lang))
    numbers = [v.version for v in versions]
    left, right = st.columns(2)
    older = left.selectbox("fra / from", numbers, index=1, key="diff_from")
    newer = right.selectbox("til / to", numbers, index=0, key="diff_to")
    if older == newer:
        return
    try:
        diff = client.plan_diff(versions[0].plan_id, min(older, newer), max(older, newer))
    except ApiError as err:
        session.show_error(err)
        return
    for change in diff.get("changes") or []:
        text = change.get("text") or {}
        st.markdown(f"- {text.get(lang) or text.get('nb') or change.get('path')}")
    if diff.get("looser"):
        st.warning(f"⚠ {diff['looser']} × looser / løsere", icon="⚠️")


def _page(lang: Language) -> None:
    st.title(f"📝 {t('plans_title', lang)}")
    session.show_flash()
    client = session.client()
    patient_id = _pick_patient(client, lang)
    if patient_id is None:
        return
    versions = sorted(client.plan_versions(patient_id), key=lambda v: -v.version)
    _versions(versions, lang)
    _approve(client, versions, lang)
    left, right = st.columns(2)
    with left:
        _from_template(client, patient_id, lang)
    with right:
        _proposal(client, patient_id, lang)
    if versions:
        _edit(client, versions[0], lang)
    _diff(client, versions, lang)


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
