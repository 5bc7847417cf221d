"""The site's health as a load balancer or monitor asks for it (`GET /healthz`), and the workers' heartbeats.

Healthy means: the database answers, and (when tasks run on django-tasks-db) at least one `db_worker` beat
within HEALTH_WORKER_STALE_SECONDS. The answer is a small JSON with no host names, worker ids or error text:
it is public, so it says only what is wrong, never why (the logs say why).

Heartbeats are operational, not business data: they are not audited (one row per worker every half minute
would drown the audit trail)."""

import datetime
import logging
import os
import socket
import threading

from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.http import JsonResponse
from django.utils import timezone

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
FORGET_AFTER = datetime.timedelta(days=1)  # a worker silent this long is gone: its row is removed


# --- services: the worker's side ------------------------------------------------------------------------------


def worker_beat(*, worker_id: str, started_at: datetime.datetime, now: datetime.datetime | None = None) -> None:
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"host": socket.gethostname()[:255], "pid": os.getpid(), "started_at": started_at, "beat_at": now},
    )
    WorkerHeartbeat.objects.filter(beat_at__lt=now - FORGET_AFTER).delete()


def worker_gone(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


class Heartbeat:
    """A thread beating for one worker process: a worker busy with a long task still shows alive, and one
    whose process died stops beating. The thread has its own database connection, closed after each beat."""

    def __init__(self, worker_id: str, seconds: float | None = None):
        self.worker_id = worker_id
        self.seconds = seconds or settings.WORKER_HEARTBEAT_SECONDS
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.seconds + 5)
        self._guarded(worker_gone, worker_id=self.worker_id)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._guarded(worker_beat, worker_id=self.worker_id, started_at=self.started_at)
            self._stop.wait(self.seconds)

    def _guarded(self, service, **kwargs) -> None:
        # A missed beat (database busy or briefly away) must never stop the worker: /healthz shows it stale.
        try:
            service(**kwargs)
        except DatabaseError:
            logger.warning("worker heartbeat not recorded", exc_info=True)
        finally:
            connections.close_all()  # this thread's connections only


# --- selectors: what /healthz reports -------------------------------------------------------------------------


def uses_workers() -> bool:
    return settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db.")


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except DatabaseError:
        logger.exception("health check: the database did not answer")
        return False


def workers_status(now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    stale_before = now - datetime.timedelta(seconds=settings.HEALTH_WORKER_STALE_SECONDS)
    beats = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True)
    newest = beats.first()
    return {
        "workers": beats.filter(beat_at__gte=stale_before).count(),
        "worker_seen_seconds_ago": None if newest is None else max(0, round((now - newest).total_seconds())),
    }


def health(now: datetime.datetime | None = None) -> tuple[bool, dict]:
    if not database_ok():
        return False, {"status": "unavailable", "database": "unreachable"}
    report = {"status": "ok", "database": "ok"}
    if not uses_workers():  # tasks run inside the web process (the immediate backend): no worker to expect
        return True, report | {"workers": "not used"}
    report |= workers_status(now)
    if report["workers"] == 0:
        logger.error("health check: no task worker beat in the last %ss", settings.HEALTH_WORKER_STALE_SECONDS)
        return False, report | {"status": "unavailable"}
    return True, report


# --- the door --------------------------------------------------------------------------------------------------


class HealthCheckMiddleware:
    """Answers /healthz before every other middleware: a load balancer probes by IP over plain HTTP, with no
    session; the answer depends on neither the host nor the scheme, so ALLOWED_HOSTS, the HTTPS redirect,
    sessions and CSRF have nothing to protect here (and a redirect would read as "down")."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != HEALTH_PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return JsonResponse({"status": "method not allowed"}, status=405, headers={"Allow": "GET, HEAD"})
        healthy, report = health()
        return JsonResponse(report, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})
