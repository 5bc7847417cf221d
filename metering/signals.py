"""Signals metering sends; it never imports the apps that listen.

reads_corrected: sent inside an import's transaction when stored reads were corrected, with
`run` (the ImportRun) and `corrections` (a queryset of its ReadCorrection rows). A receiver answers
the corrections that fall in an issued bill's period as a list of (customer_id, read_date, bill_number);
the import report lists them (SPEC §1) and the bills themselves are not changed.
"""

from django.dispatch import Signal

reads_corrected = Signal()
