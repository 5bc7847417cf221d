"""Analytics charts: pure functions from plain data to SVG bytes, matplotlib's object API only.

They share metering.charts' palette and renderer (its lock keeps matplotlib's global style settings
from mixing between threads). No chart carries user-entered text (no customer names), so the pages
can show them as images without any escaping question.
"""

import datetime
from collections.abc import Sequence

from metering.charts import AQUA, BLUE, DEEP, GREY, INK, _render

TYPE_COLOURS = {"Residential": AQUA, "Commercial": BLUE, "Municipal": DEEP}
AGING_COLOURS = ["#2f9e44", "#f2c94c", "#f2994a", "#e8590c", "#c92a2a"]
Number = float | int

# slug -> title: the charts of the analytics page, each drawn from the table of the same slug
ANALYTICS = {
    "consumption-by-month": "Consumption by month and customer type",
    "year-over-year": "This year against last",
    "revenue-by-month": "Billed and collected by month",
    "receivables-aging": "Receivables aging",
}


def stacked_months_chart(months: Sequence[datetime.date], series: dict[str, Sequence[Number]], *, unit="CCF") -> bytes:
    """Stacked bars per month, one colour per series (e.g. customer type), oldest month first."""
    fig, ax = _axes()
    positions = range(len(months))
    bottom = [0.0] * len(months)
    for label, values in series.items():
        values = [float(v) for v in values]
        ax.bar(positions, values, bottom=bottom, width=0.75, color=TYPE_COLOURS.get(label, GREY), label=label, zorder=2)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(list(positions), month_labels(months))
    _finish(ax, unit, legend=True)
    return _render(fig, "svg", 110)


def paired_bars_chart(
    labels: Sequence[str], first: Sequence[Number | None], second: Sequence[Number | None], *, names, unit="CCF"
) -> bytes:
    """Two bars per label (e.g. last year and this year, billed and collected); None draws no bar."""
    fig, ax = _axes()
    positions = list(range(len(labels)))
    for offset, values, colour, name in ((-0.2, first, GREY, names[0]), (0.2, second, BLUE, names[1])):
        xs = [p + offset for p, v in zip(positions, values, strict=True) if v is not None]
        ax.bar(xs, [float(v) for v in values if v is not None], width=0.38, color=colour, label=name, zorder=2)
    ax.set_xticks(positions, labels)
    _finish(ax, unit, legend=True)
    return _render(fig, "svg", 110)


def aging_chart(buckets: Sequence[tuple[str, Number]]) -> bytes:
    """Open balances by how long they are overdue, from current to the oldest bucket."""
    fig, ax = _axes(size=(10, 2.8))
    labels = [label for label, _ in buckets]
    values = [float(v) for _, v in buckets]
    colours = (AGING_COLOURS * 2)[: len(buckets)]
    ax.bar(range(len(buckets)), values, width=0.6, color=colours, zorder=2)
    ax.set_xticks(range(len(buckets)), labels)
    _finish(ax, "$", legend=False)
    return _render(fig, "svg", 110)


def _axes(size=(10, 3.4)):
    from matplotlib.figure import Figure  # here, not at the top: loading matplotlib waits for a chart

    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _finish(ax, unit: str, *, legend: bool):
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e3e9f0", linewidth=0.8, zorder=0)
    ax.tick_params(axis="both", length=0, labelsize=9, colors=INK)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _short(v, unit)))
    ax.set_ylim(bottom=0)
    if unit != "$":
        ax.set_ylabel(unit, fontsize=9, color=INK)
    if legend:  # above the plot, where it can never cover a bar
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, fontsize=9, ncols=3, borderaxespad=0.2)


def _short(value: float, unit: str) -> str:
    prefix = "$" if unit == "$" else ""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{prefix}{value / size:,.1f}".rstrip("0").rstrip(".") + suffix
    return f"{prefix}{value:,.0f}"


def month_labels(months: Sequence[datetime.date]) -> list[str]:
    """Short month names, with the year under the first bar and each January (two years read unambiguously)."""
    return [f"{m:%b}\n{m:%Y}" if i == 0 or m.month == 1 else f"{m:%b}" for i, m in enumerate(months)]
