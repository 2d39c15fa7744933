"""The programme page ("Program"): the service as a whole for a centre lead (every section), a
nurse (the operational sections) and the admin; filters by municipality, condition and period;
one tab per section the API lets the reader see. Each figure is shown with its definition
beside it, each table with its chart (when it is a series over time) and its CSV and Excel
downloads; the monthly report downloads as a page to print."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard import session
from dashboard.api_client import (
    ApiError,
    ProgrammeFigure,
    ProgrammeFilters,
    ProgrammeOverview,
    ProgrammeSectionInfo,
    ProgrammeTable,
)
from dashboard.i18n import Language, t
from dashboard.programme_presenters import (
    PERIOD_CHOICES,
    figure_metrics,
    month_label,
    period_for,
    period_text,
    recent_months,
    section_filename,
    series_chart,
    table_filename,
    table_rows,
    table_series,
)

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: at most this many values side by side in one row
_PER_ROW = 4
#: the condition choice that filters nothing (a choice box shows None as "nothing chosen")
_ALL = "all"


def _download(fetch: Callable[[], bytes], lang: Language) -> Callable[[], bytes]:
    """``fetch`` for a download button, run only when the button is pressed; a refusal becomes
    a short text file saying why (the page itself stays as it is)."""

    def run() -> bytes:
        try:
            return fetch()
        except ApiError as err:
            return t("programme_download_failed", lang, reason=err).encode("utf-8")

    return run


def _filters(overview: ProgrammeOverview, lang: Language) -> ProgrammeFilters | None:
    names = {m.id: m.name for m in overview.municipalities}
    labels = {c.code: c.label for c in overview.conditions}
    where, what, when = st.columns([3, 2, 3])
    chosen = where.multiselect(
        t("programme_municipalities", lang),
        list(names),
        format_func=lambda m: names[m],
        placeholder=t("programme_all_municipalities", lang),
        key="programme_municipalities",
    )
    picked = what.selectbox(
        t("programme_condition", lang),
        [_ALL, *labels],
        format_func=lambda c: t("programme_all_conditions", lang) if c == _ALL else labels[c],
        placeholder=t("programme_all_conditions", lang),
        key="programme_condition",
    )
    condition = None if picked in (None, _ALL) else picked
    choice = when.radio(
        t("programme_period", lang),
        PERIOD_CHOICES,
        format_func=lambda c: t(f"programme_{c}", lang),
        horizontal=True,
        key="programme_period",
    )
    dates: tuple[object, ...] = ()
    if choice == "chosen":
        days = when.date_input(
            t("programme_dates", lang),
            value=(overview.default_start, overview.default_end),
            max_value=overview.today,
            format="DD.MM.YYYY",
            key="programme_dates",
        )
        dates = tuple(days) if isinstance(days, tuple | list) else (days,)
    period = period_for(choice, overview.today, [d for d in dates if d is not None])  # type: ignore[misc]
    if period is None:
        st.info(t("programme_pick_both", lang))
        return None
    start, end = period
    if (end - start).days + 1 > overview.max_days:
        st.warning(t("programme_too_long", lang, days=overview.max_days))
        return None
    st.caption(
        t(
            "programme_showing",
            lang,
            period=period_text(start, end),
            municipalities=", ".join(names[m] for m in chosen)
            or t("programme_all_municipalities", lang),
            condition=labels[condition] if condition else t("programme_all_conditions", lang),
        )
    )
    return ProgrammeFilters(
        start=start, end=end, municipality_ids=tuple(chosen), condition=condition
    )


def _report(overview: ProgrammeOverview, filters: ProgrammeFilters, lang: Language) -> None:
    with st.expander(f"🖨️ {t('programme_report', lang)}"):
        months = recent_months(overview.today)
        month, button = st.columns([2, 3], vertical_alignment="bottom")
        picked = month.selectbox(
            t("programme_report_month", lang),
            months,
            index=1 if len(months) > 1 else 0,  # last month: the one a report is usually for
            format_func=lambda m: month_label(m, lang),
            key="programme_report_month",
        )
        client = session.client()
        button.download_button(
            t("programme_report_download", lang),
            data=_download(
                lambda: client.programme_report(
                    picked, list(filters.municipality_ids), filters.condition
                ),
                lang,
            ),
            file_name=f"dho-programrapport-{picked}.html",
            mime="text/html",
            icon=":material/print:",
            on_click="ignore",
            key="programme_report_download",
        )
        st.caption(t("programme_report_hint", lang))


def _figure(figure: ProgrammeFigure, lang: Language) -> None:
    with st.container(border=True, key=f"figure-{figure.id}"):
        values, about = st.columns([3, 2])
        metrics = figure_metrics(figure, lang)
        single = len(metrics) == 1 and figure.values[0].key is None
        if not single:
            values.markdown(f"**{figure.title}**")
        if single:
            values.metric(metrics[0].label, metrics[0].value)
            if metrics[0].note:
                values.caption(metrics[0].note)
        for first in range(0, len(metrics) if not single else 0, _PER_ROW):
            row = metrics[first : first + _PER_ROW]
            width = max(2, min(_PER_ROW, len(metrics)))
            for column, metric in zip(values.columns(width), row, strict=False):
                column.metric(metric.label, metric.value)
                if metric.note:
                    column.caption(metric.note)
        about.caption(f"**{t('programme_definition', lang)}:** {figure.definition}")
        about.caption(f"**{t('programme_source', lang)}:** {figure.source}")


def _table(section: str, table: ProgrammeTable, filters: ProgrammeFilters, lang: Language) -> None:
    client = session.client()
    with st.container(border=True, key=f"table-{table.id}"):
        st.markdown(f"**{table.title}**")
        st.caption(table.definition)
        series = table_series(table, lang)
        if series is not None:
            st.altair_chart(series_chart(series, lang), width="stretch")
        if table.rows:
            st.dataframe(table_rows(table, lang), hide_index=True, width="stretch")
        else:
            st.caption(t("programme_empty_table", lang))
        left, right, source = st.columns([1, 1, 3], vertical_alignment="center")
        for column, extension, mime, label in (
            (left, "csv", "text/csv", "programme_csv"),
            (right, "xlsx", _XLSX, "programme_excel"),
        ):
            column.download_button(
                t(label, lang),
                data=_download(
                    lambda ext=extension: client.programme_table_file(  # type: ignore[misc]
                        section, table.id, ext, filters
                    ),
                    lang,
                ),
                file_name=table_filename(section, table.id, filters.start, filters.end, extension),
                mime=mime,
                icon=":material/download:",
                on_click="ignore",
                key=f"download-{table.id}-{extension}",
            )
        source.caption(f"**{t('programme_source', lang)}:** {table.source}")


def _section(info: ProgrammeSectionInfo, filters: ProgrammeFilters, lang: Language) -> None:
    client = session.client()
    try:
        found = client.programme_section(info.id, filters)
    except ApiError as err:
        session.show_error(err)
        return
    top, download = st.columns([3, 1.3], vertical_alignment="center")
    top.caption(found.question)
    if found.tables:
        download.download_button(
            t("programme_section_excel", lang),
            data=_download(lambda: client.programme_section_workbook(info.id, filters), lang),
            file_name=section_filename(info.id, filters.start, filters.end),
            mime=_XLSX,
            icon=":material/table_view:",
            on_click="ignore",
            key=f"download-section-{info.id}",
        )
    if not found.figures and not found.tables:
        st.info(t("programme_no_figures", lang), icon="ℹ️")
    for figure in found.figures:
        _figure(figure, lang)
    for table in found.tables:
        _table(info.id, table, filters, lang)


def _page(lang: Language) -> None:
    st.title(f"📊 {t('programme_title', lang)}")
    st.caption(t("programme_intro", lang))
    try:
        overview = session.client().programme_sections()
    except ApiError as err:
        session.show_error(err)
        return
    if not overview.sections:
        st.info(t("programme_no_sections", lang))
        return
    filters = _filters(overview, lang)
    if filters is None:
        return
    _report(overview, filters, lang)
    tabs = st.tabs([s.title for s in overview.sections])
    for tab, info in zip(tabs, overview.sections, strict=True):
        with tab:
            _section(info, filters, lang)


_page(session.language())
