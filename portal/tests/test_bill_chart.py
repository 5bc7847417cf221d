"""The bill page's usage chart is readable on a phone: the narrow drawing is shown below 576 px."""

import re

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def drawings(page: str) -> dict[str, str]:
    """{the wrapper's classes: the viewBox of the SVG inside it} for the bill's chart."""
    figure = re.search(r'<figure class="chart.*?</figure>', page, re.S).group(0)
    found = re.findall(r'<div class="([^"]*)">\s*<svg[^>]*viewBox="([^"]+)"', figure)
    return dict(found)


def test_the_bill_chart_has_a_narrow_drawing_for_phones(client_for, alice, bills):
    page = client_for(alice).get(f"/portal/bills/{bills['alice'].pk}/").content.decode()
    found = drawings(page)
    assert found == {"d-none d-sm-block": "0 0 576 201.6", "d-sm-none": "0 0 302.4 244.8"}
    # 9 px labels in a 302-unit-wide drawing shown about 300 px wide stay about 9 px on a phone
    assert "font-size: 9px" in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))  # two inline drawings, no id shared between them
