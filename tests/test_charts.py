"""Bar charts as inline SVG (pure): well-formed, accessible, escaped, "<5" with no size, proportional."""

import xml.etree.ElementTree as ET

from markupsafe import Markup

from app.stats.charts import SUPPRESSED_WIDTH, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(chart: Markup) -> ET.Element:
    return ET.fromstring(str(chart))


def bars(svg: ET.Element) -> list[ET.Element]:
    return [rect for rect in svg.iter(f"{SVG}rect") if "stats-bar" in rect.get("class", "").split()]


def texts(svg: ET.Element, css_class: str) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("class") == css_class]


def test_accessible_and_scalable():
    chart = bar_chart("Chats started by language", ["Svenska", "العربية"], [120, 40])
    assert isinstance(chart, Markup)
    svg = parse(chart)
    assert svg.get("role") == "img"
    assert svg.get("viewBox", "").startswith("0 0 ")
    assert svg.get("width") in (None, "100%")
    title = svg.find(f"{SVG}title")
    assert title is not None and title.text == "Chats started by language"
    assert svg.get("aria-labelledby") == title.get("id")
    desc = svg.find(f"{SVG}desc")
    assert desc is not None and desc.text == "Svenska: 120; العربية: 40"
    assert svg.get("aria-describedby") == desc.get("id")
    assert texts(svg, "stats-label") == ["Svenska", "العربية"]
    assert texts(svg, "stats-value") == ["120", "40"]
    assert "<script" not in str(chart) and " style=" not in str(chart)


def test_text_never_depends_on_the_page_direction():
    svg = parse(bar_chart("t", ["Svenska", "العربية", "«العربية» (ar)", "(ar) العربية"], [1000, 5, 6, 7]))
    for text in svg.iter(f"{SVG}text"):
        assert text.get("text-anchor") == "start"
        assert text.get("direction") in ("ltr", "rtl")
    labels = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "stats-label"]
    # The first strong character decides, as with dir="auto".
    assert [t.get("direction") for t in labels] == ["ltr", "rtl", "rtl", "ltr"]
    assert labels[0].get("x") == "0" and labels[1].get("x") == svg.get("viewBox", "").split()[2]


def test_a_hostile_label_is_escaped():
    chart = str(bar_chart("<b>title</b>", ['<script>alert("x")</script>', "a & b"], [10, 20]))
    assert "<script>" not in chart and "<b>" not in chart
    svg = ET.fromstring(chart)
    assert texts(svg, "stats-label") == ['<script>alert("x")</script>', "a & b"]
    assert not list(svg.iter(f"{SVG}script"))
    title = svg.find(f"{SVG}title")
    assert title is not None and title.text == "<b>title</b>"


def test_a_suppressed_value_reads_under_five_and_has_no_size():
    svg = parse(bar_chart("t", ["a", "b", "c"], [None, 5000, None]))
    assert texts(svg, "stats-value") == ["<5", "5\u202f000", "<5"]
    hidden = [b for b in bars(svg) if "stats-bar-suppressed" in b.get("class", "")]
    assert len(hidden) == 2
    assert {float(b.get("width", "")) for b in hidden} == {SUPPRESSED_WIDTH}
    assert all(b.get("fill", "").startswith("url(#") for b in hidden)
    # The same fixed bar whatever the largest visible value.
    other = parse(bar_chart("t", ["a", "b"], [None, 6]))
    assert [float(b.get("width", "")) for b in bars(other)][0] == SUPPRESSED_WIDTH


def test_bars_are_proportional():
    svg = parse(bar_chart("t", ["a", "b", "c", "d"], [100, 50, 25, 0]))
    widths = [float(b.get("width", "")) for b in bars(svg)]
    assert widths[3] == 0
    assert abs(widths[1] / widths[0] - 0.5) < 0.001
    assert abs(widths[2] / widths[0] - 0.25) < 0.001


def test_ids_are_unique_per_chart():
    first, second = parse(bar_chart("Same", ["a"], [9])), parse(bar_chart("Same", ["a"], [9]))
    ids = [e.get("id") for svg in (first, second) for e in svg.iter() if e.get("id")]
    assert len(ids) == len(set(ids)) == 6


def test_nothing_to_show():
    svg = parse(bar_chart("Empty", [], []))
    assert svg.get("role") == "img" and bars(svg) == []
    svg = parse(bar_chart("All hidden", ["a", "b"], [None, None]))
    assert texts(svg, "stats-value") == ["<5", "<5"]
