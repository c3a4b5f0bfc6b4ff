from django import template
from django.urls import NoReverseMatch

register = template.Library()


@register.filter
def url_or_empty(obj) -> str:
    """A record's page, or "" while the page does not exist (another app's, not yet built)."""
    try:
        return obj.get_absolute_url()
    except (NoReverseMatch, AttributeError):
        return ""
