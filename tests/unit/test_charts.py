"""Charts: the drawing matches the figures, and the figures are printed exactly."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from defusedxml import ElementTree
from flask import Flask
from flask_babel import Babel
from hypothesis import given
from hypothesis import strategies as st

from app import charts


@pytest.fixture(autouse=True)
def _context():
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "en")
    with app.test_request_context():
        yield


def _svg(markup):
    svg = re.search(r"<svg.*</svg>", str(markup), re.S).group(0)
    return ElementTree.fromstring(svg)


NS = "{http://www.w3.org/2000/svg}"


def test_bar_lengths_are_proportional_to_the_values():
    chart = charts.bar_chart([("电费", Decimal("300")), ("水费", Decimal("150"))], title="支出")
    widths = [float(r.get("width")) for r in _svg(chart).iter(f"{NS}rect")]
    assert widths[0] == pytest.approx(2 * widths[1])


def test_the_figures_table_holds_exact_values_with_the_unit():
    chart = charts.bar_chart([("Area", Fraction(2, 3) * 100)], title="Turnout", unit=" %",
                             max_value=100)
    assert "66.67 %" in str(chart)


def test_a_threshold_is_drawn_where_its_value_lies():
    chart = charts.bar_chart([("Area", 50)], title="Turnout", max_value=100,
                             threshold=charts.Threshold(Fraction(200, 3), "2/3"))
    line = next(_svg(chart).iter(f"{NS}line"))
    plot = charts.WIDTH - charts.LABEL_WIDTH - 80
    assert float(line.get("x1")) == pytest.approx(charts.LABEL_WIDTH + plot * 2 / 3, abs=0.1)


def test_labels_are_escaped():
    chart = charts.bar_chart([("<script>", 1)], title="<b>")
    assert "<script>" not in str(chart)
    assert "&lt;script&gt;" in str(chart)


def test_values_above_the_maximum_stay_inside_the_plot():
    chart = charts.bar_chart([("over", 150)], title="t", max_value=100)
    rect = next(_svg(chart).iter(f"{NS}rect"))
    assert float(rect.get("width")) <= charts.WIDTH - charts.LABEL_WIDTH - 80


@given(st.lists(st.one_of(st.none(), st.decimals(min_value=-10**6, max_value=10**6,
                                                  allow_nan=False, places=2)),
                min_size=1, max_size=30))
def test_line_points_stay_inside_the_drawing(values):
    chart = charts.line_chart([str(i) for i in range(len(values))],
                              [charts.Series("s", values)], title="trend")
    svg = _svg(chart)
    height = float(svg.get("viewBox").split()[3])
    circles = list(svg.iter(f"{NS}circle"))
    assert len(circles) == sum(v is not None for v in values)
    for c in circles:
        assert 0 <= float(c.get("cx")) <= charts.WIDTH
        assert 0 <= float(c.get("cy")) <= height


def test_a_series_gap_is_an_empty_cell_not_a_zero():
    chart = charts.line_chart(["1月", "2月"], [charts.Series("收入", [Decimal("10"), None])],
                              title="trend")
    cells = re.findall(r'<td class="num">([^<]*)</td>', str(chart))
    assert cells == ["10", ""]
