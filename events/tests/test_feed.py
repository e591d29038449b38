"""The activity feeds: the relationship's timeline (true time order, with times), the
stakeholder's section, "My activity" and "What changed", scoped by the one permission rule
and paged by cursor at a constant number of queries."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.permissions import event_scope
from events import selectors
from events.models import Event
from relationships import services as relationship_services
from tests.factories import RelationshipFactory, StakeholderFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(datetime(2026, 11, 2, 9, 30))


def record(relationship=None, *, verb="interaction.logged", at=T0, actor=None, **data):
    """An event as a service records it (scope copied from the relationship)."""
    return Event.objects.create(
        verb=verb,
        occurred_at=at,
        actor=actor,
        via=Event.Via.WEB,
        subject_type="relationships.interaction" if relationship else "stakeholders.stakeholder",
        subject_id=1,
        subject_label="Meeting on 2026-11-02",
        relationship_id=relationship.pk if relationship else None,
        stakeholder_id=relationship.stakeholder_id if relationship else None,
        team_id=relationship.team_id if relationship else None,
        data=data,
    )


@pytest.fixture
def open_rel(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a, stage="build")


@pytest.fixture
def secret(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a, stage="build", confidential=True)


def login(client, user):
    client.force_login(user)
    return client


# --- Scoping ----------------------------------------------------------


def test_confidential_events_are_hidden_from_another_teams_manager(
    open_rel, secret, manager_a, manager_b, executive
):
    shown = record(open_rel, summary="open")
    hidden = record(secret, summary="SECRET-CANARY")
    shared = record(None, verb="stakeholder.created")
    assert set(selectors.events_visible_to(manager_b)) == {shown, shared}
    assert set(selectors.events_visible_to(manager_a)) == {shown, hidden, shared}
    assert set(selectors.events_visible_to(executive)) == {shown, hidden, shared}


def test_an_event_follows_its_relationships_current_confidentiality(open_rel, manager_b):
    event = record(open_rel)
    assert event in selectors.events_visible_to(manager_b)
    open_rel.confidential = True
    open_rel.save(update_fields=["confidential"])
    assert event not in selectors.events_visible_to(manager_b)


def test_an_event_whose_relationship_is_gone_shows_only_to_who_reads_everything(
    open_rel, manager_a, executive, admin_user
):
    event = record(open_rel)
    open_rel.delete()
    assert not Event.objects.filter(event_scope(manager_a), pk=event.pk).exists()
    assert Event.objects.filter(event_scope(executive), pk=event.pk).exists()
    assert Event.objects.filter(event_scope(admin_user), pk=event.pk).exists()


def test_inactive_and_anonymous_users_see_no_events(open_rel, manager_a):
    from django.contrib.auth.models import AnonymousUser

    record(open_rel)
    record(None, verb="plan.created")
    manager_a.is_active = False
    assert not Event.objects.filter(event_scope(manager_a)).exists()
    assert not Event.objects.filter(event_scope(AnonymousUser())).exists()


def test_pages_hide_confidential_events_from_another_teams_manager(
    client, open_rel, secret, manager_a, manager_b
):
    record(secret, actor=manager_b, summary="SECRET-CANARY")  # say they logged it, then lost access
    record(open_rel, actor=manager_b, summary="visible entry")
    login(client, manager_b)
    for url in ("/activity/", "/activity/mine/", f"/stakeholders/{secret.stakeholder_id}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"SECRET-CANARY" not in response.content, url
    assert b"visible entry" in client.get("/activity/mine/").content
    assert client.get(f"/activity/relationships/{secret.pk}/").status_code == 404
    assert client.get(f"/relationships/{secret.pk}/").status_code == 404


def test_contributors_may_not_open_the_organisation_feed(client, contributor_a):
    assert login(client, contributor_a).get("/activity/").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/activity/mine/").status_code == 302


# --- The relationship's timeline -------------------------------------------------------------


def test_the_timeline_is_in_true_time_order_with_times(client, open_rel, manager_a):
    # Recorded out of order: the older event has the higher id.
    record(open_rel, at=T0 + timedelta(hours=5), actor=manager_a, summary="afternoon call")
    record(open_rel, at=T0, actor=manager_a, summary="morning meeting")
    record(
        open_rel,
        verb="relationship.stage_changed",
        at=T0 + timedelta(hours=2),
        actor=manager_a,
        from_stage="pilot",
        to_stage="build",
    )
    content = login(client, manager_a).get(f"/relationships/{open_rel.pk}/").content.decode()
    afternoon = content.index("afternoon call")
    moved = content.index("moved the relationship")
    morning = content.index("morning meeting")
    assert afternoon < moved < morning
    assert "2 Nov 2026, 14:30" in content and "2 Nov 2026, 09:30" in content
    assert "Pilot → Build" in content


def test_a_logged_interaction_appears_on_the_timeline_with_its_summary(client, open_rel, manager_a):
    relationship_services.interaction_log(
        relationship=open_rel,
        by=manager_a,
        occurred_on=date.today(),
        channel="call",
        summary="Agreed the pilot budget",
        sentiment=1,
    )
    content = login(client, manager_a).get(f"/relationships/{open_rel.pk}/").content.decode()
    assert "logged an interaction" in content
    assert "Agreed the pilot budget" in content


def test_a_long_summary_is_folded(client, open_rel, manager_a):
    record(open_rel, summary="word " * 39 + "END")
    content = login(client, manager_a).get(f"/relationships/{open_rel.pk}/").content.decode()
    assert "<details" in content and "END" in content


def test_quick_log_sends_back_the_timeline_with_the_new_event_on_top(client, open_rel, manager_a):
    response = login(client, manager_a).post(
        f"/relationships/{open_rel.pk}/interactions/new/",
        {
            "occurred_on": date.today().isoformat(),
            "channel": "call",
            "summary": "Fresh news",
            "sentiment": "1",
        },
        HTTP_HX_REQUEST="true",
    )
    content = response.content.decode()
    timeline = content[content.index('<div id="timeline-entries" hx-swap-oob="true">') :]
    first = timeline[timeline.index('class="feed-event"') :]
    first = first[: first.index("</li>")]
    assert "Fresh news" in first and "logged an interaction" in first


# --- Paging ----------------------------------------------------------


def test_older_pages_continue_where_the_last_stopped(client, open_rel, manager_a):
    for n in range(60):
        record(open_rel, at=T0 - timedelta(minutes=n), summary=f"entry-{n:02d}.")
    login(client, manager_a)
    first = client.get(f"/activity/relationships/{open_rel.pk}/").content.decode()
    assert "entry-00." in first and "entry-49." in first and "entry-50." not in first
    page = selectors.feed_page(selectors.relationship_feed(manager_a, open_rel))
    more = client.get(
        f"/activity/relationships/{open_rel.pk}/?before={page.older}", HTTP_HX_REQUEST="true"
    )
    assert more.status_code == 200 and "HX-Request" in more["Vary"]
    assert "<html" not in more.content.decode()  # the partial only
    assert "entry-50." in more.content.decode() and "entry-59." in more.content.decode()
    assert "entry-49." not in more.content.decode()
    assert "Older entries" not in more.content.decode()  # the end


def test_the_relationship_page_links_to_older_entries(client, open_rel, manager_a):
    for n in range(55):
        record(open_rel, at=T0 - timedelta(minutes=n))
    content = login(client, manager_a).get(f"/relationships/{open_rel.pk}/").content.decode()
    assert f"/activity/relationships/{open_rel.pk}/?before=" in content


def test_a_forged_cursor_is_a_bad_request(client, open_rel, manager_a):
    response = login(client, manager_a).get(
        f"/activity/relationships/{open_rel.pk}/?before=not-a-cursor"
    )
    assert response.status_code == 400


def test_ties_in_time_are_broken_by_id(open_rel, manager_a):
    events = [record(open_rel, at=T0) for _ in range(5)]
    page = selectors.feed_page(selectors.relationship_feed(manager_a, open_rel), size=2)
    assert [e.pk for e in page] == [events[4].pk, events[3].pk]
    rest = selectors.feed_page(
        selectors.relationship_feed(manager_a, open_rel), before=page.older, size=10
    )
    assert [e.pk for e in rest] == [events[2].pk, events[1].pk, events[0].pk]


# --- What changed: filters -----------------------------------------------------------------------


def test_what_changed_filters_by_verb_team_person_and_dates(
    client, open_rel, manager_a, executive, team_b
):
    other_team = RelationshipFactory(team=team_b, stage="build")
    someone = UserFactory(username="someone")
    record(open_rel, actor=manager_a, summary="A-interaction")
    record(open_rel, verb="commitment.created", actor=manager_a, description="A-commitment")
    record(other_team, actor=someone, summary="B-interaction", at=T0 - timedelta(days=10))
    login(client, executive)

    by_verb = client.get("/activity/?verb=commitment.created").content.decode()
    assert "A-commitment" in by_verb and "A-interaction" not in by_verb
    by_team = client.get(f"/activity/?team={team_b.pk}").content.decode()
    assert "B-interaction" in by_team and "A-interaction" not in by_team
    by_person = client.get(f"/activity/?actor={someone.pk}").content.decode()
    assert "B-interaction" in by_person and "A-interaction" not in by_person
    by_date = client.get("/activity/?since=2026-11-02&until=2026-11-02").content.decode()
    assert "A-interaction" in by_date and "B-interaction" not in by_date


def test_older_entries_of_what_changed_keep_the_filters(client, open_rel, executive):
    for n in range(55):
        record(open_rel, verb="commitment.created", at=T0 - timedelta(minutes=n))
    record(open_rel, verb="interaction.logged", at=T0 - timedelta(days=1), summary="not wanted")
    content = login(client, executive).get("/activity/?verb=commitment.created").content.decode()
    older = re.search(r'href="(/activity/\?[^"]+)"[^>]*>Older entries', content).group(1)
    older = older.replace("&amp;", "&")
    assert "verb=commitment.created" in older and "before=" in older
    rest = client.get(older, HTTP_HX_REQUEST="true").content.decode()
    assert rest.count('class="feed-event"') == 5 and "not wanted" not in rest


@pytest.mark.parametrize(
    "query",
    [
        "verb=nonsense",
        "team=abc",
        "team=999999999",
        "actor=99999999999999999999999",
        "since=yesterday",
        "since=2026-12-05&until=2026-12-01",
        "until=9999-12-31",
        "since=0001-01-01",
    ],
)
def test_bad_filters_answer_400_with_the_reason(client, executive, query):
    response = login(client, executive).get(f"/activity/?{query}")
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode() or "alert" in response.content.decode()


# --- The stakeholder page ----------------------------------------------------------


def test_the_stakeholder_page_shows_its_activity(client, open_rel, manager_a):
    record(open_rel, actor=manager_a, summary="Stakeholder-level news")
    content = login(client, manager_a).get(f"/stakeholders/{open_rel.stakeholder_id}/")
    assert "Stakeholder-level news" in content.content.decode()


def test_the_stakeholder_page_loads_older_activity_with_or_without_htmx(
    client, open_rel, manager_a
):
    for n in range(12):
        record(open_rel, at=T0 - timedelta(minutes=n), summary=f"note-{n:02d}.")
    page = login(client, manager_a).get(f"/stakeholders/{open_rel.stakeholder_id}/")
    content = page.content.decode()
    assert "note-09." in content and "note-10." not in content  # the newest ten
    older = re.search(r'href="(/activity/stakeholders/\d+/\?before=[^"]+)"', content).group(1)
    plain = client.get(older)
    assert plain.status_code == 200 and "<html" in plain.content.decode()
    fragment = client.get(older, HTTP_HX_REQUEST="true").content.decode()
    assert "note-10." in fragment and "note-11." in fragment and "<html" not in fragment


# --- Query counts ----------------------------------------------------------


def _many(relationship, actor, n=40):
    stakeholders = [StakeholderFactory() for _ in range(3)]
    for i in range(n):
        record(relationship, actor=actor if i % 2 else UserFactory(), at=T0 - timedelta(hours=i))
    for stakeholder in stakeholders:
        Event.objects.create(
            verb="stakeholder.created",
            actor=actor,
            subject_type="stakeholders.stakeholder",
            subject_id=stakeholder.pk,
            subject_label=stakeholder.name,
            stakeholder_id=stakeholder.pk,
        )


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # The events (actors joined) + the session's user; the filters' teams and people.
        ("/activity/", 4),
        ("/activity/?verb=interaction.logged&since=2026-01-01", 4),
        ("/activity/mine/", 2),
        # + the relationship or stakeholder the feed is about.
        ("/activity/relationships/{rel}/", 3),
        ("/activity/stakeholders/{stakeholder}/", 3),
    ],
)
def test_feed_pages_run_a_fixed_number_of_queries(
    client, django_assert_max_num_queries, open_rel, manager_a, url, queries
):
    _many(open_rel, manager_a)
    login(client, manager_a)
    url = url.format(rel=open_rel.pk, stakeholder=open_rel.stakeholder_id)
    client.get(url)  # warm the per-user caches (team ids)
    with django_assert_max_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('class="feed-event"') >= 20


# --- The README documents the vocabulary ----------------------------------------------------


def test_the_readme_lists_every_verb():
    from pathlib import Path

    from events.vocabulary import VERBS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [verb for verb in VERBS if f"| `{verb}` |" not in readme]
    assert not missing, f"Add these verbs to the README's vocabulary table: {missing}"


def test_a_commitment_says_its_description_once(client, open_rel, manager_a):
    relationship_services.commitment_create(
        relationship=open_rel,
        by=manager_a,
        direction="ours",
        description="Send the signed agreement",
        due_on=timezone.localdate() + timedelta(days=7),
    )
    client.force_login(manager_a)
    page = client.get(f"/relationships/{open_rel.pk}/").content.decode()
    assert page.count("Send the signed agreement") == 2  # the timeline once, the card once
