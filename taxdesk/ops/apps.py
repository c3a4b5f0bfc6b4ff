from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operating a deployment: ``manage.py backup`` and ``manage.py restore`` (no models, no
    pages: nothing here is shown to a user)."""

    name = "taxdesk.ops"
