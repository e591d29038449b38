"""Every date field of every form renders as <input type="date"> holding an ISO date: the
browser drops any other value (en-gb's 04/12/2026 left "Assessed on" blank)."""

from __future__ import annotations

import importlib
import inspect
from datetime import date
from pathlib import Path

import pytest
from django import forms

from core.forms import DateInput
from stakeholders.forms import AssessmentForm

ROOT = Path(__file__).resolve().parents[2]


def project_forms() -> list[type[forms.BaseForm]]:
    found = []
    for path in sorted(ROOT.glob("*/forms.py")):
        module = importlib.import_module(f"{path.parent.name}.forms")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_the_scan_finds_the_forms():
    assert AssessmentForm in project_forms()


@pytest.mark.parametrize("form_class", project_forms(), ids=lambda cls: cls.__qualname__)
def test_every_date_field_uses_the_shared_date_input(form_class):
    for name, field in form_class.base_fields.items():
        if isinstance(field, forms.DateField) and not isinstance(field, forms.DateTimeField):
            assert isinstance(field.widget, DateInput), f"{form_class.__name__}.{name}"


def test_the_assessment_date_renders_as_an_iso_value(settings):
    settings.LANGUAGE_CODE = "en-gb"
    html = str(AssessmentForm(initial={"assessed_on": date(2026, 12, 4)})["assessed_on"])
    assert 'type="date"' in html
    assert 'value="2026-12-04"' in html
