"""Structured logs (LOG_FORMAT=json): one JSON object per line, for a log collector (journald, Loki, CloudWatch)
to index by level, logger and the fields a call passes in `extra=`, instead of parsing text."""

import datetime
import json
import logging
import traceback

# Attributes every LogRecord has: what is left on a record beyond these came from `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        entry |= {key: _plain(value) for key, value in vars(record).items() if key not in _STANDARD}
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, default=str, ensure_ascii=False)


def _plain(value):
    # Django's request logs pass the request itself: its method and path say which, without its headers,
    # cookies or body (a log must not become a copy of customers' sessions).
    if hasattr(value, "method") and hasattr(value, "path"):
        return f"{value.method} {value.path}"
    return value
