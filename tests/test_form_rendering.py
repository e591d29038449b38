"""Choice widgets are written by config.forms without Django's templates, and the markup
must be exactly what the templates give: every <select> on every page depends on it."""

from __future__ import annotations

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.test import override_settings
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

from config import forms as rendering
from config.forms import RapportFormRenderer

lazy_label = lazy(lambda: "Lazy & late", str)


class TemplatesOnly(RapportFormRenderer):
    """The same renderer with every widget drawn by its template."""

    render = TemplatesSetting.render


class Choices(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("a", "Alpha"), ("b", "Bravo")])
    numbers = forms.TypedChoiceField(coerce=int, choices=[(n, f"{n}/5") for n in range(5, 0, -1)])
    escaped = forms.ChoiceField(
        choices=[("<x>", "Fish & <chips>"), ('"q"', mark_safe("<b>safe</b>")), (3, lazy_label())]
    )
    grouped = forms.ChoiceField(
        choices=[("Fruit", [("apple", "Apple"), ("pear", "Pear")]), ("none", "None")]
    )
    several = forms.MultipleChoiceField(choices=[(1, "One"), (2, "Two"), (3, "Three")])
    maybe = forms.NullBooleanField()
    attrs = forms.ChoiceField(
        choices=[("x", "X")],
        widget=forms.Select(attrs={"disabled": True, "data-autosubmit": "", "hidden": False}),
    )
    empty = forms.ChoiceField(choices=[], required=False)


DATA = [
    {},
    {"plain": "b", "numbers": "3", "escaped": "<x>", "grouped": "pear", "several": ["1", "3"]},
    {"plain": "zz", "escaped": '"q"', "grouped": "none", "several": ["2"], "maybe": "true"},
]


@pytest.mark.parametrize("data", DATA)
def test_every_choice_widget_renders_as_django_templates_do(data):
    bound = Choices(data or None, renderer=RapportFormRenderer())
    reference = Choices(data or None, renderer=TemplatesOnly())
    for name in bound.fields:
        widget = bound[name].field.widget
        context = widget.get_context(name, bound[name].value(), {"id": f"id_{name}"})
        # The fast path writes it (it does not fall back to the template) …
        assert rendering._select(context["widget"]) is not None, name
        # … and the page gets exactly the template's markup.
        assert str(bound[name]) == str(reference[name]), name
        assert bound[name].as_field_group() == reference[name].as_field_group(), name


def test_an_overridden_select_template_is_used_instead(tmp_path, settings):
    override = tmp_path / "django" / "forms" / "widgets"
    override.mkdir(parents=True)
    (override / "select.html").write_text("<select data-custom></select>")
    templates = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    with override_settings(TEMPLATES=templates):
        html = str(Choices(renderer=RapportFormRenderer())["plain"])
    assert html == "<select data-custom></select>"
