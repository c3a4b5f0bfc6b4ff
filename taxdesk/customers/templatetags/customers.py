"""Template helpers of the taxpayer pages.

The taxpayer page links to devices, sales, contracts and charges, whose pages other apps add;
a link whose page does not exist (yet) is left out rather than breaking the page.
"""

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.filter
def url_of(obj) -> str:
    """{{ device|url_of }} → the record's page, or "" if it has none."""
    try:
        return obj.get_absolute_url()
    except (AttributeError, NoReverseMatch):
        return ""


@register.simple_tag
def optional_url(name, *args) -> str:
    """{% optional_url "sales:sale_add" taxpayer.pk as url %} → "" if there is no such page."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
