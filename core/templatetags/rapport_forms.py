from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()

_CHECK = {"checkbox"}
_SELECT = {"select", "selectmultiple", "nullbooleanselect"}


@register.simple_tag
def bs_widget(field: BoundField) -> SafeString:
    """Render a widget with Bootstrap's classes and the invalid state screen readers need."""
    kind = field.widget_type
    if kind in _CHECK:
        css = "form-check-input"
    elif kind in _SELECT:
        css = "form-select"
    else:
        css = "form-control"
    existing = field.field.widget.attrs.get("class", "")
    attrs = {"class": f"{css} {existing}".strip()}
    if field.errors:
        attrs["class"] += " is-invalid"
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{field.auto_id}_error"
    return field.as_widget(attrs=attrs)
