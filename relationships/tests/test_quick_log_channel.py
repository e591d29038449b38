"""The quick-log form starts on the channel the user logged last (issue #16): kept on the
server, so it follows them from one device to the next and works without JavaScript."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from relationships.tests.helpers import HTMX, client_for
from tests.factories import InteractionFactory, RelationshipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a, stage="build")


def chosen_channel(html: str) -> str:
    """The option a browser shows chosen: the selected one, else the first."""
    select = re.search(r'<select name="channel".*?</select>', html, re.S).group(0)
    chosen = re.search(r'<option value="([^"]+)" selected>', select)
    return (chosen or re.search(r'<option value="([^"]+)"', select)).group(1)


def log(client, relationship, channel: str, **headers):
    return client.post(
        reverse("relationships:interaction_new", args=[relationship.pk]),
        {
            "occurred_on": timezone.localdate().isoformat(),
            "channel": channel,
            "summary": "Caught up",
            "sentiment": "0",
        },
        **headers,
    )


def test_the_form_starts_on_a_meeting_before_the_first_interaction(manager_a, owned):
    html = client_for(manager_a).get(owned.get_absolute_url()).content.decode()
    assert chosen_channel(html) == "meeting"


def test_the_form_starts_on_the_channel_the_user_logged_last(
    manager_a, team_a, owned, django_capture_on_commit_callbacks
):
    client = client_for(manager_a)
    assert chosen_channel(client.get(owned.get_absolute_url()).content.decode()) == "meeting"
    # What the page read (none yet, kept in the cache) is replaced as each log commits.
    with django_capture_on_commit_callbacks(execute=True):
        log(client, owned, "call")
        log(client, owned, "email")
    # On any relationship of theirs, not only the one they logged on.
    other = RelationshipFactory(manager=manager_a, team=team_a, stage="present")
    assert chosen_channel(client.get(other.get_absolute_url()).content.decode()) == "email"


def test_the_fresh_form_after_logging_stays_on_that_channel(manager_a, owned):
    response = log(client_for(manager_a), owned, "site_visit", **HTMX)
    assert response.status_code == 200
    assert chosen_channel(response.content.decode()) == "site_visit"


def test_each_user_has_their_own_last_channel(manager_a, contributor_a, owned):
    log(client_for(manager_a), owned, "event")
    InteractionFactory(relationship=owned, channel="call", created_by=contributor_a)
    html = client_for(contributor_a).get(owned.get_absolute_url()).content.decode()
    assert chosen_channel(html) == "call"


def test_a_refused_log_keeps_the_channel_that_was_chosen(manager_a, owned):
    client = client_for(manager_a)
    log(client, owned, "call")
    response = client.post(
        reverse("relationships:interaction_new", args=[owned.pk]),
        {"occurred_on": timezone.localdate().isoformat(), "channel": "email", "summary": ""},
        **HTMX,
    )
    assert chosen_channel(response.content.decode()) == "email"
