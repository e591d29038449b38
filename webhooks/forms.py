"""Input forms: they parse; webhooks.services validates and writes."""

from __future__ import annotations

from django import forms

from webhooks.addresses import validate_webhook_url
from webhooks.models import EventType, WebhookEndpoint


class EndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        validators=[validate_webhook_url],
        help_text=(
            "http:// or https:// on a public address. Rapport POSTs JSON here; a 2xx answer "
            "counts as received."
        ),
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=EventType.values,
        label="Events",
    )
    active = forms.BooleanField(required=False, initial=True)
    include_confidential = forms.BooleanField(
        required=False,
        label="Include confidential relationships",
        help_text="Off: events about confidential relationships are not sent to this URL.",
    )

    @classmethod
    def for_endpoint(cls, endpoint: WebhookEndpoint, data=None) -> EndpointForm:
        initial = {
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
            "active": endpoint.active,
            "include_confidential": endpoint.include_confidential,
        }
        return cls(data, initial=initial)
