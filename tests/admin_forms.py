"""Posting an admin form as a browser would: the fields and inline management forms of the
page just rendered (so the hidden version travels too), with the test's changes on top."""

from __future__ import annotations

from datetime import date

from django.test import Client


def _as_posted(value) -> object | None:
    """A bound field's value as a browser sends it; None: the browser sends nothing."""
    if value is None or value is False:
        return None
    if value is True:
        return "on"
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def admin_form_data(response) -> dict:
    data: dict = {}
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        forms.append(formset.management_form)
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = _as_posted(form[name].value())
            if value is not None:
                data[form.add_prefix(name)] = value
    return data


def admin_post(client: Client, url: str, **changes):
    """GET the admin form at ``url``, then POST it back with ``changes`` (None: unset)."""
    data = admin_form_data(client.get(url))
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url, data)
