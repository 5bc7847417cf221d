"""Signals metering sends; it never imports the apps that listen.

reads_corrected: sent inside an import's transaction when stored reads were corrected, with
`run` (the ImportRun) and `corrections` (a queryset of its ReadCorrection rows). A receiver answers
the corrections that fall in an issued bill's period as a list of (customer_id, read_date, bill_number);
the import report lists them (SPEC §1) and the bills themselves are not changed.

reads_importing: sent inside an import's transaction before it writes anything, with `run` and `periods`
(the first days of the months its reads fall in). Billing takes those periods' locks until the import
commits, so a bill run of such a month never interleaves with it unnoticed: it either ran before (and the
import reports its issued bills among the corrections) or runs after (and prices the imported reads).
A receiver that cannot have a lock raises, and the import fails with nothing changed.

reads_imported: sent after an import's transaction committed, with `run`; receivers react to new reads (the
portal checks the alerts customers chose). Sent robustly: a receiver's failure never fails the import.
"""

from django.dispatch import Signal

reads_corrected = Signal()
reads_importing = Signal()
reads_imported = Signal()
