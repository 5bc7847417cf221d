class AnomalyError(Exception):
    """A detection, review or incident request that cannot be carried out; the message says why."""
