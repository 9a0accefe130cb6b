"""Sample label contents for every layout: what ``tracker label preview --sample`` shows, what the benchmark prints,
and what the tests render. Every field a layout can show is filled, so optional elements appear too. The values are
made up; nothing here reads the register.
"""

from __future__ import annotations

from labels.codes import make_badge_code, make_carrier_code, make_location_code
from labels.layout import LabelContent, Layout, badge_content, carrier_content, location_content
from labels.marking import make_marking

__all__ = ["SAMPLE_BADGE", "SAMPLE_CARRIER", "SAMPLE_LOCATION", "sample_content"]

SAMPLE_CARRIER = make_carrier_code("BJ", 123)
SAMPLE_LOCATION = make_location_code("BJ", "R3C2S4")
SAMPLE_BADGE = make_badge_code("BJ", "00042")


def sample_content(layout: Layout, code: str | None = None) -> LabelContent:
    """A filled-in content that fits ``layout`` (``code`` replaces the sample code of the right kind)."""
    if "location" in layout.code_kinds:
        return location_content(code or SAMPLE_LOCATION, "3号柜 第2层")
    if "badge" in layout.code_kinds:
        return badge_content(code or SAMPLE_BADGE, "张三", department="保密办", extra={"site": "北京分部"})
    return carrier_content(
        code or SAMPLE_CARRIER,
        make_marking("机密", 10, (3, 5)),
        title="京密〔2025〕12号",
        bilingual=True,
        extra={"sender": "保密办", "recipient": "档案室"},
    )
