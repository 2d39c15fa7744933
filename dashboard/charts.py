"""Altair charts of a patient's data: one chart per parameter with the plan's zone bands behind
the values, alert markers on the same time axis, and questionnaire scores below.

Pure builders (data in, chart out); colour is never the only signal: points carry the zone's
shape (▲ red, ◆ yellow, ● green) and the tooltip says the zone in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import altair as alt

from dashboard.api_client import AlertDetail, Report
from dashboard.i18n import Language, t
from dashboard.presenters import (
    BAND_COLOURS,
    CHART_COLOURS,
    OSLO,
    Point,
    colour_word,
    format_datetime,
    parameter_label,
    value_range,
    zone_bands,
)

_SHAPES = {"red": "triangle-up", "yellow": "diamond", "green": "circle"}
_HEIGHT = 240

#: a point's symbol: its size (Vega's area, px²) and outline width (px). Vega draws a symbol
#: inside a square of side sqrt(size) (a triangle's or diamond's tips touch it), so a point
#: reaches sqrt(size)/2 + outline/2 from its centre: about 5 px.
POINT_SIZE = 90
POINT_STROKE = 0.8
POINT_REACH_PX = POINT_SIZE**0.5 / 2 + POINT_STROKE / 2
#: room kept between a point's centre and each edge of the plot: the point's reach and air
EDGE_CLEARANCE_PX = POINT_REACH_PX + 4.0
#: the smallest plot the padding is sized for: Streamlit fits the whole chart, axis and title
#: included, into its height, and into the page's width (a narrow window)
PLOT_HEIGHT_MIN_PX = _HEIGHT - 60
PLOT_WIDTH_MIN_PX = 400


def _pad_fraction(clearance_px: float, plot_px: float) -> float:
    """How much of the unpadded span to add at each end so that a point at the end of the
    data keeps ``clearance_px`` from the plot's edge: ``p = c / (plot - 2c)`` of the span."""
    return clearance_px / (plot_px - 2 * clearance_px)


def y_domain(points: Sequence[Point], zones: Mapping[str, Any]) -> tuple[float, float]:
    """The value axis: every point and every bound with a margin (:func:`value_range`),
    widened where needed so that the lowest and highest points are drawn whole, however near
    a band edge they lie."""
    low, high = value_range(points, zones)
    if not points:
        return low, high
    lowest, highest = min(p.value for p in points), max(p.value for p in points)
    pad = (max(high, highest) - min(low, lowest)) * _pad_fraction(
        EDGE_CLEARANCE_PX, PLOT_HEIGHT_MIN_PX
    )
    return min(low, lowest - pad), max(high, highest + pad)


def time_domain(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The time axis: ``[start, end]`` widened so that a reading taken just now (or at the
    period's start) is drawn whole at the plot's edge."""
    pad = (end - start) * _pad_fraction(EDGE_CLEARANCE_PX, PLOT_WIDTH_MIN_PX)
    return start - pad, end + pad


def _data(rows: list[dict[str, Any]]) -> alt.Data:
    """Inline chart data (Altair's ``Data`` is untyped)."""
    data: alt.Data = alt.Data(values=rows)  # type: ignore[no-untyped-call]
    return data


def _time_axis(title: str, field: str = "at") -> alt.X:
    return alt.X(f"{field}:T", title=title, axis=alt.Axis(format="%d.%m", labelAngle=0))


def _frame(start: datetime, end: datetime) -> alt.Chart:
    """An invisible layer at ``start`` and ``end`` so every chart spans the same time axis
    (an explicit temporal scale domain conflicts between layers in Vega-Lite)."""
    rows = [{"at": start.isoformat()}, {"at": end.isoformat()}]
    frame: alt.Chart = alt.Chart(_data(rows)).mark_point(opacity=0).encode(x=_time_axis(""))
    return frame


def _zone_scale(field: str, palette: Mapping[str, str], title: str, language: Language) -> Any:
    colours = ["red", "yellow", "green"]
    return alt.Color(
        f"{field}:N",
        title=title,
        scale=alt.Scale(
            domain=[colour_word(c, language) for c in colours],
            range=[palette[c] for c in colours],
        ),
        legend=None,
    )


def parameter_chart(
    parameter: str,
    points: Sequence[Point],
    zones: Mapping[str, Any] | None,
    alerts: Sequence[AlertDetail],
    *,
    start: datetime,
    end: datetime,
    language: Language,
) -> alt.LayerChart | alt.FacetChart:
    """Values of one parameter over ``[start, end]``: zone bands (from the plan) behind, a line
    and shaped points in front, a dashed rule at each alert of this parameter."""
    zones = zones or {}
    low, high = y_domain(points, zones)
    start, end = time_domain(start, end)
    y_title = parameter_label(parameter, language).split(" (")[-1].rstrip(")")  # the unit
    x = _time_axis(t("time", language))
    zone_title = t("zone", language)
    layers: list[alt.Chart] = [_frame(start, end)]
    bands = zone_bands(zones, low, high) if zones else []
    if bands:
        band_rows = [
            {
                "low": b.low,
                "high": b.high,
                "zone": colour_word(b.colour, language),
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
            for b in bands
        ]
        layers.append(
            alt.Chart(_data(band_rows))
            .mark_rect(opacity=0.55)
            .encode(
                x=_time_axis(t("time", language), "start"),
                x2="end:T",
                y=alt.Y("low:Q", scale=alt.Scale(domain=[low, high], nice=False), title=y_title),
                y2="high:Q",
                color=_zone_scale("zone", BAND_COLOURS, zone_title, language),
                tooltip=[alt.Tooltip("zone:N", title=zone_title)],
            )
        )
    rows = [
        {
            "at": p.at.isoformat(),
            "value": p.value,
            "zone": colour_word(p.colour, language),
            "shape": _SHAPES.get(p.colour or "", "square"),
            "when": format_datetime(p.at, OSLO),
        }
        for p in points
    ]
    base = alt.Chart(_data(rows)).encode(
        x=x, y=alt.Y("value:Q", scale=alt.Scale(domain=[low, high], nice=False), title=y_title)
    )
    layers.append(base.mark_line(color="#555555", strokeWidth=1.2))
    layers.append(
        base.mark_point(
            filled=True, size=POINT_SIZE, stroke="#222222", strokeWidth=POINT_STROKE
        ).encode(
            color=_zone_scale("zone", CHART_COLOURS, zone_title, language),
            shape=alt.Shape("shape:N", scale=None),
            tooltip=[
                alt.Tooltip("when:N", title=t("time", language)),
                alt.Tooltip("value:Q", title=t("value", language)),
                alt.Tooltip("zone:N", title=zone_title),
            ],
        )
    )
    marks = [
        {"at": a.opened_at.isoformat(), "label": f"⚠ {colour_word(a.colour, language)}"}
        for a in alerts
        if a.reason.parameter == parameter
    ]
    if marks:
        layers.append(
            alt.Chart(_data(marks))
            .mark_rule(strokeDash=[4, 3], color="#333333", strokeWidth=1.5)
            .encode(x=x, tooltip=[alt.Tooltip("label:N", title=t("open_alerts", language))])
        )
    # bands and points colour by zone with different palettes: keep their scales apart
    chart: alt.LayerChart | alt.FacetChart = (
        alt.layer(*layers)
        .resolve_scale(color="independent", shape="independent")
        .properties(height=_HEIGHT)
    )
    return chart


def reports_chart(
    reports: Sequence[Report], *, start: datetime, end: datetime, language: Language
) -> alt.LayerChart | alt.FacetChart:
    """Questionnaire scores over the same time axis, shaped and labelled by zone."""
    rows = [
        {
            "at": r.answered_at.isoformat(),
            "score": r.score if r.score is not None else 0,
            "questionnaire": r.questionnaire,
            "zone": colour_word(r.colour, language),
            "shape": _SHAPES.get(r.colour or "", "square"),
            "when": format_datetime(r.answered_at, OSLO),
        }
        for r in reports
    ]
    zone_title = t("zone", language)
    start, end = time_domain(start, end)
    points = (
        alt.Chart(_data(rows))
        .mark_point(filled=True, size=POINT_SIZE, stroke="#222222", strokeWidth=POINT_STROKE)
        .encode(
            x=_time_axis(t("time", language)),
            y=alt.Y("score:Q", title=t("reports", language)),
            color=_zone_scale("zone", CHART_COLOURS, zone_title, language),
            shape=alt.Shape("shape:N", scale=None),
            tooltip=[
                alt.Tooltip("when:N", title=t("time", language)),
                alt.Tooltip("questionnaire:N"),
                alt.Tooltip("score:Q"),
                alt.Tooltip("zone:N", title=zone_title),
            ],
        )
    )
    chart: alt.LayerChart | alt.FacetChart = alt.layer(_frame(start, end), points).properties(
        height=160
    )
    return chart
