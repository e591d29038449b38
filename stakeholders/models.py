from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

# Punctuation folded before comparing: an apostrophe (any of the ways one is typed)
# vanishes, so "O'Brien", "O’Brien" and "OBrien" are one name; a hyphen or dash parts words,
# so "Ñúñez" is a word of its own in "O'Brien-Ñúñez". Folded before NFKD, which would turn
# the acute accent "´" into a space and a combining mark.
_APOSTROPHES = "'`\u00b4\u02bc\u2018\u2019\u2032\uff07"  # ' ` ´ ʼ ‘ ’ ′ ＇
_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"  # hyphens, dashes, minus
_PUNCTUATION = str.maketrans(dict.fromkeys(_APOSTROPHES, "") | dict.fromkeys(_HYPHENS, " "))


def normalise_name(value: str) -> str:
    """Case-, accent- and punctuation-insensitive key for duplicate detection ("Société" ==
    "societe", "O’Brien-Núñez" == "obrien nunez"). Letters that are not an accented form of
    another (ø, æ, ł) stay as they are."""
    decomposed = unicodedata.normalize("NFKD", (value or "").translate(_PUNCTUATION))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def search_key(value: str) -> str:
    """What name and e-mail searches compare: the same key as duplicate detection, so
    "societe" finds "Société", "ZOË" finds "Zoë" and "o'brien" finds "O’Brien-Núñez" on
    PostgreSQL and SQLite alike (the key is computed in Python and stored)."""
    return normalise_name(value)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1].lower().strip() if email and "@" in email else ""


# Addresses at these domains say nothing about which organisation a person belongs to.
PUBLIC_EMAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com"}
)


class Category(models.Model):
    """Stakeholder categories (customer, supplier, partner …): an admin-editable list."""

    name = models.CharField(max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Value(models.Model):
    """One of the organisation's own values; the weight says how much it counts in value fit."""

    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    weight = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-weight", "name"]

    def __str__(self) -> str:
        return self.name


class SearchKeyedQuerySet(models.QuerySet):
    """Bulk inserts skip ``save()``, so they fill the derived search columns here: a seed or
    loader that forgot them would leave rows no search can find."""

    def bulk_create(self, objs: Iterable[models.Model], *args, **kwargs) -> list[models.Model]:
        objs = list(objs)
        for obj in objs:
            obj.fill_derived_fields()
        return super().bulk_create(objs, *args, **kwargs)


def _with_derived(
    update_fields: Iterable[str] | None, derived_from: dict[str, tuple[str, ...]]
) -> set[str] | None:
    """``save(update_fields=["name"])`` must also write what is derived from the name."""
    if update_fields is None:
        return None
    fields = set(update_fields)
    for source, names in derived_from.items():
        if source in fields:
            fields.update(names)
    return fields


class Stakeholder(models.Model):
    class Kind(models.TextChoices):
        ORGANISATION = "organisation", "Organisation"
        INDIVIDUAL = "individual", "Individual"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.ORGANISATION)
    name = models.CharField(max_length=200)
    # Also the search key of the name (search_key): migration 0007 gives it a trigram index.
    normalised_name = models.CharField(max_length=200, editable=False, db_index=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="stakeholders"
    )
    sector = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=80, blank=True)
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True, help_text="General address, or the person's own.")
    email_domain = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    search_email = models.CharField(max_length=254, blank=True, default="", editable=False)
    description = models.TextField(blank=True)
    values = models.ManyToManyField(Value, related_name="stakeholders", blank=True)
    # Denormalised so lists sort and filter without per-row work; stakeholders.services keeps
    # them current whenever tags, weights or assessments change.
    value_fit = models.PositiveSmallIntegerField(default=0, db_index=True)
    power = models.PositiveSmallIntegerField(null=True, blank=True)
    interest = models.PositiveSmallIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(
        excluded_fields=["normalised_name", "email_domain", "search_email", "updated_at"],
        m2m_fields=[values],
    )

    objects = SearchKeyedQuerySet.as_manager()

    # Columns kept by fill_derived_fields, by the field they are computed from.
    DERIVED_FROM = {"name": ("normalised_name",), "email": ("email_domain", "search_email")}

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["-value_fit", "name"], name="stakeholder_fit_idx"),
            # Lists of relationships sort by stakeholder name: walk this instead of sorting.
            models.Index(fields=["name", "id"], name="stakeholder_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.fill_derived_fields()
        kwargs["update_fields"] = _with_derived(kwargs.get("update_fields"), self.DERIVED_FROM)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("stakeholders:detail", args=[self.pk])

    def fill_derived_fields(self) -> None:
        # Cut to the column: NFKD can lengthen a name ("ﬁ" → "fi") and must not fail a save.
        self.normalised_name = search_key(self.name)[:200]
        self.search_email = search_key(self.email)[:254]
        domain = email_domain(self.email)
        self.email_domain = "" if domain in PUBLIC_EMAIL_DOMAINS else domain


class Contact(models.Model):
    """A person we deal with, usually at an organisation."""

    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.CASCADE, null=True, blank=True, related_name="contacts"
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    email_domain = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    # Search keys (search_key) of the name and e-mail; migration 0007 indexes them.
    search_name = models.CharField(max_length=200, blank=True, default="", editable=False)
    search_email = models.CharField(max_length=254, blank=True, default="", editable=False)
    phone = models.CharField(max_length=40, blank=True)
    notes = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(
        excluded_fields=["email_domain", "search_name", "search_email", "updated_at"]
    )

    objects = SearchKeyedQuerySet.as_manager()

    DERIVED_FROM = {"name": ("search_name",), "email": ("email_domain", "search_email")}

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.fill_derived_fields()
        kwargs["update_fields"] = _with_derived(kwargs.get("update_fields"), self.DERIVED_FROM)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("stakeholders:contact_detail", args=[self.pk])

    def fill_derived_fields(self) -> None:
        self.search_name = search_key(self.name)[:200]  # see Stakeholder.fill_derived_fields
        self.search_email = search_key(self.email)[:254]
        domain = email_domain(self.email)
        self.email_domain = "" if domain in PUBLIC_EMAIL_DOMAINS else domain


class Assessment(models.Model):
    """A dated power/interest assessment; the latest one is copied onto the stakeholder."""

    SCORE = [MinValueValidator(1), MaxValueValidator(5)]

    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.CASCADE, related_name="assessments"
    )
    assessed_on = models.DateField()
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    power = models.PositiveSmallIntegerField(validators=SCORE)
    interest = models.PositiveSmallIntegerField(validators=SCORE)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-assessed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(power__gte=1, power__lte=5), name="assessment_power_1_5"
            ),
            models.CheckConstraint(
                condition=models.Q(interest__gte=1, interest__lte=5),
                name="assessment_interest_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stakeholder}: power {self.power}, interest {self.interest}"
