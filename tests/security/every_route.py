"""Every URL pattern of the site, filled with the ids of real records: the crawl behind the
security-header and stored-XSS tests.

A route whose arguments the crawl cannot fill is an error, not a skip: add the record to
``build_world`` and say which argument it fills in ``ROUTE_KWARGS`` (``pk``-style arguments,
which mean a different model on every route) or ``KWARGS`` (names that mean the same thing
everywhere). Records are keyed by model label ("stakeholders.stakeholder") or, for values
that are not records, by a short name ("chart-name").
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import SecurityPolicy
from accounts.tokens import token_create
from dashboard.charts import CHARTS
from devmail.models import SentEmail
from events.services import event_record
from notifications.models import NotificationPreference
from notifications.services import notification_create
from plans.models import KpiMeasurement
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory
from relationships.models import StageTransition
from reviews.models import Digest, FeedbackRequest, FeedbackResponse, Reminder, Review, hash_nonce
from reviews.services import feedback_token
from stakeholders.models import Assessment
from tests.factories import (
    CategoryFactory,
    CommitmentFactory,
    ContactFactory,
    InteractionFactory,
    RelationshipFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
    ValueFactory,
    ValueRecordFactory,
)
from webhooks.models import EventType, WebhookDelivery
from webhooks.services import endpoint_create

# Arguments whose meaning depends on the route: route name → {argument: world key}.
ROUTE_KWARGS: dict[str, dict[str, str]] = {
    "token_revoke": {"pk": "accounts.apitoken"},
    "password_reset_confirm": {"uidb64": "reset-uid", "token": "reset-token"},
    **{
        f"stakeholders:{name}": {"pk": "stakeholders.stakeholder"}
        for name in ("detail", "edit", "assess", "merge")
    },
    **{
        f"stakeholders:{name}": {"pk": "stakeholders.contact"}
        for name in ("contact_detail", "contact_edit")
    },
    **{
        f"relationships:{name}": {"pk": "relationships.relationship"}
        for name in (
            "detail",
            "edit",
            "history",
            "transition",
            "interaction_new",
            "commitment_new",
            "value_new",
            "rating",
        )
    },
    "relationships:commitment_status": {"pk": "relationships.commitment"},
    "events:relationship": {"pk": "relationships.relationship"},
    "events:stakeholder": {"pk": "stakeholders.stakeholder"},
    **{
        f"plans:{name}": {"pk": "plans.objective"}
        for name in (
            "objective_detail",
            "objective_children",
            "objective_edit",
            "objective_move",
            "objective_delete",
            "measurement_create",
        )
    },
    **{
        f"plans:{name}": {"pk": "plans.plan"}
        for name in ("plan_detail", "plan_edit", "plan_export", "initiative_create")
    },
    "plans:initiative_edit": {"pk": "plans.initiative"},
    "reviews:detail": {"pk": "reviews.review"},
    "reviews:ask_reviewer": {"pk": "reviews.review"},
    "notifications:mark_read": {"pk": "notifications.notification"},
    **{
        f"webhooks:{name}": {"pk": "webhooks.webhookendpoint"}
        for name in ("detail", "edit", "rotate_secret", "delete")
    },
    "webhooks:redeliver": {"pk": "webhooks.webhookdelivery"},
    "devmail:detail": {"pk": "devmail.sentemail"},
    "feedback:answer": {"token": "feedback-token"},
    "admin:view_on_site": {"object_id": "stakeholders.stakeholder"},
    # The user admin names its password page after auth.User, whatever the user model.
    "admin:auth_user_password_change": {"id": "accounts.user"},
}

# Arguments that mean the same on every route that has them.
KWARGS: dict[str, str] = {
    "relationship_pk": "relationships.relationship",
    "name": "chart-name",  # dashboard:chart, dashboard:chart_csv
    "format": "format",  # the API's format-suffix routes
    "app_label": "admin-app-label",
    "content_type_id": "content-type",
}

# The API's resources (router basenames) → the model of their ``pk``.
API_BASENAMES: dict[str, str] = {
    "user": "accounts.user",
    "team": "accounts.team",
    "stakeholder": "stakeholders.stakeholder",
    "contact": "stakeholders.contact",
    "value": "stakeholders.value",
    "category": "stakeholders.category",
    "assessment": "stakeholders.assessment",
    "relationship": "relationships.relationship",
    "interaction": "relationships.interaction",
    "commitment": "relationships.commitment",
    "value-record": "relationships.valuerecord",
    "relationship-type": "relationships.relationshiptype",
    "objective-level": "plans.objectivelevel",
    "objective": "plans.objective",
    "plan": "plans.plan",
    "initiative": "plans.initiative",
    "review": "reviews.review",
    "feedback-request": "reviews.feedbackrequest",
    "notification": "notifications.notification",
    "event": "events.event-uuid",  # the events API names an event by its uuid
}


@dataclass
class Route:
    name: str | None  # "namespace:name"; None for an unnamed pattern
    path: str  # the pattern as written, prefixes included (for messages)
    kwargs: list[str]
    namespace: str
    positional: int = 0  # unnamed groups of a regex pattern
    admin_model: str | None = None  # model label, for the admin's per-model routes


@dataclass
class World:
    """The records a crawl fills routes with: key → every value to try."""

    values: dict[str, list] = field(default_factory=dict)

    def add(self, *items: Model | tuple[str, object]) -> None:
        for item in items:
            if isinstance(item, tuple):
                key, value = item
            else:
                key, value = item._meta.label_lower, item
            self.values.setdefault(key, []).append(value)

    def ids(self, key: str) -> list:
        return [v.pk if isinstance(v, Model) else v for v in self.values.get(key, [])]


def all_routes() -> list[Route]:
    """Every URL pattern, nested resolvers included."""
    routes: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, namespaces: tuple[str, ...]) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
                walk(entry, prefix + str(entry.pattern), inner)
                continue
            assert isinstance(entry, URLPattern)
            namespace = ":".join(namespaces)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            routes.append(
                Route(
                    name=name,
                    path=prefix + str(entry.pattern),
                    kwargs=sorted(entry.pattern.regex.groupindex),
                    namespace=namespace,
                    positional=entry.pattern.regex.groups - len(entry.pattern.regex.groupindex),
                    admin_model=_admin_model(namespace, prefix, entry.name),
                )
            )

    walk(get_resolver(), "/", ())
    return routes


def _admin_models() -> dict[str, str]:
    """ "app_model" (the admin's URL name prefix) → model label."""
    return {
        f"{model._meta.app_label}_{model._meta.model_name}": model._meta.label_lower
        for model in admin.site._registry
    }


def _admin_model(namespace: str, prefix: str, name: str | None) -> str | None:
    if namespace != "admin":
        return None
    models = _admin_models()
    if name:
        for url_prefix, label in models.items():
            if name.startswith(url_prefix + "_"):
                return label
        return None
    # Unnamed per-model pattern: its prefix is "/admin/<app>/<model>/".
    parts = prefix.strip("/").split("/")
    return models.get("_".join(parts[1:3])) if len(parts) == 3 else None


class UnfilledRoute(Exception):
    pass


def _key_for(route: Route, kwarg: str) -> str:
    if route.admin_model and kwarg in ("object_id", "id", "pk"):
        return route.admin_model
    if route.name in ROUTE_KWARGS and kwarg in ROUTE_KWARGS[route.name]:
        return ROUTE_KWARGS[route.name][kwarg]
    if route.namespace == "api" and kwarg == "pk":
        basename = route.name.removeprefix("api:").rsplit("-", 1)[0]
        # Longest match first: "value-record" before "value".
        for candidate in sorted(API_BASENAMES, key=len, reverse=True):
            if route.name.startswith(f"api:{candidate}-"):
                return API_BASENAMES[candidate]
        raise UnfilledRoute(
            f"{route.path} (api basename {basename!r}): add it to API_BASENAMES in "
            "tests/security/every_route.py, with a record of its model in build_world()."
        )
    if kwarg in KWARGS:
        return KWARGS[kwarg]
    raise UnfilledRoute(
        f"{route.path} ({route.name or 'unnamed'}): no value for the argument {kwarg!r}. "
        "Add it to ROUTE_KWARGS (or KWARGS) in tests/security/every_route.py, with a record "
        "in build_world()."
    )


def urls_for(route: Route, world: World) -> list[str]:
    """Every URL of the route with the world's values (all combinations)."""
    if route.name is None:
        return _unnamed_urls(route, world)
    if route.positional:
        return _positional_urls(route, world)
    choices = []
    for kwarg in route.kwargs:
        key = _key_for(route, kwarg)
        values = world.ids(key)
        if not values:
            raise UnfilledRoute(
                f"{route.path} ({route.name}): the world has no {key!r} for {kwarg!r}. "
                "Create one in build_world() in tests/security/every_route.py."
            )
        choices.append([(kwarg, value) for value in values])
    return [reverse(route.name, kwargs=dict(combo)) for combo in itertools.product(*choices)]


def _positional_urls(route: Route, world: World) -> list[str]:
    # simple_history's admin page of one past version: "<object_id>/history/<history_id>/".
    if route.admin_model and route.name.endswith("_simple_history") and route.positional == 2:
        urls = []
        for instance in world.values.get(route.admin_model, []):
            version = instance.history.order_by("-history_id").first()
            if version is not None:
                urls.append(reverse(route.name, args=[instance.pk, version.history_id]))
        if urls:
            return urls
        raise UnfilledRoute(
            f"{route.path} ({route.name}): the world's {route.admin_model} has no history."
        )
    raise UnfilledRoute(
        f"{route.path} ({route.name}): {route.positional} unnamed argument(s); name them, or "
        "teach _positional_urls in tests/security/every_route.py to fill them."
    )


def _unnamed_urls(route: Route, world: World) -> list[str]:
    # The admin has two unnamed patterns: "<app>/<model>/<object_id>/" (redirects to the
    # change page) and the catch-all that answers 404 for unknown admin addresses.
    if route.admin_model and route.kwargs == ["object_id"]:
        change = f"admin:{route.admin_model.replace('.', '_')}_change"
        return [
            reverse(change, args=[pk]).removesuffix("change/")
            for pk in world.ids(route.admin_model)
        ]
    if route.namespace == "admin" and route.kwargs == ["url"]:
        return [reverse("admin:index") + "no-such-admin-page/"]
    if not route.kwargs and not route.positional and not set("<>^$()[]*?+") & set(route.path):
        return [route.path]  # a literal path needs no reversing
    raise UnfilledRoute(f"{route.path}: give this pattern a name so the crawl can reverse it.")


def iter_urls(world: World) -> Iterator[tuple[Route, str]]:
    """(route, url) for every route; raises UnfilledRoute listing every route it cannot fill."""
    problems, found = [], []
    for route in all_routes():
        try:
            found.extend((route, url) for url in urls_for(route, world))
        except UnfilledRoute as problem:
            problems.append(str(problem))
    if problems:
        raise UnfilledRoute("\n".join(problems))
    yield from found


def build_world(*, admin_user, manager, team) -> World:
    """One record of every kind a route can name, visible to ``admin_user``."""
    world = World()
    today = timezone.localdate()
    now = timezone.now()

    stakeholder = StakeholderFactory(name="Northwind Trust", website="https://northwind.example")
    contact = ContactFactory(stakeholder=stakeholder, email="ann@northwind.example")
    relationship = RelationshipFactory(
        stakeholder=stakeholder,
        type=RelationshipTypeFactory(),
        team=team,
        manager=manager,
        stage="build",
    )
    interaction = InteractionFactory(relationship=relationship)
    commitment = CommitmentFactory(relationship=relationship, owner=manager)
    value_record = ValueRecordFactory(relationship=relationship)
    transition = StageTransition.objects.create(
        relationship=relationship, from_stage="pilot", to_stage="build", by=manager
    )
    assessment = Assessment.objects.create(
        stakeholder=stakeholder, assessed_on=today, assessed_by=manager, power=4, interest=3
    )
    objective = ObjectiveFactory(owner=manager)
    measurement = KpiMeasurement.objects.create(
        objective=objective, measured_on=today, value=3, by=manager
    )
    plan = PlanFactory(owner=manager)
    plan.objectives.set([objective])
    initiative = InitiativeFactory(
        plan=plan, objective=objective, owner=manager, relationships=[relationship]
    )
    # Saving an active relationship schedules its review (reviews.signals).
    review, _ = Review.objects.get_or_create(
        relationship=relationship, status=Review.Status.SCHEDULED, defaults={"due_on": today}
    )
    reminder = Reminder.objects.create(
        kind=Reminder.Kind.REVIEW_DUE, review=review, recipient=admin_user, for_date=today
    )
    digest = Digest.objects.create(recipient=admin_user, for_date=today, items=1)

    nonce = secrets.token_urlsafe(16)
    open_request = FeedbackRequest.objects.create(
        relationship=relationship,
        contact=contact,
        sent_by=manager,
        expires_at=now + timedelta(days=14),
        nonce_hash=hash_nonce(nonce),
        sent_at=now,
    )
    answered = FeedbackRequest.objects.create(
        relationship=relationship,
        contact=contact,
        sent_by=manager,
        expires_at=now + timedelta(days=14),
        sent_at=now,
        answered_at=now,
    )
    response = FeedbackResponse.objects.create(
        request=answered,
        relationship=relationship,
        satisfaction=8,
        responsiveness=4,
        communication=4,
        value=4,
    )
    notification = notification_create(
        recipient=admin_user, kind="review_asked", title="Please review", url="/reviews/"
    )
    preference = NotificationPreference.objects.create(user=admin_user)
    endpoint = endpoint_create(
        by=admin_user, url="https://hooks.example/rapport", event_types=EventType.values
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type=EventType.RELATIONSHIP_CREATED,
        payload={"id": 1},
        status=WebhookDelivery.Status.FAILED,
        attempts=1,
    )
    event = event_record(verb="interaction.logged", subject=interaction, actor=manager, data={})
    api_token, _ = token_create(user=admin_user, name="Crawl", scope="read")
    group = Group.objects.create(name="Crawlers")
    totp = TOTPDevice.objects.create(user=admin_user, name="Phone", confirmed=True)
    static = StaticDevice.objects.create(user=admin_user, name="Backup codes", confirmed=True)
    policy = SecurityPolicy.objects.create()
    sent_email = SentEmail.objects.create(
        from_email="rapport@localhost", to=contact.email, subject="Feedback", source="."
    )
    world.add(
        admin_user,
        manager,
        team,
        stakeholder,
        contact,
        CategoryFactory(),
        ValueFactory(),
        relationship,
        relationship.type,
        interaction,
        commitment,
        value_record,
        transition,
        assessment,
        objective,
        objective.level,
        measurement,
        plan,
        initiative,
        review,
        reminder,
        digest,
        open_request,
        answered,
        response,
        notification,
        preference,
        endpoint,
        delivery,
        api_token,
        group,
        totp,
        static,
        policy,
        sent_email,
        *_axes_records(admin_user),
        ("feedback-token", feedback_token(open_request.pk, nonce)),
        ("events.event-uuid", event.uuid),
        ("reset-uid", urlsafe_base64_encode(force_bytes(admin_user.pk))),
        ("reset-token", default_token_generator.make_token(admin_user)),
        ("format", "json"),
        ("content-type", ContentType.objects.get_for_model(stakeholder).pk),
        *(("chart-name", name) for name in CHARTS),
        *(("admin-app-label", label) for label in _admin_app_labels()),
    )
    # Objects of the admin's other models (the security log, say) that exist by now.
    for model in admin.site._registry:
        label = model._meta.label_lower
        if label not in world.values:
            existing = model._default_manager.order_by("pk").first()
            if existing is not None:
                world.add(existing)
    # The admin's "past version" pages need a history row (seeded rows, e.g. objective
    # levels from a data migration, have none until saved).
    admin_labels = _admin_labels()
    for key, items in world.values.items():
        for item in items:
            if key in admin_labels and hasattr(item, "history") and not item.history.exists():
                item.save()
    return world


def _admin_labels() -> set[str]:
    return {model._meta.label_lower for model in admin.site._registry}


def _admin_app_labels() -> list[str]:
    return sorted({model._meta.app_label for model in admin.site._registry})


def _axes_records(user) -> list[Model]:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    common = {"user_agent": "pytest", "ip_address": "10.0.0.1", "username": user.username}
    return [
        AccessAttempt.objects.create(failures_since_start=1, **common),
        AccessLog.objects.create(**common),
        AccessFailureLog.objects.create(locked_out=False, **common),
    ]
