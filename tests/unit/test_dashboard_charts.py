"""The patient page's charts as Vega-Lite specs: every point is drawn whole, also at the band
edges and at the ends of the period, and the zone bands fill the plot (pure builders)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.api_client import Report
from dashboard.charts import (
    PLOT_HEIGHT_MIN_PX,
    PLOT_WIDTH_MIN_PX,
    POINT_REACH_PX,
    parameter_chart,
    reports_chart,
)
from dashboard.i18n import Language
from dashboard.presenters import Point

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
START = NOW - timedelta(days=30)
#: the COPD template's SpO2 zones: red ≤ 87, yellow ≤ 91
SPO2_ZONES: dict[str, Any] = {
    "red_low": {"value": 87.0, "inclusive": True},
    "yellow_low": {"value": 91.0, "inclusive": True},
}


def _layers(points: list[Point]) -> dict[str, dict[str, Any]]:
    spec = parameter_chart(
        "spo2", points, SPO2_ZONES, [], start=START, end=NOW, language="nb"
    ).to_dict()
    frame, bands, _line, marks = spec["layer"][:4]
    return {"frame": frame, "bands": bands, "points": marks}


def _time(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


@pytest.mark.parametrize(
    "points",
    [
        # the red reading of the browser test: at the bottom band, 40 minutes before now
        [Point(NOW - timedelta(minutes=40), 86.0, "red")],
        # at the red bound, the lowest value, at the very start and the very end of the period
        [Point(START, 87.0, "red"), Point(NOW, 96.0, "green")],
        # a month with a deep fall: the lowest point is far below every bound
        [
            Point(NOW - timedelta(days=d), v, c)
            for d, v, c in [(20, 95, "green"), (10, 88, "yellow"), (5, 78, "red"), (0, 99, "green")]
        ],
    ],
)
def test_every_point_is_drawn_whole_inside_the_plot(points: list[Point]) -> None:
    """At the smallest plot the padding is sized for, each point's centre is at least its
    symbol's reach (half the symbol and its outline) from every edge of the plot."""
    layers = _layers(points)
    low, high = layers["points"]["encoding"]["y"]["scale"]["domain"]
    frame = [_time(row["at"]) for row in layers["frame"]["data"]["values"]]
    first, last = min(frame), max(frame)
    for row in layers["points"]["data"]["values"]:
        from_bottom = (row["value"] - low) / (high - low) * PLOT_HEIGHT_MIN_PX
        from_top = (high - row["value"]) / (high - low) * PLOT_HEIGHT_MIN_PX
        from_left = (_time(row["at"]) - first) / (last - first) * PLOT_WIDTH_MIN_PX
        from_right = (last - _time(row["at"])) / (last - first) * PLOT_WIDTH_MIN_PX
        assert min(from_bottom, from_top, from_left, from_right) >= POINT_REACH_PX, row


def test_the_zone_bands_fill_the_padded_plot() -> None:
    """The bands run from the bottom to the top of the value axis and over the whole time
    axis, red below 87, yellow to 91, green above: no white strip where the padding is."""
    layers = _layers([Point(NOW - timedelta(minutes=40), 86.0, "red")])
    low, high = layers["points"]["encoding"]["y"]["scale"]["domain"]
    assert layers["bands"]["encoding"]["y"]["scale"]["domain"] == [low, high]
    rows = layers["bands"]["data"]["values"]
    assert [(r["low"], r["high"], r["zone"]) for r in rows] == [
        (low, 87.0, "Rød"),
        (87.0, 91.0, "Gul"),
        (91.0, high, "Grønn"),
    ]
    frame = sorted(row["at"] for row in layers["frame"]["data"]["values"])
    assert {(r["start"], r["end"]) for r in rows} == {(frame[0], frame[1])}
    assert _time(frame[0]) < START.timestamp()
    assert _time(frame[1]) > NOW.timestamp()


# ----------------------------------------------------------------------------- zone marks

GLUCOSE_ZONES: dict[str, Any] = {
    "red_low": {"value": 3.0, "inclusive": False},
    "yellow_low": {"value": 4.0, "inclusive": True},
}


def _glucose_spec(points: list[Point], language: Language = "nb") -> list[dict[str, Any]]:
    spec = parameter_chart(
        "glucose", points, GLUCOSE_ZONES, [], start=START, end=NOW, language=language
    ).to_dict()
    layers: list[dict[str, Any]] = spec["layer"]
    return layers


def _mark(layer: dict[str, Any]) -> str:
    mark = layer["mark"]
    return str(mark["type"] if isinstance(mark, dict) else mark)


def _points_layer(layers: list[dict[str, Any]]) -> dict[str, Any]:
    [points] = [
        layer
        for layer in layers
        if _mark(layer) == "point" and "color" in layer.get("encoding", {})
    ]
    return points


def _texts(layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [layer for layer in layers if _mark(layer) == "text"]


def _by_zone(encoding: dict[str, Any]) -> dict[str, Any]:
    return dict(zip(encoding["scale"]["domain"], encoding["scale"]["range"], strict=True))


def test_each_zone_has_its_own_shape_colour_and_size_in_one_legend() -> None:
    """Red is a large red diamond, yellow a yellow triangle, green a small green circle, so a
    reader who cannot tell red from green still sees the zone; one legend names them in
    bokmål (colour, shape and size encode the same field with the same title)."""
    layers = _glucose_spec(
        [
            Point(NOW - timedelta(days=3), 6.0, "green"),
            Point(NOW - timedelta(days=20), 2.6, "red"),
            Point(NOW - timedelta(days=10), 3.6, "yellow"),
        ]
    )
    encoding = _points_layer(layers)["encoding"]
    assert _by_zone(encoding["shape"]) == {
        "Rød": "diamond",
        "Gul": "triangle-up",
        "Grønn": "circle",
    }
    assert _by_zone(encoding["color"]) == {"Rød": "#d7191c", "Gul": "#e6b800", "Grønn": "#009e73"}
    sizes = _by_zone(encoding["size"])
    assert sizes["Rød"] > sizes["Gul"] > sizes["Grønn"]
    assert sizes["Rød"] >= 300  # about 17 px across: seen at a glance
    for channel in ("color", "shape", "size"):
        assert encoding[channel]["field"] == "zone"
        assert encoding[channel]["legend"]["title"] == "Sone"


def test_deviating_points_have_their_value_written_beside_them_with_a_decimal_comma() -> None:
    """The red 2.6 and the yellow 3.6 are labelled "2,6 mmol/L" and "3,6 mmol/L" (no-break
    space before the unit); the green point has no label; a label near the end of the period
    is written to the left of its point so that it stays inside the plot."""
    layers = _glucose_spec(
        [
            Point(NOW - timedelta(days=20), 2.6, "red"),
            Point(NOW - timedelta(days=10), 6.0, "green"),
            Point(NOW - timedelta(hours=2), 3.6, "yellow"),
        ]
    )
    labels = {
        row["text"]: layer["mark"]["align"]
        for layer in _texts(layers)
        for row in layer["data"]["values"]
    }
    assert labels == {"2,6\u00a0mmol/L": "left", "3,6\u00a0mmol/L": "right"}


def test_tooltips_and_the_value_axis_use_the_readers_decimal_sign() -> None:
    """The tooltip shows the value as text with its unit ("2,6 mmol/L" in bokmål, "2.6
    mmol/L" in English) under Norwegian titles, and the value axis's labels swap the decimal
    point for a comma in bokmål only."""
    point = Point(NOW - timedelta(days=20), 2.6, "red")
    nb = _points_layer(_glucose_spec([point], "nb"))
    en = _points_layer(_glucose_spec([point], "en"))
    assert [(t["field"], t["title"]) for t in nb["encoding"]["tooltip"]] == [
        ("when", "Tid"),
        ("value_text", "Verdi"),
        ("zone", "Sone"),
    ]
    assert nb["data"]["values"][0]["value_text"] == "2,6\u00a0mmol/L"
    assert en["data"]["values"][0]["value_text"] == "2.6\u00a0mmol/L"
    assert nb["encoding"]["y"]["axis"]["labelExpr"] == "replace(datum.label, '.', ',')"
    assert "labelExpr" not in en["encoding"]["y"]["axis"]


def test_a_reading_with_an_uncertain_time_gets_an_icon_and_words_in_its_tooltip() -> None:
    """A value the gateway timed carries 🕓 above its point, and its tooltip says in words
    that the gateway, not the meter, set the time; a value without flags gets neither."""
    layers = _glucose_spec(
        [
            Point(NOW - timedelta(days=5), 2.6, "red", ("timed_by_gateway",)),
            Point(NOW - timedelta(days=4), 6.0, "green"),
        ]
    )
    icons = [
        (row["text"], row["value"])
        for layer in _texts(layers)
        if layer["mark"].get("baseline") in ("bottom", "top")
        for row in layer["data"]["values"]
    ]
    assert icons == [("🕓", 2.6)]
    points = _points_layer(layers)
    assert ("trust", "Merknad om målingen") in [
        (t["field"], t["title"]) for t in points["encoding"]["tooltip"]
    ]
    trust = {row["value"]: row["trust"] for row in points["data"]["values"]}
    assert trust[6.0] == ""
    assert trust[2.6].startswith("🕓 Tidspunktet er satt av gatewayen")
    assert "ikke av måleren" in trust[2.6]


def test_the_reports_chart_names_the_questionnaire_by_its_title_never_its_id() -> None:
    report = Report(
        id="r1",
        questionnaire="copd-daily",
        answers={},
        answered_at=NOW,
        score=3,
        colour="yellow",
    )
    spec = reports_chart([report], start=NOW - timedelta(days=7), end=NOW, language="nb").to_dict()
    rows = [row for layer in spec["layer"] for row in layer.get("data", {}).get("values", [])]
    named = {row["questionnaire"] for row in rows if "questionnaire" in row}
    assert named == {"Daglig KOLS-sjekk"}
