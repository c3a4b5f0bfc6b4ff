"""The Celery application. With REDIS_URL set, a worker runs the jobs
(``celery -A taxdesk worker``); without it, settings make every job run in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taxdesk.settings")

app = Celery("taxdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
