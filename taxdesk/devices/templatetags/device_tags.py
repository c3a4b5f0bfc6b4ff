from django import template
from django.urls import NoReverseMatch

register = template.Library()

STATUS_CLASSES = {
    "in_stock": "text-bg-secondary",
    "sold": "text-bg-info",
    "issued": "text-bg-primary",
    "in_use": "text-bg-success",
    "under_repair": "text-bg-warning",
}


@register.filter
def url_of(obj) -> str:
    """A record's page, or "" while the page is not there (another app may not have it yet)."""
    if obj is None:
        return ""
    try:
        return obj.get_absolute_url()
    except (NoReverseMatch, AttributeError):
        return ""


@register.filter
def status_class(status: str) -> str:
    """Bootstrap badge colours of a device state; end states are grey outlines."""
    return STATUS_CLASSES.get(status, "text-bg-light border")
