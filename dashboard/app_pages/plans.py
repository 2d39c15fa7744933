"""Egenbehandlingsplaner: versions, a new draft from a condition template, the trial period's
proposed thresholds next to the template's, editing zone bounds and the measurement schedule
into a new draft, approving a draft (the API decides who may), the differences between two
versions, and a draft previewed against the last 30 days' readings."""

from __future__ import annotations

from datetime import time
from typing import Any

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiClient, ApiError, PlanVersion, PlanVersionSummary
from dashboard.charts import parameter_chart
from dashboard.i18n import Language, t
from dashboard.plan_presenters import (
    BOUND_NAMES,
    KIND_CODES,
    QUESTIONNAIRES,
    WEEKDAYS,
    Bound,
    ScheduleItem,
    bound_changes,
    bound_label,
    bound_of,
    bound_quantity,
    bound_sentence,
    change_table,
    changed_parameters,
    count_table,
    day_label,
    diff_default,
    diff_lines,
    kind_label,
    operator_label,
    questionnaire_label,
    replay_notes,
    replay_summary,
    schedule_changes,
    schedule_of,
    schedule_text,
    version_label,
    zones_text,
)
from dashboard.presenters import (
    CONDITION_CODES,
    condition_label,
    format_datetime,
    parameter_label,
    person_text,
    series_by_parameter,
)


def _pick_patient(client: ApiClient, lang: Language) -> str | None:
    patients = {p.id: p for p in client.patients() if p.state != "discharged"}
    picked = session.pick_patient(patients, "plans_patient", lang)
    if picked is not None:
        session.choose_patient(picked)
    return picked


def _versions(versions: list[PlanVersionSummary], lang: Language) -> None:
    st.subheader(t("versions", lang))
    st.dataframe(
        [
            {
                t("version", lang): f"v{v.version}",
                t("state", lang): t(f"status_{v.status}", lang),
                t("time", lang): format_datetime(v.created_at),
                "👤": person_text(v.created_by_person, v.created_by, lang) if v.created_by else "",
                t("approve", lang): (
                    person_text(v.approved_by_person, v.approved_by, lang) if v.approved_by else ""
                ),
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
            parameter = str(item.get("parameter"))
            red_t, yellow_t = zones_text(parameter, item.get("template") or {}, lang)
            red_p, yellow_p = zones_text(parameter, item.get("proposed") or {}, lang)
            text = item.get("text") or {}
            median = item.get("median")
            rows.append(
                {
                    t("value", lang): parameter_label(parameter, lang),
                    t("proposal_readings", lang): item.get("n"),
                    t("proposal_median", lang): (
                        "–" if median is None else bound_quantity(parameter, float(median), lang)
                    ),
                    t("proposal_template_red", lang): red_t,
                    t("proposal_red", lang): red_p,
                    t("proposal_template_yellow", lang): yellow_t,
                    t("proposal_yellow", lang): yellow_p,
                    t("proposal_why", lang): str(text.get(lang) or text.get("nb") or ""),
                }
            )
        st.dataframe(rows, hide_index=True, width="stretch")


def _bound_input(
    parameter: str, name: str, bound: Bound | None, version: int, lang: Language
) -> Bound | None:
    """One bound: its number, its comparison (kept unless the nurse changes it) and, below,
    the bound as the patient's text reads it with a decimal comma (the number field itself
    shows a decimal point: Streamlit's number input cannot show a comma)."""
    key = f"bound-v{version}-{parameter}-{name}"
    value = st.number_input(
        bound_label(name, lang),
        value=None if bound is None else bound.value,
        key=key,
        format="%g",
        placeholder=t("bound_none", lang),
    )
    inclusive = st.selectbox(
        t("operator", lang),
        (True, False),
        index=0 if bound is None or bound.inclusive else 1,
        format_func=lambda inclusive: operator_label(name, inclusive, lang),
        key=f"{key}-operator",
        label_visibility="collapsed",
    )
    st.caption(bound_sentence(parameter, name, bound, lang))
    return None if value is None else Bound(float(value), bool(inclusive))


def _edit(client: ApiClient, latest: PlanVersion, lang: Language) -> None:
    """The zone bounds of the newest version into a new draft. Widget keys carry the version,
    so after a save the form starts from the new draft's bounds."""
    zones: dict[str, Any] = dict(latest.document.get("zones") or {})
    with st.form("plan_edit"):
        st.markdown(f"**{t('edit_bounds', lang)}** (v{latest.version})")
        st.caption(t("bounds_caption", lang))
        edited: dict[str, dict[str, Bound | None]] = {}
        for parameter, bounds in zones.items():
            st.markdown(f"**{parameter_label(parameter, lang)}**")
            cols = st.columns(len(BOUND_NAMES))
            for col, name in zip(cols, BOUND_NAMES, strict=True):
                with col:
                    edited.setdefault(parameter, {})[name] = _bound_input(
                        parameter, name, bound_of(bounds.get(name)), latest.version, lang
                    )
        note = st.text_input(t("why", lang), key="edit_note")
        if st.form_submit_button(t("save_draft", lang)):
            try:
                draft = client.new_plan_version(
                    latest.plan_id,
                    {"zones": bound_changes(zones, edited)},
                    note,
                    base_version=latest.version,
                )
            except ApiError as err:
                session.show_error(err)
            else:
                session.flash(t("draft_saved", lang, label=f"v{draft.version}"))
                st.rerun()


def _schedule_item_inputs(prefix: str, item: ScheduleItem | None, lang: Language) -> ScheduleItem:
    """One scheduled measurement's inputs (measurements, days, time, questionnaire)."""
    # measurements and days side by side, each half the width, so that all seven day chips
    # ("man" … "søn") fit; the time and the questionnaire on the row below
    kinds_col, days_col = st.columns(2)
    known = list(KIND_CODES) + [k for k in (item.kinds if item else ()) if k not in KIND_CODES]
    kinds = kinds_col.multiselect(
        t("schedule_kinds", lang),
        known,
        default=list(item.kinds) if item else [],
        format_func=lambda k: kind_label(k, lang),
        key=f"{prefix}-kinds",
        placeholder=t("choose", lang),
    )
    days = days_col.multiselect(
        t("schedule_days", lang),
        list(WEEKDAYS),
        default=list(item.days) if item else list(WEEKDAYS),
        format_func=lambda d: day_label(d, lang),
        key=f"{prefix}-days",
        placeholder=t("choose", lang),
    )
    due_col, form_col = st.columns([1, 3])
    due = due_col.time_input(
        t("due_by", lang).capitalize(),
        value=item.due_by if item else time(10, 0),
        step=300,
        key=f"{prefix}-due",
    )
    current = (item.questionnaire or "") if item else ""
    choices = list(dict.fromkeys(["", *QUESTIONNAIRES, current]))  # an unknown id is kept
    questionnaire = form_col.selectbox(
        t("schedule_questionnaire", lang),
        choices,
        index=choices.index(current),
        format_func=lambda q: questionnaire_label(q, lang) if q else t("none", lang),
        key=f"{prefix}-questionnaire",
    )
    return ScheduleItem(
        kinds=tuple(kinds),
        due_by=due,
        days=tuple(sorted(days)),
        questionnaire=questionnaire.strip() or None,
        sources=item.sources if item else (),
    )


def _schedule(client: ApiClient, latest: PlanVersion, lang: Language) -> None:
    """Edit the measurement schedule (times in the schedule's zone) into a new draft."""
    zone, items = schedule_of(latest.document)
    with st.form("plan_schedule"):
        st.markdown(f"**{t('schedule_title', lang)}** (v{latest.version})")
        st.caption(t("schedule_caption", lang, zone=zone))
        edited: list[ScheduleItem] = []
        for index, item in enumerate(items):
            st.markdown(f"{index + 1}. {schedule_text(item, lang)}")
            changed = _schedule_item_inputs(f"sched-{index}", item, lang)
            if not st.checkbox(t("schedule_remove", lang), key=f"sched-{index}-remove"):
                edited.append(changed)
        st.markdown(f"*{t('schedule_new', lang)}*")
        added = _schedule_item_inputs("sched-new", None, lang)
        if not added.is_empty:
            edited.append(added)
        note = st.text_input(t("why", lang), key="schedule_note")
        if st.form_submit_button(t("schedule_save", lang)):
            if edited == items:
                st.info(t("schedule_unchanged", lang))
                return
            try:
                draft = client.new_plan_version(
                    latest.plan_id,
                    schedule_changes(zone, edited),
                    note,
                    base_version=latest.version,
                )
            except ApiError as err:
                session.show_error(err)
            else:
                session.flash(t("draft_saved", lang, label=f"v{draft.version}"))
                st.rerun()


def _replay(client: ApiClient, patient_id: str, newest: PlanVersion, lang: Language) -> None:
    """The newest draft replayed against the last 30 days: counts now and under the draft,
    the readings that change zone (words and icons), and charts with the draft's bands."""
    if newest.status != "draft":
        return
    st.subheader(t("replay_title", lang))
    try:
        replay = client.plan_replay(newest.plan_id, newest.version, days=30)
    except ApiError as err:
        session.show_error(err)
        return
    st.caption(t("replay_caption", lang, days=replay.days, version=replay.version))
    st.markdown(f"**{replay_summary(replay, lang)}**")
    for note in replay_notes(replay, lang):
        st.warning(note, icon="⚠️")
    if not replay.readings:
        return
    st.table(count_table(replay, lang))
    if not replay.changes:
        return
    st.markdown(f"**{t('replay_changed_readings', lang)}**")
    # a table, not a data grid: its long reasons wrap, so every column fits the page
    st.table(change_table(replay.changes, session.now(), lang))
    zones: dict[str, Any] = dict(newest.document.get("zones") or {})
    parameters = changed_parameters(replay.changes, zones)
    if not parameters:
        return
    series = series_by_parameter(client.readings(patient_id, since=replay.since), zones)
    st.caption(t("replay_chart_caption", lang))
    for parameter in parameters:
        points = series.get(parameter, [])
        if not points:
            continue
        st.markdown(parameter_label(parameter, lang))
        chart = parameter_chart(
            parameter,
            points,
            zones.get(parameter),
            [],
            start=replay.since,
            end=replay.until,
            language=lang,
        )
        st.altair_chart(chart, width="stretch")


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
    """The version in use against the newest by default. The pickers' keys carry the newest
    version, so a saved draft resets them to the new pair (not the pair chosen before)."""
    default = diff_default(versions)
    if default is None:
        return
    st.subheader(t("diff", lang))
    by_number = {v.version: v for v in versions}
    numbers = [v.version for v in versions]
    newest = numbers[0]
    left, right = st.columns(2)
    older = left.selectbox(
        t("diff_from", lang),
        numbers,
        index=numbers.index(default[0]),
        format_func=lambda n: version_label(by_number[n], lang),
        key=f"diff_from-{newest}",
    )
    newer = right.selectbox(
        t("diff_to", lang),
        numbers,
        index=numbers.index(default[1]),
        format_func=lambda n: version_label(by_number[n], lang),
        key=f"diff_to-{newest}",
    )
    if older == newer:
        return
    try:
        diff = client.plan_diff(versions[0].plan_id, min(older, newer), max(older, newer))
    except ApiError as err:
        session.show_error(err)
        return
    st.caption(f"v{min(older, newer)} → v{max(older, newer)}")
    lines = diff_lines(diff, lang)
    st.markdown("\n".join(f"- {line}" for line in lines) or t("diff_none", lang))
    if diff.get("looser"):
        st.warning(t("diff_looser_count", lang, count=diff["looser"]), icon="⚠️")


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
    newest = client.plan_version(versions[0].plan_id, versions[0].version) if versions else None
    if newest is not None:
        _edit(client, newest, lang)
        _schedule(client, newest, lang)
    _diff(client, versions, lang)
    if newest is not None:
        _replay(client, patient_id, newest, lang)


language = session.language()
try:
    _page(language)
except ApiError as error:
    session.show_error(error)
