"""Usage charts: pure functions from data to image bytes (SVG for pages, PNG for emails and PDFs).

Only matplotlib's object API is used (`Figure` + `savefig`), never `pyplot`: pyplot keeps global
figure state that leaks memory and is not thread-safe in a server. Callers (views, bill documents,
the anomaly pages) cache the bytes and write the text alternative themselves; `chart_summary`
helps with the latter.

Values are always passed in CCF; `unit="gallons"` converts for display (1 CCF = 748 US gallons).
"""

import datetime
import functools
import io
import re
import threading
from collections.abc import Iterable, Sequence
from decimal import Decimal

# matplotlib's submodules are imported where a chart is drawn: importing them here would load matplotlib
# (0.4 s) in every process that imports a view, drawing or not (hydrospark/lazy_imports.py).
import matplotlib

GALLONS_PER_CCF = 748
BLUE = "#0b5cab"
AQUA = "#19a7ce"
DEEP = "#083b6e"
GREY = "#9aa8b8"
INK = "#33475b"
ALERT = "#d9480f"
UNITS = {"CCF": 1, "gallons": GALLONS_PER_CCF}

# rcParams are process-global: drawing holds this lock so concurrent threads (runserver, gthread
# workers) never see each other's temporary settings.
_LOCK = threading.Lock()
_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.edgecolor": "#c5d0dc",
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "svg.fonttype": "none",  # text stays text: small files, selectable, readable by screen readers
    "svg.hashsalt": "hydrospark",  # stable element ids: the same data gives the same bytes
}

Number = Decimal | float | int


def _styled(draw):
    """Run a whole drawing (figure creation to savefig) under the house style: rcParams are read
    both when artists are created and when they are saved."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with _LOCK, matplotlib.rc_context(_STYLE):
            return draw(*args, **kwargs)

    return wrapper


@_styled
def monthly_usage_chart(
    months: Sequence[tuple[datetime.date, Number]],
    *,
    fmt: str = "svg",
    highlight_month: datetime.date | None = None,
    compare: Sequence[tuple[datetime.date, Number]] | None = None,
    unit: str = "CCF",
    compare_label: str = "Same month last year",
    size: tuple[float, float] = (8, 3.2),
    dpi: int = 110,
) -> bytes:
    """Bars of monthly use (first day of month, CCF), oldest first.

    highlight_month: the bar drawn in the brand blue (e.g. the current or billed month); the
    others are lighter. compare: the same months a year earlier, drawn as short grey marks.
    """
    factor = _factor(unit)
    _check_format(fmt)
    fig, ax = _figure(size)
    positions = list(range(len(months)))
    values = [float(v) * factor for _, v in months]
    colours = [BLUE if m == highlight_month else AQUA for m, _ in months]
    ax.bar(positions, values, width=0.7, color=colours, zorder=2, label="Your use")
    if compare:
        earlier = {(m.year + 1, m.month): float(v) * factor for m, v in compare}
        points = [(i, earlier[(m.year, m.month)]) for i, (m, _) in enumerate(months) if (m.year, m.month) in earlier]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(xs, ys, marker="_", s=260, linewidths=2.5, color=DEEP, zorder=3, label=compare_label)
    narrow = size[0] < 5  # phone-sized: initials only ("J F M ..."), the year where it changes
    ax.set_xticks(positions, [_month_label(m, i, months, narrow) for i, (m, _) in enumerate(months)])
    ax.set_xlim(-0.6, max(len(months), 1) - 0.4)
    _finish(ax, unit)
    return _render(fig, fmt, dpi)


@_styled
def daily_usage_chart(
    days: Sequence[tuple[datetime.date, Number]],
    *,
    fmt: str = "svg",
    mark_date: datetime.date | Iterable[datetime.date] | None = None,
    compare: Sequence[tuple[datetime.date, Number]] | None = None,
    threshold: Number | None = None,
    unit: str = "CCF",
    compare_label: str = "Same days last year",
    size: tuple[float, float] = (8, 3.2),
    dpi: int = 110,
) -> bytes:
    """Daily use (date, CCF), oldest first: bars for short spans, a filled line for long ones.

    mark_date: one date or several (e.g. anomalies) drawn as orange points. compare: reads of the
    same days a year earlier, shifted forward a year and drawn as a grey line. threshold: a dashed
    line (e.g. an anomaly rule's μ + 2σ), in CCF.
    """
    factor = _factor(unit)
    _check_format(fmt)
    fig, ax = _figure(size)
    dates = [d for d, _ in days]
    values = [float(v) * factor for _, v in days]
    if len(days) <= 62:
        ax.bar(dates, values, width=0.8, color=AQUA, zorder=2, label="Your use")
    else:
        ax.fill_between(dates, values, step="mid", color=AQUA, alpha=0.35, linewidth=0, zorder=2)
        ax.plot(dates, values, drawstyle="steps-mid", color=BLUE, linewidth=0.9, zorder=3, label="Your use")
    if compare:
        shifted = [(_add_year(d), float(v) * factor) for d, v in compare]
        shifted = [(d, v) for d, v in shifted if d is not None]
        if shifted:
            xs, ys = zip(*shifted, strict=True)
            ax.plot(xs, ys, color=DEEP, linewidth=1.1, alpha=0.75, zorder=4, label=compare_label)
    if threshold is not None:
        ax.axhline(float(threshold) * factor, color=ALERT, linewidth=1, linestyle="--", zorder=4, label="Threshold")
    marked = _marks(mark_date, dict(zip(dates, values, strict=True)))
    if marked:
        xs, ys = zip(*marked, strict=True)
        ax.scatter(xs, ys, s=40, color=ALERT, edgecolors="white", linewidths=0.8, zorder=5, label="Marked day")
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num

    locator = AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))
    if dates:
        pad = 0.7 if len(days) <= 62 else 0  # in days: room for the first and last bar
        ax.set_xlim(date2num(dates[0]) - pad, date2num(dates[-1]) + pad)
    _finish(ax, unit)
    return _render(fig, fmt, dpi)


def chart_summary(points: Sequence[tuple[datetime.date, Number]], *, unit: str = "CCF", period: str = "day") -> str:
    """One sentence for a chart's text alternative: span, total, average and the peak."""
    if not points:
        return "No reads in this range."
    factor = _factor(unit)
    values = [float(v) * factor for _, v in points]
    peak_at = max(range(len(values)), key=values.__getitem__)
    fmt_date = "%b %Y" if period == "month" else "%b %-d, %Y"
    digits = 0 if unit == "gallons" else 2
    return (
        f"{len(points)} {period}s from {points[0][0]:{fmt_date}} to {points[-1][0]:{fmt_date}}: "
        f"total {sum(values):,.{digits}f} {unit}, average {sum(values) / len(values):,.{digits}f} {unit} "
        f"per {period}, highest {values[peak_at]:,.{digits}f} {unit} on {points[peak_at][0]:{fmt_date}}."
    )


def inline_svg(svg: bytes, *, title: str = "", label_id: str = "", id_prefix: str = "") -> str:
    """SVG bytes ready to place in HTML: no XML prolog, scales to its container, and announced as
    one image (role="img") labelled by `label_id` (the id of the element holding the text alternative).
    id_prefix keeps element ids unique when a page holds several charts (markers and clip paths are
    referenced by id, and two charts would otherwise share them)."""
    text = svg.decode()
    text = text[text.index("<svg") :]
    if id_prefix:
        text = re.sub(r'\bid="', f'id="{id_prefix}', text)
        text = text.replace("url(#", f"url(#{id_prefix}").replace('href="#', f'href="#{id_prefix}')
    attrs = ' role="img" preserveAspectRatio="xMidYMid meet"'
    if label_id:
        attrs += f' aria-labelledby="{label_id}"'
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1" + attrs, text, count=1)
    if title:
        text = text.replace(">", f"><title>{_escape(title)}</title>", 1)
    return text


def _figure(size):
    # Fixed margins (set in _finish) rather than layout="constrained": the constrained solver measures
    # every text several times and makes a chart about three times slower to draw.
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    ax = fig.add_subplot()
    return fig, ax


def _finish(ax, unit):
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e3e9f0", linewidth=0.8, zorder=0)
    ax.tick_params(axis="both", length=0, labelsize=9)
    ax.tick_params(axis="x", pad=6)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    digits = 0 if unit == "gallons" else 2
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v, digits)))
    ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.04)
    pairs = sorted(zip(*ax.get_legend_handles_labels(), strict=True), key=lambda p: p[1] != "Your use")
    if len(pairs) > 1:
        handles, labels = zip(*pairs, strict=True)  # above the plot, never over the data
        legend = {"loc": "lower left", "bbox_to_anchor": (0, 1.03), "borderaxespad": 0, "frameon": False}
        ax.legend(handles, labels, fontsize=9, ncols=len(pairs), **legend)
    ax.set_ylabel(unit, fontsize=9)
    width, height = ax.figure.get_size_inches()
    left = 0.75 if unit == "gallons" else 0.6  # inches: room for the tick labels and the unit
    top = 0.4 if len(pairs) > 1 else 0.15
    ax.figure.subplots_adjust(left=left / width, right=1 - 0.12 / width, bottom=0.5 / height, top=1 - top / height)


def _render(fig, fmt, dpi) -> bytes:
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata, facecolor="white")
    return buffer.getvalue()


def _tick(value, digits):
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _check_format(fmt):
    if fmt not in ("svg", "png"):
        raise ValueError(f"Unknown chart format {fmt!r}: use 'svg' or 'png'.")


def _factor(unit):
    if unit not in UNITS:
        raise ValueError(f"Unknown unit {unit!r}: use 'CCF' or 'gallons'.")
    return UNITS[unit]


def _month_label(month, index, months, narrow=False):
    # Name the year on the first bar and on each January so a 13-month span reads unambiguously.
    name = f"{month:%b}"[0] if narrow else f"{month:%b}"
    if len(months) > 40:  # many years: one label a year (each January) is enough
        return f"{month:%Y}" if month.month == 1 else ""
    if len(months) > 16:
        return f"{name}\n{month:%Y}" if month.month == 1 or index == 0 else (name if month.month % 3 == 1 else "")
    if index == 0 or month.month == 1 or len(months) <= 1:
        return f"{name}\n\u2019{month:%y}" if narrow else f"{name}\n{month:%Y}"
    return name


def _marks(mark_date, by_date):
    if mark_date is None:
        return []
    wanted = [mark_date] if isinstance(mark_date, datetime.date) else list(mark_date)
    return [(d, by_date[d]) for d in sorted(set(wanted)) if d in by_date]


def _add_year(day):
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February has no twin next year
        return None


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
