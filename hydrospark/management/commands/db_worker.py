"""django-tasks-db's `db_worker`, beating a heartbeat row while it runs, so /healthz can tell an idle worker
pool from a dead one (hydrospark/health.py). Everything else, options included, is django-tasks-db's.

The `hydrospark` app is listed before `django_tasks_db` in INSTALLED_APPS so that this command is the one
`manage.py db_worker` runs."""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as TasksDbWorker

from hydrospark.health import Heartbeat


class Command(TasksDbWorker):
    help = f"{TasksDbWorker.help}, recording a heartbeat every WORKER_HEARTBEAT_SECONDS for /healthz"

    def handle(self, *args, **options):
        # With --reload the first process only watches files and restarts a child that runs the tasks: only
        # the process that runs them beats.
        reloading = options.get("reload") and not options.get("batch")  # django-tasks-db drops --reload with --batch
        if reloading and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            return super().handle(*args, **options)
        heartbeat = Heartbeat(options["worker_id"])
        heartbeat.start()
        try:
            return super().handle(*args, **options)
        finally:
            heartbeat.stop()
