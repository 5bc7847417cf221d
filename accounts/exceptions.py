class AccountError(Exception):
    """A change to an account that accounts' services refuse; the message says why, for the person asking."""
