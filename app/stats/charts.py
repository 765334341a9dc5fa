"""Accessible bar charts as inline SVG (pure): no JavaScript, no library, no style sheet of their own.

The chart scales to its container's width (a viewBox, no pixel size) and only uses presentation
attributes, so the strict Content-Security-Policy (no inline styles) lets it through; the page's
style sheet may restyle it through the class names. Each label sits on its own line above its bar
and each value in its own column to the right of the bars, every text with text-anchor="start"
and an explicit direction taken from its first strong character (like dir="auto"): a
right-to-left label starts at the right edge, and no text depends on the page's direction.
"""

from __future__ import annotations

import itertools
import unicodedata

from markupsafe import Markup, escape

from app.stats.suppression import shown

WIDTH = 400
"""Width of the viewBox; everything below is in these units and scales with the container."""
VALUE_COLUMN = 64
"""Room right of the longest bar for its value."""
BAR_AREA = WIDTH - VALUE_COLUMN
LABEL_HEIGHT = 18
BAR_HEIGHT = 16
ROW_GAP = 10
ROW_HEIGHT = LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP
SUPPRESSED_WIDTH = 24
"""A suppressed bar's fixed width: the same for every "<5", so it says nothing about the count."""
FONT_SIZE = 13

_ids = itertools.count(1)
"""Ids unique within a page: a page is rendered by one process, and this never repeats in it."""


def bar_chart(title: str, labels: list[str], values: list[int | None]) -> Markup:
    """A horizontal bar chart of counts; None (suppressed) is a hatched "<5" bar of no particular size."""
    if len(labels) != len(values):
        raise ValueError("one value per label")
    uid = f"stats-chart-{next(_ids)}"
    largest = max((v for v in values if v is not None), default=0)
    height = max(len(labels), 1) * ROW_HEIGHT
    description = "; ".join(f"{label}: {shown(value)}" for label, value in zip(labels, values, strict=True))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stats-chart" role="img" width="100%" '
        f'viewBox="0 0 {WIDTH} {height}" aria-labelledby="{uid}-title" aria-describedby="{uid}-desc" '
        f'font-size="{FONT_SIZE}" fill="currentColor">',
        f'<title id="{uid}-title">{escape(title)}</title>',
        # role="img" hides the texts below from screen readers: the description reads the data out.
        f'<desc id="{uid}-desc">{escape(description)}</desc>',
        f'<defs><pattern id="{uid}-hatch" class="stats-hatch" patternUnits="userSpaceOnUse" width="6" '
        'height="6" patternTransform="rotate(45)">'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="currentColor" stroke-width="2"/></pattern></defs>',
    ]
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        top = index * ROW_HEIGHT
        bar_top = top + LABEL_HEIGHT
        baseline = bar_top + BAR_HEIGHT - 3
        parts.append(_text(label, "stats-label", top + LABEL_HEIGHT - 5))
        if value is None:
            parts.append(f'<rect class="stats-bar stats-bar-suppressed" x="0" y="{bar_top}" '
                         f'width="{SUPPRESSED_WIDTH}" height="{BAR_HEIGHT}" fill="url(#{uid}-hatch)" '
                         'stroke="currentColor" stroke-width="1"/>')
        else:
            width = BAR_AREA * value / largest if largest else 0
            parts.append(f'<rect class="stats-bar" x="0" y="{bar_top}" width="{width:.2f}" '
                         f'height="{BAR_HEIGHT}"/>')
        parts.append(f'<text class="stats-value" x="{BAR_AREA + 6}" y="{baseline}" direction="ltr" '
                     f'unicode-bidi="embed" text-anchor="start">{escape(shown(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _text(label: str, css_class: str, baseline: int) -> str:
    """A label across the chart's width, starting at the edge its own writing direction starts from."""
    rtl = _right_to_left(label)
    return (f'<text class="{css_class}" x="{WIDTH if rtl else 0}" y="{baseline}" '
            f'direction="{"rtl" if rtl else "ltr"}" unicode-bidi="embed" text-anchor="start">'
            f'{escape(label)}</text>')


def _right_to_left(text: str) -> bool:
    """Whether the first strong character is right-to-left (Arabic, Persian, Hebrew...), as dir="auto"."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False
