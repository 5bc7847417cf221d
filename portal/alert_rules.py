"""The rules of the alerts a customer chooses (issue 16), as pure functions: plain data in, plain data out."""

from decimal import Decimal

from hydrospark.units import usage_text

BUDGET_STEPS = (75, 90, 100)  # percent of the monthly budget that each tell the customer once
# On a day away, more than this is use (about 15 gallons): a fridge's ice maker or a dripping tap is less, a
# running toilet or a burst pipe far more. Meters round small flows, so zero would alert on noise.
VACATION_THRESHOLD_CCF = Decimal("0.0200")
# Reads arrive a day or more late: a vacation is still checked for this many days after it ends.
VACATION_LATE_READS_DAYS = 7


def budget_steps_reached(projected: Decimal, budget: Decimal) -> list[int]:
    """The steps of BUDGET_STEPS the projected bill has reached, lowest first ([] for no budget)."""
    if not budget or budget <= 0:
        return []
    return [step for step in BUDGET_STEPS if projected * 100 >= budget * step]


def budget_share(projected: Decimal, budget: Decimal) -> int:
    """The projected bill as a whole percent of the budget, rounded down (never says 90% at 89.6%)."""
    return int(projected * 100 // budget) if budget and budget > 0 else 0


def alert_text(event, unit: str = "ccf") -> str:
    """The sentence an AlertEvent says, on the dashboard and in the email, use in the chosen unit."""
    if event.kind == "budget":
        share = budget_share(event.amount, event.budget)
        return (
            f"Your anticipated bill for {event.period:%B} is ${event.amount:,.2f}, {share}% of your "
            f"${event.budget:,.2f} budget (you asked to hear at {event.threshold}%)"
        )
    return (
        f"Water was used while you were away: {usage_text(event.usage_ccf, unit)} from "
        f"{event.day:%B} {event.day.day} on"
    )
