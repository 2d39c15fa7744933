"""A printable one-page summary of one patient for the fastlege: who, the plan in use with its
bounds, the last 30 days by colour, the deviations and what the follow-up centre did."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiError
from dashboard.i18n import Language, t
from dashboard.presenters import (
    bounds_text,
    colour_badge,
    condition_label,
    deviation,
    format_datetime,
    parameter_label,
)

DAYS = 30


def _page(lang: Language) -> None:
    client = session.client()
    patients = {p.id: p for p in client.patients()}
    picked = session.pick_patient(patients, "summary_patient", lang)
    if picked is None:
        return
    session.choose_patient(picked)
    patient = patients[picked]
    now = session.now()
    since = now - timedelta(days=DAYS)
    st.caption(t("print_hint", lang))
    st.title(f"{t('summary_title', lang)}: {patient.display_name}")
    st.markdown(
        f"**{t('condition', lang)}:** {condition_label(patient.condition, lang)} · "
        f"**{t('gp', lang)}:** {patient.gp_name or '–'} · "
        f"**{t('centre', lang)}:** {patient.centre_name} · {format_datetime(since)} – "
        f"{format_datetime(now)}"
    )
    plan = client.plan_in_use(picked)
    if plan is not None:
        st.markdown(
            f"**{t('plan', lang)}** {t('plan_version', lang, version=plan.version)} · "
            f"**{t('goal', lang)}:** {plan.document.get('goal') or t('no_goal', lang)}"
        )
        rows = []
        for parameter, zones in (plan.document.get("zones") or {}).items():
            red, yellow = bounds_text(zones, lang)
            rows.append(
                {
                    t("value", lang): parameter_label(parameter, lang),
                    colour_badge("red", lang): red,
                    colour_badge("yellow", lang): yellow,
                }
            )
        st.table(rows)
    readings = client.readings(picked, since=since)
    tally = Counter(r.colour for r in readings)
    st.markdown(
        " · ".join(
            f"{colour_badge(c, lang)}: {tally.get(c, 0)}" for c in ("red", "yellow", "green")
        )
    )
    alerts = client.alerts(picked, state="all", opened_since=since, history=True)
    if not alerts:
        st.markdown(t("no_deviations", lang))
    for alert in alerts:
        found = deviation(alert, now, lang)
        st.markdown(
            f"- {found.badge} **{found.reason}** · {found.when}  \n  " + "; ".join(found.centre_did)
        )


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
