"""The patient page's charts as Vega-Lite specs: every point is drawn whole, also at the band
edges and at the ends of the period, and the zone bands fill the plot (pure builders)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.charts import (
    PLOT_HEIGHT_MIN_PX,
    PLOT_WIDTH_MIN_PX,
    POINT_REACH_PX,
    parameter_chart,
)
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
