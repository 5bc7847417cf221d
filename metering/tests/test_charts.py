"""The shared usage charts: pure functions from data to SVG or PNG bytes."""

import datetime
from decimal import Decimal

import pytest

from metering import charts

JAN = datetime.date(2025, 1, 1)
MONTHS = [(datetime.date(2024 + (m // 12), m % 12 + 1, 1), Decimal("8.5") + m) for m in range(13)]
DAYS = [(JAN + datetime.timedelta(days=i), Decimal("0.3125")) for i in range(30)]


def test_monthly_chart_is_an_svg_with_text_labels():
    svg = charts.monthly_usage_chart(MONTHS, highlight_month=MONTHS[-1][0])
    assert svg.startswith(b"<?xml")
    assert b"<svg" in svg
    assert b"Jan" in svg and b"2024" in svg  # text kept as text, not paths


def test_the_same_data_draws_the_same_bytes():
    assert charts.monthly_usage_chart(MONTHS) == charts.monthly_usage_chart(MONTHS)


def test_png_is_available_for_emails_and_pdfs():
    png = charts.daily_usage_chart(DAYS, fmt="png", mark_date=DAYS[3][0])
    assert png.startswith(b"\x89PNG")


def test_long_daily_spans_draw_with_comparison_threshold_and_marks():
    days = [(datetime.date(2023, 1, 1) + datetime.timedelta(days=i), 0.4) for i in range(800)]
    svg = charts.daily_usage_chart(
        days[400:], compare=days[:400], threshold=0.9, mark_date=[days[500][0], days[600][0]], unit="gallons"
    )
    assert b"Threshold" in svg and b"gallons" in svg and b"Same days last year" in svg


def test_empty_data_still_draws_a_chart():
    assert b"<svg" in charts.monthly_usage_chart([])
    assert b"<svg" in charts.daily_usage_chart([])


def test_unknown_unit_or_format_is_refused():
    with pytest.raises(ValueError, match="unit"):
        charts.daily_usage_chart(DAYS, unit="litres")
    with pytest.raises(ValueError, match="format"):
        charts.daily_usage_chart(DAYS, fmt="gif")


def test_summary_sentence_gives_total_average_and_peak_in_the_chosen_unit():
    text = charts.chart_summary([(JAN, Decimal("1")), (JAN.replace(day=2), Decimal("3"))], unit="gallons")
    assert text == (
        "2 days from Jan 1, 2025 to Jan 2, 2025: total 2,992 gallons, average 1,496 gallons per day, "
        "highest 2,244 gallons on Jan 2, 2025."
    )
    assert charts.chart_summary([]) == "No reads in this range."


def test_inline_svg_scales_and_is_labelled_by_its_text_alternative():
    html = charts.inline_svg(charts.monthly_usage_chart(MONTHS), title="Monthly use", label_id="usage-summary")
    assert html.startswith("<svg")
    assert 'role="img"' in html and 'aria-labelledby="usage-summary"' in html
    assert "<title>Monthly use</title>" in html
    assert ' width="' not in html.split(">", 1)[0]
