"""The command palette (Ctrl/Cmd+K, static/js/palette.js): what it offers for what is typed.

Records come from the global search (core.search.search_everything, which scopes
relationships to those the user may see; the registry is shared) and from
plans.selectors.plans_matching (plans are shared too), so a record the user may not see
never appears. Actions are pages and forms, each offered only to those whose role may use
it: the same rules (accounts.permissions) that the views enforce.

In "log" mode (the "Log interaction…" action) the palette lists only relationships the
user may log an interaction on, each opening that relationship's quick-log form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.http import urlencode

from accounts import permissions
from core.search import MIN_LENGTH, search_everything
from plans.selectors import plans_matching
from stakeholders.models import search_key
from stakeholders.search import Search

# Records of each kind listed at most: the search page lists more.
LIMIT = 5
LOG_MODE = "log"
QUICK_LOG_ANCHOR = "#quick-log"


def _signed_in(user) -> bool:
    return bool(user.is_authenticated and user.is_active)


@dataclass(frozen=True)
class Action:
    label: str
    url_name: str
    allowed: Callable[..., bool] = _signed_in
    keywords: str = ""  # other words it is found by
    shortcut: str = ""  # its key sequence, shown beside it (palette.js binds it)
    command: str = ""  # done in the browser by palette.js; the URL is the fallback

    def matches(self, words: list[str]) -> bool:
        """Every word typed starts a word of the label or keywords (accents, case ignored)."""
        own = search_key(f"{self.label} {self.keywords}").split()
        return all(any(mine.startswith(word) for mine in own) for word in words)


# In the order offered with nothing typed: where people go, then what they start.
ACTIONS: tuple[Action, ...] = (
    Action("Home", "home", keywords="go my day start", shortcut="g h"),
    Action("Dashboard", "dashboard:index", keywords="go figures charts", shortcut="g d"),
    Action("Go to board", "relationships:board", keywords="relationship kanban", shortcut="g b"),
    Action("Stakeholders", "stakeholders:index", keywords="go registry", shortcut="g s"),
    Action("Relationships", "relationships:index", keywords="go list"),
    Action("Contacts", "stakeholders:contacts", keywords="go people"),
    Action("Plans", "plans:plan_list", keywords="go"),
    Action("Objectives", "plans:index", keywords="go cascade"),
    Action("Reviews", "reviews:index", keywords="go"),
    Action("My commitments", "relationships:my_commitments", keywords="go follow ups"),
    Action(
        "Log interaction…",
        "relationships:index",
        allowed=permissions.may_log_interactions,
        keywords="new record meeting call quick",
        command="log",
    ),
    Action(
        "New stakeholder",
        "stakeholders:create",
        allowed=permissions.may_change_stakeholders,
        keywords="add create organisation",
    ),
    Action(
        "New contact",
        "stakeholders:contact_create",
        allowed=permissions.may_change_stakeholders,
        keywords="add create person",
    ),
    Action(
        "New relationship",
        "relationships:create",
        allowed=permissions.may_create_relationship,
        keywords="add create open",
    ),
    Action(
        "New plan", "plans:plan_create", allowed=permissions.may_edit_plans, keywords="add create"
    ),
    Action(
        "New objective",
        "plans:objective_create",
        allowed=permissions.may_edit_plans,
        keywords="add create",
    ),
    Action(
        "Import stakeholders",
        "stakeholders:import",
        allowed=permissions.may_import,
        keywords="csv upload contacts",
    ),
    Action(
        "What changed",
        "events:organisation",
        allowed=permissions.may_see_organisation_feed,
        keywords="activity organisation feed",
    ),
    Action("My activity", "events:mine", keywords="feed history"),
    Action("Notifications", "notifications:index", keywords="alerts"),
    Action("Profile", "profile", keywords="account settings me"),
    Action("Webhooks", "webhooks:index", allowed=permissions.is_admin, keywords="admin"),
    Action(
        "Security log", "security:log", allowed=permissions.may_see_security_log, keywords="admin"
    ),
    Action("Keyboard shortcuts", "search", keywords="help keys", shortcut="?", command="help"),
)


@dataclass(frozen=True)
class Option:
    dom_id: str  # unique in the list: the input's aria-activedescendant names it
    label: str
    url: str
    hint: str = ""
    shortcut: str = ""
    command: str = ""


@dataclass
class Section:
    key: str
    title: str
    options: list[Option]


@dataclass
class PaletteResults:
    query: str
    mode: str = ""
    message: str = ""
    sections: list[Section] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(section.options) for section in self.sections)

    @property
    def summary(self) -> str:
        """For the live region: what the list now holds."""
        return "1 result" if self.total == 1 else f"{self.total} results"


def actions_for(user, query: str) -> list[Action]:
    """The actions the user's role allows that match what is typed (all of them for nothing)."""
    words = search_key(query).split()
    return [action for action in ACTIONS if action.allowed(user) and action.matches(words)]


def palette_results(user, query: str, mode: str = "") -> PaletteResults:
    if mode == LOG_MODE and permissions.may_log_interactions(user):
        return _log_results(user, query)
    found = search_everything(user, query, limit=LIMIT)
    results = PaletteResults(query=found.query)
    actions = [
        Option(
            dom_id=f"palette-action-{index}",
            label=action.label,
            url=reverse(action.url_name),
            shortcut=action.shortcut,
            command=action.command,
        )
        for index, action in enumerate(actions_for(user, found.query))
    ]
    if actions:
        results.sections.append(Section("actions", "Actions", actions))
    if found.error:
        results.message = found.error
        return results
    if len(found.query) < MIN_LENGTH:
        return results
    results.sections += [
        section
        for section in (
            Section(
                "stakeholders",
                "Stakeholders",
                [
                    Option(
                        dom_id=f"palette-stakeholder-{s.pk}",
                        label=s.name,
                        url=s.get_absolute_url(),
                        hint=" · ".join(str(x) for x in (s.category or "", s.country) if x),
                    )
                    for s in found.stakeholders
                ],
            ),
            Section(
                "relationships",
                "Relationships",
                [_relationship_option(r) for r in found.relationships],
            ),
            Section(
                "contacts",
                "Contacts",
                [
                    Option(
                        dom_id=f"palette-contact-{c.pk}",
                        label=c.name,
                        url=c.get_absolute_url(),
                        hint=" · ".join(x for x in (c.role, str(c.stakeholder or "")) if x),
                    )
                    for c in found.contacts
                ],
            ),
            Section(
                "plans",
                "Plans",
                [
                    Option(
                        dom_id=f"palette-plan-{p.pk}",
                        label=str(p),
                        url=p.get_absolute_url(),
                    )
                    for p in _plans(found.query)
                ],
            ),
        )
        if section.options
    ]
    if not results.total:
        results.message = f"Nothing matches “{found.query}”."
    # Always a way to every match, beyond the few listed here.
    everything = Option(
        dom_id="palette-search-all",
        label=f"Search everything for “{found.query}”",
        url=f"{reverse('search')}?{urlencode({'q': found.query})}",
    )
    results.sections.append(Section("search", "Search", [everything]))
    return results


def _plans(query: str) -> list:
    try:
        search = Search.parse(query)
    except ValidationError:  # search_everything has said why already
        return []
    if search is None or len(search.text) < MIN_LENGTH:
        return []
    return plans_matching(search, LIMIT)


def _relationship_option(relationship, url_suffix: str = "") -> Option:
    hint = [relationship.get_stage_display()]
    if relationship.confidential:
        hint.append("confidential")
    return Option(
        dom_id=f"palette-relationship-{relationship.pk}",
        label=str(relationship),
        url=relationship.get_absolute_url() + url_suffix,
        hint=" · ".join(hint),
    )


def _log_results(user, query: str) -> PaletteResults:
    """Relationships the user may log an interaction on (active ones they contribute to),
    each opening its quick-log form."""
    found = search_everything(user, query, limit=LIMIT * 2)
    results = PaletteResults(query=found.query, mode=LOG_MODE)
    if found.error:
        results.message = found.error
        return results
    if len(found.query) < MIN_LENGTH:
        results.message = "Type the stakeholder's name to find the relationship."
        return results
    options = [
        _relationship_option(r, QUICK_LOG_ANCHOR)
        for r in found.relationships
        if r.is_active and permissions.may_contribute_to_relationship(user, r)
    ][:LIMIT]
    if options:
        results.sections.append(Section("log", "Log an interaction with", options))
    else:
        results.message = f"No relationship you may log on matches “{found.query}”."
    return results
