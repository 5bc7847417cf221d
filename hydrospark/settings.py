"""HydroSpark settings: every value comes from the environment (or an optional `.env`), in this one file.

See README.md ("Settings") for the list of variables and their defaults.
"""

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from hydrospark.mailers import mailer_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# The test suite runs with production-like settings (DEBUG off) but over plain HTTP and without a
# SECRET_KEY in the environment; only those two relaxations depend on it.
TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see README: Settings).")
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG or TESTING else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "hydrospark.admin_site.HydroSparkAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "crispy_forms",
    "crispy_bootstrap5",
    "hydrospark",  # before django_tasks_db: its db_worker (with the heartbeat /healthz reads) is the one run
    "django_tasks_db",
    "accounts",
    "staff",  # first of the staff pages in the navigation: customers, analytics, audit
    "metering",
    "billing",
    "anomalies",
    "forecast",
    "portal",
]

MIDDLEWARE = [
    "hydrospark.health.HealthCheckMiddleware",  # first: /healthz answers a load balancer by IP over HTTP
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "hydrospark.middleware.PrivateResponsesMiddleware",  # inside the CSP one: its SVG policy is kept
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "hydrospark.urls"
WSGI_APPLICATION = "hydrospark.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.roles",
                "django.template.context_processors.csp",  # {{ csp_nonce }} for the few inline scripts and SVGs
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'hydrospark.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions + a busy timeout let the web server, the task worker and a batch
    # command write to the same file without "database is locked" errors.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        **_db.get("OPTIONS", {}),
    }
elif _db["ENGINE"] == "django.db.backends.mysql":
    _db.setdefault("OPTIONS", {}).update({"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_ALL_TABLES'"})
    _db.setdefault("TEST", {}).update({"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"})
_db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by all workers: login throttling and chart caches live here) -------------------
CACHES = {
    "default": env.cache(
        "CACHE_URL",
        # Charts and analytics keep a few entries per customer: Django's default cap of 300 would evict them.
        default="locmemcache://" if TESTING else f"filecache://{VAR_DIR / 'cache'}?max_entries=20000",
    )
}

# --- Background tasks (Django's tasks API) --------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env.str(
            "TASKS_BACKEND",
            default="django.tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend",
        ),
    }
}


# --- Email ----------------------------------------------------------------------------------------
# SMTP gives up on a mail server that does not answer after this many seconds (a hung server must not hold a
# bill run or a web worker); EMAIL_URL's ?timeout= overrides it. The environment variable is EMAIL_TIMEOUT; the
# setting cannot be (Django 6.1 refuses its deprecated EMAIL_* settings beside MAILERS).
MAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=20)


def _mailer(url: str) -> dict:
    """Django 6.1 MAILERS entry from EMAIL_URL (hydrospark/mailers.py lists the schemes)."""
    if not url and not DEBUG:
        url = "smtp://localhost:25"
    if not url:  # in development a newcomer can read every message the site sends as a file under var/mail/
        url = "filemail://"
    return mailer_from_url(url, timeout=MAIL_TIMEOUT, base_dir=BASE_DIR, default_dir=VAR_DIR / "mail")


MAILERS = {"default": _mailer(env.str("EMAIL_URL", default=""))}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="HydroSpark Water <billing@hydrospark.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:  # the real hasher costs ~0.3 s per user created; tests make hundreds
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
# One login email per account: changing it replaces the old address (bills go to exactly one place).
ACCOUNT_CHANGE_EMAIL = True
# Changing the login email (who receives bills and password resets) asks for the password again, and the old
# address is told of the change (as it is of a password change): a stolen session cannot quietly take the account.
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "HydroSpark: "

# --- Security: production-safe unless relaxed explicitly (e.g. behind a TLS-terminating proxy) ----
_secure_default = not (DEBUG or TESTING)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_secure_default)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_secure_default)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_secure_default)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if _secure_default else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_secure_default)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_secure_default)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every page, the admin included: scripts and styles only from our own static files
# or an inline block carrying the request's nonce; no style="" attributes, handlers, plugins, framing, or forms
# posting elsewhere. Inline SVG charts get their styles moved into a nonced <style> (templatetags/svg_csp.py).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True

# --- Locale, static files, uploads ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="America/Chicago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
# Meter exports are large: uploads stream to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
METER_UPLOAD_MAX_MB = env.int("METER_UPLOAD_MAX_MB", default=200)
PAYMENT_UPLOAD_MAX_MB = env.int("PAYMENT_UPLOAD_MAX_MB", default=20)  # a bank file of 100,000 payments is ~5 MB
# A background import whose progress has not moved for this long is shown as stalled (Retry offered).
# A running background run (import, bill run, sending, detection) whose heartbeat stopped for this long lost its
# process: fail_stalled_runs fails it so it can be retried. Imports may have their own limit.
RUN_STALE_MINUTES = env.int("RUN_STALE_MINUTES", default=15)
METER_IMPORT_STALE_MINUTES = env.int("METER_IMPORT_STALE_MINUTES", default=RUN_STALE_MINUTES)
# Each db_worker records a heartbeat this often; /healthz answers 503 when none beat for HEALTH_WORKER_STALE_SECONDS.
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=30)
HEALTH_WORKER_STALE_SECONDS = env.int("HEALTH_WORKER_STALE_SECONDS", default=120)
# PostgreSQL keeps the meter reads in one partition per month (metering/partitions.py): ensure_read_partitions
# makes them this many months ahead; archive_reads detaches the months older than READS_RETENTION_MONTHS.
READ_PARTITIONS_AHEAD = env.int("READ_PARTITIONS_AHEAD", default=3)
READS_RETENTION_MONTHS = env.int("READS_RETENTION_MONTHS", default=84)
# How long a bill run, issue, rebill or meter import waits for another one holding the same month before it is
# refused with "another run holds this period" (exit 2, nothing changed).
BILLING_PERIOD_LOCK_WAIT_SECONDS = env.int("BILLING_PERIOD_LOCK_WAIT_SECONDS", default=300)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Domain settings --------------------------------------------------------------------------------
ANOMALY_ZSCORE_FACTOR = env.float("ANOMALY_ZSCORE_FACTOR", default=2.0)
# Who sends the bills: printed as the return address (the envelope's top window), on the remittance stub
# and in "how to pay". Lines of the address are separated by ";".
UTILITY_NAME = env.str("UTILITY_NAME", default="HydroSpark Water")
UTILITY_ADDRESS = env.str("UTILITY_ADDRESS", default="PO Box 2250; Dallas, TX 75221-2250")
UTILITY_PHONE = env.str("UTILITY_PHONE", default="(214) 555-0100")
UTILITY_EMAIL = env.str("UTILITY_EMAIL", default="billing@hydrospark.com")
# How customers pay (the portal's "How to pay"). Card payments and autopay belong to the payment provider:
# PAYMENT_URL links there with "{account}" (the location ID) and "{amount}" (due now, e.g. 42.00) filled in;
# empty hides the button. Checks go to UTILITY_ADDRESS.
PAYMENT_URL = env.str("PAYMENT_URL", default="")
PAYMENT_IN_PERSON = env.str(
    "PAYMENT_IN_PERSON",
    default="Customer office, 1500 Marilla St, Dallas, TX 75201: Monday to Friday, 8 am to 5 pm (card, check or cash).",
)
PAYMENT_BANK_TRANSFER = env.str(
    "PAYMENT_BANK_TRANSFER",
    default="ACH or wire to HydroSpark Water, routing number 111000025, account 000123456789.",
)

# LOG_FORMAT=json: one JSON object per line (hydrospark/log_json.py) for a log collector; text for people.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
_LOG_FORMATTERS = {
    "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    "json": {"()": "hydrospark.log_json.JsonFormatter"},
}
if LOG_FORMAT not in _LOG_FORMATTERS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(_LOG_FORMATTERS)}, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {LOG_FORMAT: _LOG_FORMATTERS[LOG_FORMAT]},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
