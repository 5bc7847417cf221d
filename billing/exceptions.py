class BillingError(Exception):
    """A billing action refused: services raise it, views and commands turn it into a message or exit code."""
