from django import template

from ..display import remaining_text

register = template.Library()


@register.filter
def remaining(deadline):
    """{{ deadline|remaining }} → "还剩 35 分钟" / "已超时 2 小时"."""
    return remaining_text(deadline)


@register.filter
def overdue(deadline):
    return deadline.is_overdue()
