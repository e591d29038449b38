from __future__ import annotations

from pathlib import Path

import django
from django.forms.renderers import TemplatesSetting
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import stringformat
from django.utils.safestring import SafeData, mark_safe

# Django's own widget templates, as shipped: the fast path below writes exactly their markup.
_DJANGO_WIDGETS = Path(django.__file__).parent / "forms" / "templates" / "django" / "forms"
_SELECT = "django/forms/widgets/select.html"
_OPTION = "django/forms/widgets/select_option.html"
_ATTRS = "django/forms/widgets/attrs.html"
# {{ … }} in a template rendered by the renderer: autoescaped, localized, local time.
_CONTEXT = Context()


def _text(value) -> str:
    return render_value_in_context(value, _CONTEXT)


def _text_s(value) -> str:
    """``{{ value|stringformat:'s' }}``."""
    text = stringformat(value, "s")
    return _text(mark_safe(text) if isinstance(value, SafeData) else text)


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_text_s(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _plain(attrs: dict) -> bool:
    # A template calls a callable it is given; the fast path would not.
    return not any(callable(value) for value in attrs.values())


def _select(widget: dict) -> str | None:
    """django/forms/widgets/select.html with its select_option.html, written in Python.

    Choice lists are the costly part of a page's forms (every <option> is two template
    includes: ~25 µs each, so ~8 ms for the relationship filters' 126 options). None when
    an option uses another template, so that template renders as usual.
    """
    if not _plain(widget["attrs"]):
        return None
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != _OPTION or not _plain(option["attrs"]):
                return None
            parts.append(
                f'\n  <option value="{_text_s(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts).strip()


class RapportFormRenderer(TemplatesSetting):
    """Every form renders with Bootstrap markup and inline, per-field error messages."""

    form_template_name = "forms/div.html"
    field_template_name = "forms/field.html"

    def render(self, template_name: str, context: dict, request=None) -> str:
        if template_name == _SELECT and self._stock_select():
            html = _select(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request)

    def _stock_select(self) -> bool:
        """Whether the select templates in use are Django's own (not overridden in a
        project or app template directory), so the fast path writes what they would."""
        stock = getattr(self, "_stock", None)
        if stock is None:
            stock = self._stock = all(
                Path(self.get_template(name).origin.name).is_relative_to(_DJANGO_WIDGETS)
                for name in (_SELECT, _OPTION, _ATTRS)
            )
        return stock
