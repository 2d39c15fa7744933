"""The nurse's worklist: red first, then yellow, the longest waiting first; refreshes by itself
(a fragment), so the filters and the scroll position stay where the nurse left them."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import session
from dashboard.api_client import ApiError, CentreEscalation, ServiceHours, WorklistItem
from dashboard.i18n import Language, t
from dashboard.presenters import (
    colour_badge,
    colour_badge_markdown,
    counts,
    format_time,
    greens_waiting_text,
    new_red_patients,
    red_ids,
    worklist_row,
)
from dashboard.staffed_hours import hours_notices, since_closing, when_words

_KNOWN_REDS = "worklist_known_reds"
PATIENT_PAGE = "app_pages/patient.py"


def _open(patient_id: str) -> None:
    session.choose_patient(patient_id)
    st.switch_page(PATIENT_PAGE)


def _unacknowledged_reds(items: list[WorklistItem]) -> list[WorklistItem]:
    return [
        i
        for i in items
        if i.colour == "red" and any(a.colour == "red" and not a.acknowledged for a in i.alerts)
    ]


def _header(items: list[WorklistItem], lang: Language) -> None:
    found = counts(items)
    cols = st.columns(4)
    cols[0].metric(f"🔴 {t('count_red', lang)}", found.red)
    cols[1].metric(f"🟡 {t('count_yellow', lang)}", found.yellow)
    cols[2].metric(f"📡 {t('count_lost', lang)}", found.lost_contact)
    cols[3].metric(f"🟢 {t('count_green', lang)}", found.green)


def _red_banner(items: list[WorklistItem], lang: Language) -> None:
    waiting = _unacknowledged_reds(items)
    if waiting:
        names = ", ".join(i.display_name for i in waiting)
        st.error(
            f"### 🔴 {t('new_red_banner', lang)}\n{t('new_red_detail', lang, names=names)}",
            icon="🚨",
        )
    fresh = new_red_patients(st.session_state.get(_KNOWN_REDS, []), items)
    if _KNOWN_REDS in st.session_state:
        for item in fresh:
            st.toast(f"🔴 {t('new_red_banner', lang)}: {item.display_name}", icon="🚨")
    st.session_state[_KNOWN_REDS] = red_ids(items)


def _escalations(hours: list[ServiceHours]) -> dict[str, CentreEscalation | None]:
    """Where each closed centre's reds go (None where the API did not say: nothing promised)."""
    found: dict[str, CentreEscalation | None] = {}
    for centre in hours:
        if centre.open_now:
            continue
        try:
            found[centre.centre_id] = session.client().centre_escalation(centre.centre_id)
        except ApiError:
            found[centre.centre_id] = None
    return found


def _opening_hours(items: list[WorklistItem], hours: list[ServiceHours], lang: Language) -> None:
    """From each centre's calendar: closed now (when it opens, and where unacknowledged reds
    really go) or today's hours, a holiday today or coming soon; in staffed hours, what arrived
    since the centre last closed."""
    now = session.now()
    for notice in hours_notices(hours, now, lang, _escalations(hours)):
        if notice.problem:
            st.warning(notice.problem, icon="🗓️")
        if notice.closed_today:
            st.warning(notice.closed_today, icon="🗓️")
        if notice.open_now:
            extra = f" · {notice.next_closed_day}" if notice.next_closed_day else ""
            st.caption(f"🕗 {notice.headline}{extra}")
        else:
            st.warning(notice.headline, icon="⚠️" if notice.nobody_after_hours else "🌙")
    many = len(hours) > 1
    names = {h.centre_id: h.centre_name for h in hours}
    for arrived in since_closing(hours, items):
        who = ", ".join(f"{colour_badge(i.colour, lang)} {i.display_name}" for i in arrived.items)
        centre = f" — {names[arrived.centre_id]}" if many else ""
        closed = when_words(arrived.closed_at, now, lang)
        st.info(f"**{t('overnight', lang)}{centre}** ({closed}): {who}", icon="🌅")


def _greens(items: list[WorklistItem], lang: Language) -> None:
    found = counts(items)
    if found.greens_waiting == 0:
        st.caption(f"🟢 {t('no_greens', lang)}")
        return
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.info(
        greens_waiting_text(found, lang),
        icon="🟢",
    )
    if right.button(t("ack_greens", lang), key="ack_greens", icon="✅"):
        ids = [i.patient_id for i in items if i.greens_waiting > 0]
        try:
            done = session.client().acknowledge_greens(ids)
        except ApiError as err:
            session.show_error(err)
        else:
            session.flash(t("greens_acked", lang, count=done.readings))
            st.rerun()


def _patient_row(item: WorklistItem, lang: Language) -> None:
    row = worklist_row(item, session.now(), lang)
    with st.container(border=True, key=f"row-{item.patient_id}"):
        who, why, when, go = st.columns([3, 6, 2.2, 1.2], vertical_alignment="center")
        who.markdown(f"{colour_badge_markdown(row.colour, lang)}  \n**{row.name}**")
        who.caption(row.place)
        lines = [f"- {reason}" for reason in row.reasons] + [f"- **{m}**" for m in row.markers]
        why.markdown("\n".join(lines) if lines else "–")
        when.markdown(f"⏱ {row.waiting or '–'}  \n👤 {t('assigned_to', lang)}: {row.assigned}")
        if go.button(
            t("open_patient", lang),
            key=f"open-{item.patient_id}",
            type="primary" if row.colour == "red" else "secondary",
        ):
            _open(item.patient_id)
        for call in item.call_requests:
            if go.button(t("call_done", lang), key=f"called-{call.id}", icon="📞"):
                _call_done(item.patient_id, call.id, lang)


def _call_done(patient_id: str, call_id: str, lang: Language) -> None:
    try:
        session.client().call_done(patient_id, call_id)
    except ApiError as err:
        session.show_error(err)
    else:
        session.flash(t("call_done_flash", lang))
        st.rerun()


def _live(lang: Language) -> None:
    session.show_flash()
    try:
        items = session.client().worklist()
        hours = session.client().service_hours()
    except ApiError as err:
        session.show_error(err)
        return
    now = session.now()
    st.caption(f"{t('updated_at', lang)} {format_time(now, now)} · {t('worklist_caption', lang)}")
    _red_banner(items, lang)
    _opening_hours(items, hours, lang)
    _header(items, lang)
    _greens(items, lang)
    shown = st.session_state.get("worklist_filter") or "all"
    visible = [i for i in items if shown == "all" or i.colour == shown]
    if not visible:
        st.success(t("empty_worklist", lang), icon="🟢")
    for item in visible:
        _patient_row(item, lang)


lang = session.language()
st.title(f"📋 {t('worklist_title', lang)}")
st.segmented_control(
    t("filter_colour", lang),
    ["all", "red", "yellow", "green"],
    format_func=lambda c: t("filter_all", lang) if c == "all" else colour_badge(c, lang),
    default="all",
    key="worklist_filter",
)
st.fragment(run_every=timedelta(seconds=session.settings().refresh_seconds))(_live)(lang)
