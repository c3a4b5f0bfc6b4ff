from django import forms, template

from taxdesk.core import privacy

register = template.Library()


@register.filter
def bs(field, size: str = ""):
    """Render a form field's widget with Bootstrap's class for its kind."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select | forms.NullBooleanSelect):
        css = "form-select"
    else:
        css = "form-control"
    if size and css != "form-check-input":
        css += f" {css}-{size}"
    if field.errors:
        css += " is-invalid"
    return field.as_widget(attrs={"class": css})


# --- personal data (core.privacy): masked on the server for the roles without need ---------


@register.filter
def phone(number, user) -> str:
    """{{ contact.mobile|phone:user }} → the number in full, or 138****5678."""
    return privacy.phone_for(user, number)


@register.filter
def personal(value, user):
    """{{ entry.changes|personal:user }} → the data with its phone numbers masked for roles
    without need."""
    return privacy.personal_for(user, value)


@register.filter
def sees_personal_data(user) -> bool:
    """{% if user|sees_personal_data %}<a href="tel:…">{% endif %}"""
    return privacy.needs_personal_data(user)
