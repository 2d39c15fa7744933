"""Administration: the users (admins see patient data only with a reason, through the API), and
"Varsling" per centre: who receives unacknowledged reds (add, edit, deactivate, send a test), the
chain's delays and what a message may say."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from dashboard import session
from dashboard.api_client import DELAYS, ApiClient, ApiError, CentreEscalation, NotificationTarget
from dashboard.i18n import Language, t
from dashboard.presenters import (
    DETAIL_LEVELS,
    ESCALATION_ROLES,
    detail_level_label,
    escalation_role_label,
    role_label,
    target_rows,
)
from dashboard.programme_presenters import population_table, population_template


def _users(client: ApiClient, lang: Language) -> None:
    try:
        users = client.users()
    except ApiError as error:
        session.show_error(error)
        return
    st.dataframe(
        [
            {
                t("username", lang): u.get("username"),
                t("display_name", lang): u.get("display_name"),
                t("role", lang): role_label(str(u.get("role")), lang),
                t("t_active", lang): u.get("active"),
            }
            for u in users
        ],
        hide_index=True,
        width="stretch",
    )


def _done(message: str) -> None:
    session.flash(message)
    st.rerun()


def _targets(client: ApiClient, centre_id: str, lang: Language) -> None:
    targets = client.notification_targets(centre_id)
    st.markdown(f"**{t('targets', lang)}**")
    rows = target_rows(targets, lang)
    if not rows:
        st.warning(t("no_targets", lang), icon="⚠️")
    by_id = {x.id: x for x in targets}
    for row in rows:
        target = by_id[row.target_id]
        with st.container(border=True, key=f"target-{row.target_id}"):
            st.markdown(
                f"**{row.label}** · {row.role}  \n"
                f"{t('t_channel', lang)}: {row.channel} · {t('t_address', lang)}: `{row.address}`"
                f" · {t('t_secure', lang).split(' (')[0]}: {row.secure}"
                f" · {t('t_active', lang)}: {row.active}"
            )
            test, stop, _ = st.columns([2, 2, 4])
            if target.active and test.button(t("t_test", lang), key=f"test-{target.id}", icon="📨"):
                try:
                    client.test_notification_target(target.id)
                except ApiError as error:
                    session.show_error(error)
                else:
                    _done(t("t_test_queued", lang, label=target.label))
            if target.active and stop.button(
                t("t_deactivate", lang), key=f"deactivate-{target.id}", icon="⛔"
            ):
                try:
                    client.deactivate_notification_target(target.id)
                except ApiError as error:
                    session.show_error(error)
                else:
                    _done(t("t_deactivated", lang, label=target.label))
            with st.expander(t("t_edit", lang, label=target.label)):
                _target_form(client, centre_id, target, lang)
    with st.expander(t("t_add", lang), icon="➕"):
        _target_form(client, centre_id, None, lang)


def _target_form(
    client: ApiClient, centre_id: str, target: NotificationTarget | None, lang: Language
) -> None:
    """Add a receiver (``target`` None) or change one; the URL is never shown back."""
    key = target.id if target is not None else f"new-{centre_id}"
    with st.form(f"target-form-{key}", clear_on_submit=target is None):
        label = st.text_input(
            t("t_label", lang), value=target.label if target else "", key=f"t-label-{key}"
        )
        roles = list(ESCALATION_ROLES)
        role = st.selectbox(
            t("t_role", lang),
            roles,
            index=roles.index(target.role) if target and target.role in roles else 0,
            format_func=lambda r: escalation_role_label(r, lang),
            key=f"t-role-{key}",
        )
        url = st.text_input(
            t("t_url_keep", lang) if target else t("t_url", lang),
            type="password",
            key=f"t-url-{key}",
        )
        secure = st.checkbox(
            t("t_secure", lang), value=target.secure if target else False, key=f"t-secure-{key}"
        )
        active = st.checkbox(
            t("t_active", lang), value=target.active if target else True, key=f"t-active-{key}"
        )
        if not st.form_submit_button(
            t("t_save", lang) if target else t("t_add", lang), key=f"t-submit-{key}"
        ):
            return
    body: dict[str, Any] = {"role": role, "label": label.strip(), "secure": secure}
    body["active"] = active
    if url.strip():
        body["url"] = url.strip()
    try:
        if target is None:
            made = client.add_notification_target(centre_id, body)
            message = t("t_added", lang, label=made.label)
        else:
            made = client.change_notification_target(target.id, body)
            message = t("t_saved", lang, label=made.label)
    except ApiError as error:
        session.show_error(error)
        return
    _done(message)


def _chain(client: ApiClient, centre_id: str, settings: CentreEscalation, lang: Language) -> None:
    """The chain's delays (minutes) and the detail level."""
    if settings.policy_problem:
        st.warning(settings.policy_problem, icon="⚠️")
    if settings.roles_without_target:
        roles = ", ".join(escalation_role_label(r, lang) for r in settings.roles_without_target)
        st.caption(t("roles_without_target", lang, roles=roles))
    with st.form(f"chain-{centre_id}"):
        st.markdown(f"**{t('delays', lang)}**")
        delays: dict[str, int] = {}
        columns = st.columns(len(DELAYS))
        for column, name in zip(columns, DELAYS, strict=True):
            current = getattr(settings, name)
            delays[name] = int(
                column.number_input(
                    t(f"delay_{name}", lang),
                    min_value=0,
                    max_value=24 * 60,
                    value=int(current) if current is not None else 0,
                    step=5,
                    key=f"{name}-{centre_id}",
                )
            )
        levels = list(DETAIL_LEVELS)
        detail = st.radio(
            t("detail_level", lang),
            levels,
            index=levels.index(settings.detail) if settings.detail in levels else 0,
            format_func=lambda d: detail_level_label(d, lang),
            key=f"detail-{centre_id}",
        )
        if not st.form_submit_button(t("chain_save", lang), key=f"chain-submit-{centre_id}"):
            return
    try:
        client.change_escalation(centre_id, {**delays, "detail": detail})
    except ApiError as error:
        session.show_error(error)
        return
    _done(t("chain_saved", lang))


def _varsling(client: ApiClient, lang: Language) -> None:
    st.header(f"📣 {t('varsling_title', lang)}")
    st.caption(t("varsling_caption", lang))
    try:
        centres = client.centres()
    except ApiError as error:
        session.show_error(error)
        return
    for centre in centres:
        with st.container(border=True, key=f"varsling-{centre.id}"):
            st.subheader(centre.name)
            try:
                settings = client.centre_escalation(centre.id)
                _targets(client, centre.id, lang)
                _chain(client, centre.id, settings, lang)
            except ApiError as error:
                session.show_error(error)


language = session.language()
st.title(f"⚙️ {t('nav_admin', language)}")
session.show_flash()
st.caption(t("admin_intro", language))
_users(session.client(), language)
_varsling(session.client(), language)


# issue 18: reach — the programme's settings

OSLO = ZoneInfo("Europe/Oslo")


def _population(client: ApiClient, municipality: dict[str, Any], lang: Language) -> None:
    municipality_id, name = str(municipality["id"]), str(municipality["name"])
    st.markdown(f"**{t('population_title', lang)}**")
    stored = client.population(municipality_id)
    rows = stored.get("rows", [])
    if rows:
        st.dataframe(population_table(rows, lang), hide_index=True, width="stretch")
    else:
        st.caption(t("population_none", lang))
    st.download_button(
        t("population_template", lang),
        population_template(stored.get("age_bands", []), datetime.now(OSLO).year),
        file_name=f"innbyggere-{municipality_id}.csv",
        mime="text/csv",
        key=f"population-template-{municipality_id}",
    )
    with st.form(f"population-{municipality_id}", clear_on_submit=True):
        upload = st.file_uploader(
            t("population_upload", lang), type=["csv"], key=f"population-file-{municipality_id}"
        )
        if st.form_submit_button(t("population_send", lang)) and upload is not None:
            try:
                saved = client.upload_population_csv(municipality_id, upload.getvalue())
            except ApiError as error:
                session.show_error(error)
                return
            _done(t("population_saved", lang, name=name, rows=len(saved.get("rows", []))))


def _minutes(client: ApiClient, municipality_id: str, lang: Language) -> None:
    stored = client.municipality_programme(municipality_id).get("minutes_per_home_visit")
    current = int(stored) if stored is not None else None
    with st.form(f"minutes-{municipality_id}"):
        minutes = st.number_input(
            t("minutes_per_home_visit", lang),
            min_value=1,
            max_value=600,
            value=current,
            step=5,
            placeholder=t("not_entered", lang),
            key=f"minutes-{municipality_id}-value",
        )
        if st.form_submit_button(t("programme_save", lang)):
            try:
                client.set_minutes_per_home_visit(
                    municipality_id, int(minutes) if minutes is not None else None
                )
            except ApiError as error:
                session.show_error(error)
                return
            _done(t("programme_saved", lang))


def _fte(client: ApiClient, centre_id: str, lang: Language) -> None:
    stored = client.centre_programme(centre_id).get("nurse_fte")
    current = float(stored) if stored is not None else None
    with st.form(f"fte-{centre_id}"):
        fte = st.number_input(
            t("nurse_fte", lang),
            min_value=0.1,
            max_value=1000.0,
            value=current,
            step=0.5,
            placeholder=t("not_entered", lang),
            key=f"fte-{centre_id}-value",
        )
        if st.form_submit_button(t("programme_save", lang)):
            try:
                client.set_nurse_fte(centre_id, float(fte) if fte is not None else None)
            except ApiError as error:
                session.show_error(error)
                return
            _done(t("programme_saved", lang))


def _programme_settings(client: ApiClient, lang: Language) -> None:
    st.header(f"📊 {t('programme_settings_title', lang)}")
    st.caption(t("programme_settings_caption", lang))
    try:
        municipalities = client.municipalities()
        centres = client.centres()
    except ApiError as error:
        session.show_error(error)
        return
    for municipality in municipalities:
        with st.container(border=True, key=f"programme-m-{municipality['id']}"):
            st.subheader(str(municipality["name"]))
            try:
                _minutes(client, str(municipality["id"]), lang)
                _population(client, municipality, lang)
            except ApiError as error:
                session.show_error(error)
    for centre in centres:
        with st.container(border=True, key=f"programme-c-{centre.id}"):
            st.subheader(centre.name)
            try:
                _fte(client, centre.id, lang)
            except ApiError as error:
                session.show_error(error)


_programme_settings(session.client(), language)
