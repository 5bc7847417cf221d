class MeterImportError(Exception):
    """A meter export that cannot be imported at all (missing file or column, unreadable, refused as
    --atomic): nothing was changed. Rejected rows are not errors; they are reported on the import run."""
