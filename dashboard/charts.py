"""Altair charts of a patient's data: one chart per parameter with the plan's zone bands behind
the values, alert markers on the same time axis, and questionnaire scores below.

Pure builders (data in, chart out); colour is never the only signal: points carry the zone's
shape and size (a large ◆ red, ▲ yellow, a small ● green; the legend names them), red and
yellow points have their value written beside them, and the tooltip says the zone in words.
Numbers are written with the reader's decimal sign (dashboard/numbers.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import altair as alt

from dashboard.api_client import AlertDetail, Report
from dashboard.i18n import Language, t
from dashboard.numbers import format_quantity
from dashboard.presenters import (
    BAND_COLOURS,
    CHART_COLOURS,
    OSLO,
    Point,
    colour_word,
    format_datetime,
    parameter_label,
    parameter_unit,
    questionnaire_label,
    value_range,
    zone_bands,
)
from dashboard.trust import trust_icons, trust_notes, trust_text

#: each zone's mark, so that shape and size tell the zone without colour (colour-blind
#: readers, black-and-white print): red a large diamond, yellow a triangle (a warning sign),
#: green a small circle; a reading the plan does not classify a grey square
SHAPES: dict[str, str] = {"red": "diamond", "yellow": "triangle-up", "green": "circle"}
#: a point's symbol area (Vega's ``size``, px²) per zone: red stands out, green stays quiet
SIZES: dict[str, int] = {"red": 320, "yellow": 190, "green": 60}
_UNKNOWN_SHAPE, _UNKNOWN_SIZE, _UNKNOWN_COLOUR = "square", 80, "#888888"
#: the whole chart's height: the legend line on top, the plot, the time axis and its title
_HEIGHT = 300

#: the largest point's symbol size (Vega's area, px²) and outline width (px). Vega draws a
#: symbol inside a square of side sqrt(size) (a triangle's or diamond's tips touch it), so a
#: point reaches sqrt(size)/2 + outline/2 from its centre: about 9 px for a red one.
POINT_SIZE = max(SIZES.values())
POINT_STROKE = 0.8
POINT_REACH_PX = POINT_SIZE**0.5 / 2 + POINT_STROKE / 2
#: room kept between a point's centre and each edge of the plot: the point's reach and air
EDGE_CLEARANCE_PX = POINT_REACH_PX + 4.0
#: the smallest plot the padding is sized for: Streamlit fits the whole chart, axis and title
#: included, into its height, and into the page's width (a narrow window)
PLOT_HEIGHT_MIN_PX = _HEIGHT - 100
PLOT_WIDTH_MIN_PX = 400
#: a value label starts this far from its point's centre (beside the largest symbol)
LABEL_GAP_PX = POINT_REACH_PX + 3.0
#: a label goes left of its point in the last quarter of the time axis (it would leave the plot)
_LABEL_LEFT_AFTER = 0.75
#: a data-quality icon goes below its point in the top fifth of the value axis
_ICON_BELOW_ABOVE = 0.8


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
    """Bands' colour by zone (no legend: the points' legend says what the zones are)."""
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


def _zone_marks(colours: Sequence[str | None], language: Language) -> dict[str, Any]:
    """Colour, shape and size of the points by zone, over the same field and title so that
    Vega-Lite draws one legend with each zone's symbol and its name ("◆ Rød")."""
    zones: list[str | None] = ["red", "yellow", "green"]
    if any(c not in SHAPES for c in colours):
        zones.append(None)
    domain = [colour_word(z, language) for z in zones]
    title = t("zone", language)
    legend = alt.Legend(
        orient="top",
        direction="horizontal",
        title=title,
        titleOrient="left",
        symbolStrokeColor="#222222",
    )
    return {
        "color": alt.Color(
            "zone:N",
            title=title,
            legend=legend,
            scale=alt.Scale(
                domain=domain,
                range=[CHART_COLOURS[z] if z else _UNKNOWN_COLOUR for z in zones],
            ),
        ),
        "shape": alt.Shape(
            "zone:N",
            title=title,
            legend=legend,
            scale=alt.Scale(
                domain=domain, range=[SHAPES.get(z or "", _UNKNOWN_SHAPE) for z in zones]
            ),
        ),
        "size": alt.Size(
            "zone:N",
            title=title,
            legend=legend,
            scale=alt.Scale(
                domain=domain, range=[SIZES.get(z or "", _UNKNOWN_SIZE) for z in zones]
            ),
        ),
    }


def _value_axis(title: str, language: Language) -> alt.Axis:
    """Numbers on the value axis with the language's decimal sign ("87,5"): Streamlit passes
    no number locale to Vega (it keeps only the theme, renderer and padding of the embed
    options), so the label is rewritten in bokmål."""
    if language == "en":
        return alt.Axis(title=title, format="~r")
    return alt.Axis(title=title, format="~r", labelExpr="replace(datum.label, '.', ',')")


def _fraction(value: float, low: float, high: float) -> float:
    return (value - low) / (high - low) if high > low else 0.5


def _text_layer(
    rows: list[dict[str, Any]], x: alt.X, y: alt.Y, tooltip: list[alt.Tooltip], **mark: Any
) -> alt.Chart:
    layer: alt.Chart = (
        alt.Chart(_data(rows)).mark_text(**mark).encode(x=x, y=y, text="text:N", tooltip=tooltip)
    )
    return layer


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
    and points shaped, sized and coloured by zone in front (with a legend), the value written
    beside each red and yellow point ("2,6 mmol/L"), an icon over a reading whose time is
    uncertain (dashboard/trust.py), a dashed rule at each alert of this parameter. Tooltips
    are text made here, with the language's decimal sign and the unit."""
    zones = zones or {}
    low, high = y_domain(points, zones)
    start, end = time_domain(start, end)
    unit = parameter_unit(parameter)
    y_title = unit or parameter_label(parameter, language)
    x = _time_axis(t("time", language))
    zone_title = t("zone", language)
    y_scale = alt.Scale(domain=[low, high], nice=False)
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
                y=alt.Y("low:Q", scale=y_scale, axis=_value_axis(y_title, language)),
                y2="high:Q",
                color=_zone_scale("zone", BAND_COLOURS, zone_title, language),
                tooltip=[alt.Tooltip("zone:N", title=zone_title)],
            )
        )
    rows: list[dict[str, Any]] = []
    for p in points:
        notes = trust_notes(p.flags, language)
        rows.append(
            {
                "at": p.at.isoformat(),
                "value": p.value,
                "colour": p.colour or "",
                "zone": colour_word(p.colour, language),
                "value_text": format_quantity(p.value, unit, language),
                "when": format_datetime(p.at, OSLO),
                "icons": trust_icons(notes),
                "trust": trust_text(notes),
            }
        )
    y = alt.Y("value:Q", scale=y_scale, axis=_value_axis(y_title, language))
    tooltip = [
        alt.Tooltip("when:N", title=t("time", language)),
        alt.Tooltip("value_text:N", title=t("value", language)),
        alt.Tooltip("zone:N", title=zone_title),
    ]
    if any(r["trust"] for r in rows):
        tooltip.append(alt.Tooltip("trust:N", title=t("data_note", language)))
    base = alt.Chart(_data(rows)).encode(x=x, y=y)
    layers.append(base.mark_line(color="#555555", strokeWidth=1.2))
    layers.append(
        base.mark_point(filled=True, opacity=1, stroke="#222222", strokeWidth=POINT_STROKE).encode(
            **_zone_marks([p.colour for p in points], language), tooltip=tooltip
        )
    )
    span = (end - start).total_seconds()
    labels = [r | {"text": r["value_text"]} for r in rows if r["colour"] in ("red", "yellow")]
    right = [r for r in labels if _fraction(_seconds(r["at"], start), 0, span) <= _LABEL_LEFT_AFTER]
    left = [r for r in labels if r not in right]
    for side, align, dx in ((right, "left", LABEL_GAP_PX), (left, "right", -LABEL_GAP_PX)):
        if side:
            layers.append(
                _text_layer(
                    side,
                    x,
                    y,
                    tooltip,
                    align=align,
                    dx=dx,
                    baseline="middle",
                    fontSize=12,
                    fontWeight="bold",
                    color="#222222",
                )
            )
    flagged = [r | {"text": r["icons"]} for r in rows if r["icons"]]
    above = [r for r in flagged if _fraction(r["value"], low, high) <= _ICON_BELOW_ABOVE]
    below = [r for r in flagged if r not in above]
    for side, baseline, dy in ((above, "bottom", -LABEL_GAP_PX), (below, "top", LABEL_GAP_PX)):
        if side:
            layers.append(
                _text_layer(
                    side, x, y, tooltip, align="center", baseline=baseline, dy=dy, fontSize=14
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
        .resolve_scale(color="independent", shape="independent", size="independent")
        .properties(height=_HEIGHT)
    )
    return chart


def _seconds(at: str, start: datetime) -> float:
    return (datetime.fromisoformat(at) - start).total_seconds()


def reports_chart(
    reports: Sequence[Report], *, start: datetime, end: datetime, language: Language
) -> alt.LayerChart | alt.FacetChart:
    """Questionnaire scores over the same time axis, shaped, sized and labelled by zone."""
    rows = [
        {
            "at": r.answered_at.isoformat(),
            "score": r.score if r.score is not None else 0,
            "questionnaire": questionnaire_label(r.questionnaire, language),
            "zone": colour_word(r.colour, language),
            "when": format_datetime(r.answered_at, OSLO),
        }
        for r in reports
    ]
    zone_title = t("zone", language)
    start, end = time_domain(start, end)
    points = (
        alt.Chart(_data(rows))
        .mark_point(filled=True, opacity=1, stroke="#222222", strokeWidth=POINT_STROKE)
        .encode(
            x=_time_axis(t("time", language)),
            y=alt.Y("score:Q", title=t("reports", language)),
            **_zone_marks([r.colour for r in reports], language),
            tooltip=[
                alt.Tooltip("when:N", title=t("time", language)),
                alt.Tooltip("questionnaire:N", title=t("reports", language)),
                alt.Tooltip("score:Q", title=t("value", language)),
                alt.Tooltip("zone:N", title=zone_title),
            ],
        )
    )
    chart: alt.LayerChart | alt.FacetChart = alt.layer(_frame(start, end), points).properties(
        height=160
    )
    return chart
