"""EMAIL_URL to a Django 6.1 MAILERS entry, for every scheme django-environ documents.

django-environ still answers with the old EMAIL_* names (and drops the leading slash of a filemail
path); Django 6.1's MAILERS wants a BACKEND and the backend's own OPTIONS, so this translates:

- `smtp://user:password@host:port`, `smtp+tls://…` (STARTTLS, port 587 by default), `smtp+ssl://…`
  (port 465 by default); `?timeout=S`, `?ssl_certfile=…`, `?ssl_keyfile=…` in the query;
- `filemail:///absolute/dir` or `filemail://relative/dir` (under the project), `filemail://` alone is
  the default directory;
- `consolemail://`, `memorymail://`, `dummymail://`.

Only settings.py imports this: nothing here may need the settings, which are not loaded yet.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

SMTP = "django.core.mail.backends.smtp.EmailBackend"
FILE = "django.core.mail.backends.filebased.EmailBackend"
# Query options of an smtp URL that the SMTP backend takes, by django-environ's upper-case name.
SMTP_QUERY_OPTIONS = {"TIMEOUT": "timeout", "SSL_CERTFILE": "ssl_certfile", "SSL_KEYFILE": "ssl_keyfile"}


def mailer_from_url(url: str, *, timeout: float, base_dir: Path, default_dir: Path) -> dict:
    """The MAILERS entry for one EMAIL_URL; SMTP gets `timeout` seconds unless the URL says otherwise."""
    try:
        config = environ.Env.email_url_config(url)
    except (ImproperlyConfigured, KeyError, ValueError):
        config = {}
    backend = config.get("EMAIL_BACKEND")
    if not backend:
        schemes = ", ".join(f"{s}://" for s in environ.Env.EMAIL_SCHEMES)
        raise ImproperlyConfigured(f"EMAIL_URL {_redacted(url)!r} is not usable: its scheme must be one of {schemes}.")
    if backend == SMTP:
        return {"BACKEND": SMTP, "OPTIONS": _smtp_options(config, timeout)}
    if backend == FILE:
        return {"BACKEND": FILE, "OPTIONS": {"file_path": _file_path(url, base_dir, default_dir)}}
    return {"BACKEND": backend}


def _smtp_options(config: dict, timeout: float) -> dict:
    if not config.get("EMAIL_HOST"):
        raise ImproperlyConfigured("EMAIL_URL names no SMTP host (smtp://user:password@host:port).")
    options = {
        "host": config["EMAIL_HOST"],
        "port": config.get("EMAIL_PORT"),
        "username": config.get("EMAIL_HOST_USER"),
        "password": config.get("EMAIL_HOST_PASSWORD"),
        "use_tls": config.get("EMAIL_USE_TLS"),
        "use_ssl": config.get("EMAIL_USE_SSL"),
        "timeout": timeout,
    }
    for name, value in config.get("OPTIONS", {}).items():
        if name not in SMTP_QUERY_OPTIONS:
            known = ", ".join(SMTP_QUERY_OPTIONS.values())
            raise ImproperlyConfigured(f"EMAIL_URL option {name.lower()!r} is unknown: use {known}.")
        options[SMTP_QUERY_OPTIONS[name]] = float(value) if name == "TIMEOUT" else value
    return {key: value for key, value in options.items() if value not in (None, "")}


def _file_path(url: str, base_dir: Path, default_dir: Path) -> str:
    """filemail:///var/mail is /var/mail; filemail://var/mail is the project's var/mail."""
    parts = urlsplit(url)
    path = f"{parts.netloc}{parts.path}"
    if not path:
        return str(default_dir)
    return str(Path(path) if path.startswith("/") else base_dir / path)


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(parts.password, "***") if parts.password else url
