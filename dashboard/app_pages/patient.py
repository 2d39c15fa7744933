"""One patient: header (condition, fastlege, plan version, the patient's goal), the open alerts
with their handling (acknowledge → resolve in two clicks, the plan's nurse instruction in view)
and, for a red one, its escalation (who was told when, whether it arrived, what the patient was
told), the plan's advice for the current zone, charts with zone bands, and the timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

from dashboard import session
from dashboard.api_client import (
    AlertDetail,
    ApiClient,
    ApiError,
    Colleague,
    Patient,
    PlanVersion,
)
from dashboard.charts import parameter_chart, reports_chart
from dashboard.i18n import Language, t
from dashboard.presenters import (
    JOURNAL_RULES,
    OUTCOME_CODES,
    assigned_text,
    assignee_options,
    colour_badge,
    colour_badge_markdown,
    condition_label,
    escalation_steps,
    format_time,
    is_notification_alert,
    message_status,
    outcome_label,
    parameter_label,
    person_text,
    reason_text,
    series_by_parameter,
    time_since,
    timeline_rows,
    worst_colour,
    zone_advice,
)

DAYS_SHOWN = 30


def _choose(client: ApiClient, lang: Language) -> str | None:
    """The patient chosen on the worklist, or one picked here."""
    chosen = session.patient_id() or st.query_params.get("patient")
    if chosen:
        return chosen
    st.info(t("no_patient", lang), icon="👈")
    patients = client.patients()
    by_id = {p.id: p.display_name for p in patients}
    return st.selectbox(
        t("choose_patient", lang),
        list(by_id),
        format_func=by_id.__getitem__,
        index=None,
        placeholder=t("choose", lang),
    )


def _header(patient: Patient, plan: PlanVersion | None, colour: str, lang: Language) -> None:
    st.title(f"{patient.display_name}")
    st.markdown(f"### {colour_badge_markdown(colour, lang)}")
    cols = st.columns(4)
    cols[0].markdown(f"**{t('condition', lang)}**  \n{condition_label(patient.condition, lang)}")
    cols[1].markdown(f"**{t('gp', lang)}**  \n{patient.gp_name or '–'}")
    plan_text = t("plan_version", lang, version=plan.version) if plan else t("no_plan", lang)
    cols[2].markdown(f"**{t('plan', lang)}**  \n{plan_text}")
    cols[3].markdown(f"**{t('centre', lang)}**  \n{patient.centre_name}")
    goal = str(plan.document.get("goal") or "") if plan else ""
    st.markdown(f"🎯 **{t('goal', lang)}:** {goal or '_' + t('no_goal', lang) + '_'}")


def _act(action: str, alert: AlertDetail, lang: Language, **kwargs: Any) -> None:
    """Do ``action`` on ``alert`` through the API; the reason is shown when it refuses."""
    client = session.client()
    try:
        if action == "acknowledge":
            client.acknowledge(alert.id)
            session.flash(t("alert_acknowledged", lang))
        elif action == "resolve":
            client.resolve(alert.id, kwargs["outcome"], kwargs["note"], kwargs["avoided"])
            session.flash(t("alert_resolved", lang))
        else:
            client.record_action(alert.id, kwargs["outcome"], kwargs["note"], kwargs["avoided"])
            session.flash(t("action_recorded", lang))
    except ApiError as err:
        session.show_error(err)
        return
    st.rerun()


def _assign_clicked(alert_id: str, options: dict[str, str], me: str, lang: Language) -> None:
    """On the click, before the page is drawn again: the choice the nurse saw is the one
    sent, even if the colleague list has changed since (the API then says why it refuses)."""
    chosen: str = st.session_state[f"assignee-{alert_id}"]
    try:
        session.client().assign(alert_id, chosen)
    except ApiError as err:
        session.flash_error(err)
        return
    name = options.get(chosen, chosen)
    session.flash(
        t("alert_assigned_me", lang) if chosen == me else t("alert_assigned", lang, name=name)
    )


def _assignment(alert: AlertDetail, colleagues: list[Colleague], me: str, lang: Language) -> None:
    """Tildel: to me (the default) or a colleague at the patient's centre; the API checks."""
    options = assignee_options(colleagues, me, lang)
    who, go = st.columns([3, 1], vertical_alignment="bottom")
    who.selectbox(
        t("assign_to", lang),
        list(options),
        format_func=options.__getitem__,
        key=f"assignee-{alert.id}",
    )
    go.button(
        t("assign", lang),
        key=f"assign-{alert.id}",
        icon="👤",
        on_click=_assign_clicked,
        args=(alert.id, options, me, lang),
    )


def _escalation(alert: AlertDetail, lang: Language) -> None:
    """ "Eskalering": each step of a red alert's chain (when, to whom, each receiver's status)
    and what the patient was told; a red nobody was told about yet says so."""
    steps = alert.escalations
    if not steps and alert.escalated_at is not None:
        steps = session.client().alert(alert.id).escalations
    if not steps and (alert.colour != "red" or alert.category != "clinical"):
        return
    now = session.now()
    with st.container(key=f"escalation-{alert.id}"):
        st.markdown(f"**📣 {t('escalation_title', lang)}**")
        views = escalation_steps(steps, now, lang)
        if not views:
            st.caption(t("escalation_none", lang))
            return
        lines: list[str] = []
        told: list[str] = []
        for view in views:
            lines.append(f"- **{view.when}** {t('escalation_to', lang, role=view.to)}")
            lines.extend(f"    - {receiver}" for receiver in view.receivers)
            if view.patient_told and view.patient_told not in told:
                told.append(view.patient_told)
        st.markdown("\n".join(lines))
        for text in told:
            st.caption(t("patient_told", lang, text=text))


def _alert_card(
    alert: AlertDetail,
    plan: PlanVersion | None,
    colleagues: list[Colleague] | None,
    lang: Language,
) -> None:
    """One open alert and its handling; ``colleagues`` is None for someone who does not
    handle alerts (a GP), who gets no assignment choice."""
    now = session.now()
    user = session.me()
    me = user.user_id if user else ""
    with st.container(border=True, key=f"alert-{alert.id}"):
        st.markdown(
            f"{colour_badge_markdown(alert.colour, lang)} **{reason_text(alert.reason, lang)}**"
        )
        status = f"{t('opened', lang)} {format_time(alert.opened_at, now)} · "
        status += f"{t('waiting', lang)} {time_since(alert.opened_at, now, lang)}"
        if alert.acknowledged_at is not None:
            status += " · " + t(
                "acknowledged_by",
                lang,
                by=person_text(alert.acknowledged_by_person, alert.acknowledged_by, lang),
                at=format_time(alert.acknowledged_at, now),
            )
        if colleagues is not None:
            status += f" · 👤 {assigned_text(alert.assigned_to, colleagues, me, lang)}"
        st.caption(status)
        if alert.rule_id in JOURNAL_RULES:
            # about the record system, not the patient's values: the plan's advice does not apply
            st.warning(t("journal_alert_hint", lang), icon="🗂️")
        elif is_notification_alert(alert.rule_id):
            # about a message, not the patient's values: the plan's advice does not apply
            st.warning(t("notification_alert_hint", lang), icon="📞")
        elif plan is not None:
            _, nurse = zone_advice(plan.document, alert.colour, lang)
            st.info(f"**{t('advice_nurse', lang)}:** {nurse}", icon="🩺")
        _escalation(alert, lang)
        if alert.state == "open":
            if st.button(t("acknowledge", lang), key=f"ack-{alert.id}", type="primary", icon="✔️"):
                _act("acknowledge", alert, lang)
            if colleagues is not None:
                _assignment(alert, colleagues, me, lang)
            return
        outcome = st.selectbox(
            t("outcome", lang),
            OUTCOME_CODES,
            format_func=lambda code: outcome_label(code, lang),
            key=f"outcome-{alert.id}",
        )
        note = st.text_input(t("note", lang), key=f"note-{alert.id}")
        avoided = st.checkbox(
            t("home_visit_avoided", lang),
            key=f"visit-avoided-{alert.id}",
            help=t("home_visit_avoided_help", lang),
        )
        left, right = st.columns(2)
        if left.button(t("resolve", lang), key=f"resolve-{alert.id}", type="primary", icon="🏁"):
            _act("resolve", alert, lang, outcome=outcome, note=note, avoided=avoided)
        if right.button(t("record_action", lang), key=f"action-{alert.id}", icon="✍️"):
            _act("action", alert, lang, outcome=outcome, note=note, avoided=avoided)
        if colleagues is not None:
            _assignment(alert, colleagues, me, lang)


def _advice(plan: PlanVersion | None, colour: str, lang: Language) -> None:
    if plan is None:
        return
    patient_advice, nurse = zone_advice(plan.document, colour, lang)
    with st.container(border=True):
        st.markdown(f"**{t('current_zone', lang)}: {colour_badge(colour, lang)}**")
        st.markdown(f"🏠 **{t('advice_patient', lang)}:** {patient_advice}")
        st.markdown(f"🩺 **{t('advice_nurse', lang)}:** {nurse}")


def _charts(
    client: ApiClient,
    patient_id: str,
    plan: PlanVersion | None,
    alerts: list[AlertDetail],
    lang: Language,
) -> None:
    end = session.now()
    start = end - timedelta(days=DAYS_SHOWN)
    st.subheader(t("charts", lang))
    zones: dict[str, Any] = dict(plan.document.get("zones") or {}) if plan else {}
    series = series_by_parameter(client.readings(patient_id, since=start), zones)
    reports = [r for r in client.reports(patient_id, since=start) if r.score is not None]
    if not series and not reports:
        st.caption(t("no_readings", lang))
        return
    ordered = [p for p in zones if p in series] + [p for p in series if p not in zones]
    for parameter in ordered:
        st.markdown(f"**{parameter_label(parameter, lang)}**")
        chart = parameter_chart(
            parameter,
            series[parameter],
            zones.get(parameter),
            alerts,
            start=start,
            end=end,
            language=lang,
        )
        st.altair_chart(chart, width="stretch")
    if series:
        st.caption(t("chart_legend", lang))
    if reports:
        st.markdown(f"**{t('reports', lang)}**")
        st.altair_chart(
            reports_chart(reports, start=start, end=end, language=lang), width="stretch"
        )


def _timeline(client: ApiClient, patient_id: str, lang: Language) -> None:
    st.subheader(t("timeline", lang))
    user = session.me()
    names = {user.user_id: user.username} if user else {}
    rows = timeline_rows(client.timeline(patient_id), session.now(), lang, names)
    if not rows:
        st.caption(t("no_timeline", lang))
        return
    # a column for the readings' data-quality notes (🕓 time uncertain …) only when there are any
    noted = any(r.trust for r in rows)
    st.dataframe(
        [
            {
                t("time", lang): r.when,
                "": r.what,
                t("note", lang): r.detail,
                **({t("data_note", lang): r.trust} if noted else {}),
                "👤": r.by,
            }
            for r in rows
        ],
        hide_index=True,
        width="stretch",
    )


def _messages(client: ApiClient, patient_id: str, lang: Language) -> None:
    """The nurse's messages to the patient's tablet, with "lest HH:MM" once read; a small form
    for a new one (a nurse of the patient's centre)."""
    st.subheader(f"✉️ {t('messages', lang)}")
    user = session.me()
    if user and user.role == "nurse":
        with st.form(f"message-{patient_id}", clear_on_submit=True):
            text = st.text_area(t("message_text", lang), max_chars=500)
            if st.form_submit_button(t("send_message", lang)) and text.strip():
                try:
                    client.send_message(patient_id, text)
                except ApiError as err:
                    session.show_error(err)
                else:
                    session.flash(t("message_sent", lang))
                    st.rerun()
    sent = client.messages(patient_id)
    if not sent:
        st.caption(t("no_messages", lang))
    now = session.now()
    for message in sent[:20]:
        with st.container(border=True):
            st.markdown(message.text)
            st.caption(
                f"{format_time(message.sent_at, now)} · {message.sent_by_name} · "
                f"{message_status(message, now, lang)}"
            )


def _page(lang: Language) -> None:
    client = session.client()
    user = session.me()
    if user is not None and user.role == "gp":  # a GP has no worklist: back to her overview
        if st.button(t("back_to_gp_overview", lang), key="back"):
            st.switch_page("app_pages/gp_overview.py")
    elif st.button(t("back_to_worklist", lang), key="back"):
        st.switch_page("app_pages/worklist.py")
    session.show_flash()
    patient_id = _choose(client, lang)
    if patient_id is None:
        return
    st.query_params["patient"] = patient_id
    patient = client.patient(patient_id)
    plan = client.plan_in_use(patient_id)
    alerts = client.alerts(patient_id)
    colour = worst_colour(a.colour for a in alerts)
    _header(patient, plan, colour, lang)
    main, side = st.columns([3, 2])
    user = session.me()
    colleagues = (
        client.colleagues(patient.centre_id) if alerts and user and user.role == "nurse" else None
    )
    with main:
        st.subheader(t("open_alerts", lang))
        if not alerts:
            st.success(t("no_open_alerts", lang), icon="🟢")
        for alert in sorted(
            alerts, key=lambda a: ({"red": 0, "yellow": 1}.get(a.colour, 2), a.opened_at)
        ):
            _alert_card(alert, plan, colleagues, lang)
    with side:
        _advice(plan, colour, lang)
    _charts(client, patient_id, plan, alerts, lang)
    _timeline(client, patient_id, lang)
    _messages(client, patient_id, lang)


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
