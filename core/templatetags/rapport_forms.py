from __future__ import annotations

from django import template
from django.forms import BoundField, Form
from django.utils.safestring import SafeString

register = template.Library()

_CHECK = {"checkbox"}
_SELECT = {"select", "selectmultiple", "nullbooleanselect"}
_CHOICES = {"checkboxselectmultiple", "radioselect"}


@register.simple_tag
def bs_widget(field: BoundField) -> SafeString:
    """Render a widget with Bootstrap's classes and the invalid state screen readers need."""
    kind = field.widget_type
    if kind in _CHOICES:
        # One input per choice: Django puts a class on the wrapper and on every input alike,
        # so "form-control" would draw each checkbox as a text box. Plain inputs, labelled.
        return field.as_widget(attrs=_invalid(field, {}))
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
    return field.as_widget(attrs=_invalid(field, attrs))


def _invalid(field: BoundField, attrs: dict[str, str]) -> dict[str, str]:
    if field.errors:
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{field.auto_id}_error"
    return attrs


# Fields that order a list rather than narrow it: setting one does not open the filters.
_NOT_FILTERS = {"sort", "o", "ordering"}


@register.filter
def active_filters(form: Form) -> int:
    """How many of a filter form's visible fields the request set (ordering aside): a phone
    shows the filters disclosure open when any is, closed otherwise."""
    if not form.is_bound:
        return 0
    data = form.data
    count = 0
    for field in form.visible_fields():
        if field.name in _NOT_FILTERS:
            continue
        # A field's own name, or its sub-widgets' (a range's name_after / name_before).
        names = [
            key for key in data if key == field.html_name or key.startswith(field.html_name + "_")
        ]
        values = [
            value
            for key in names
            for value in (data.getlist(key) if hasattr(data, "getlist") else [data[key]])
        ]
        if any(str(value).strip() for value in values):
            count += 1
    return count
