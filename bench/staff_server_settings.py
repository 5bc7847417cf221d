"""Settings of the gunicorn server that bench_staff measures: the project's production settings, except
static files are served unhashed, because `collectstatic` with the manifest storage currently stops at
the missing bootstrap.bundle.min.js.map (and the benchmark never fetches static files)."""

from hydrospark.settings import *  # noqa: F403
from hydrospark.settings import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
