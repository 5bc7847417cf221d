"""The portal's "what I owe" (issue 16): the account's payments, adjustments and every other entry with the
balance after each, and how to pay. Scoped by construction: the only customer read is request.customer."""

from django.shortcuts import render
from django.utils import timezone

from accounts.roles import customer_required
from billing.customer_account import account_activity, amount_due, payment_instructions, payment_link


@customer_required
def payments(request):
    customer, today = request.customer, timezone.localdate()
    due = amount_due(customer, today=today)
    context = {
        "due": due,
        "activity": account_activity(customer),
        "payment_url": payment_link(customer, due.due_now) if due.due_now else "",
        "how_to_pay": payment_instructions(),
    }
    return render(request, "portal/payments.html", context)
