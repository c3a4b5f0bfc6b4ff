"""Template helpers of the taxpayer pages and of the panels other apps add to them.

A record linked from a panel may have no page of its own: its link is left out rather than
breaking the page.
"""

from django import template
from django.urls import NoReverseMatch

register = template.Library()


@register.filter
def url_of(obj) -> str:
    """{{ device|url_of }} → the record's page, or "" if it has none."""
    try:
        return obj.get_absolute_url()
    except (AttributeError, NoReverseMatch):
        return ""
