"""CCF and gallons, with one rounding rule for every page and sentence that shows use (SPEC §1:
1 CCF = 748 US gallons). Use is stored and computed in CCF; gallons are only ever for display."""

from decimal import ROUND_HALF_UP, Decimal

GALLONS_PER_CCF = 748
UNITS = {"ccf": "CCF", "gallons": "gallons"}


def gallons(ccf) -> int:
    """Whole gallons, rounded half up."""
    return int((Decimal(ccf) * GALLONS_PER_CCF).to_integral_value(ROUND_HALF_UP))


def usage_text(ccf, unit: str = "ccf", *, trim: bool = False) -> str:
    """'12.43 CCF' or '9,298 gallons'; trim drops trailing zeros of CCF ('3.2 CCF') for sentences."""
    if unit == "gallons":
        return f"{gallons(ccf):,} gallons"
    text = f"{Decimal(ccf).quantize(Decimal('0.01'), ROUND_HALF_UP):,f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} CCF"
