from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    """What a user may do across Rapport; accounts.permissions turns it into answers."""

    ADMIN = "admin", "Admin"
    EXECUTIVE = "executive", "Executive"
    MANAGER = "manager", "Relationship manager"
    CONTRIBUTOR = "contributor", "Contributor"


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RapportUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CONTRIBUTOR)
    teams = models.ManyToManyField(Team, related_name="members", blank=True)

    objects = RapportUserManager()

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def save(self, *args, **kwargs) -> None:
        # The role is the single source of truth: admins manage users and reference data in
        # the Django admin with every permission; nobody else gets in there.
        self.is_staff = self.is_superuser = self.role == Role.ADMIN
        super().save(*args, **kwargs)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_executive(self) -> bool:
        return self.role == Role.EXECUTIVE

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_contributor(self) -> bool:
        return self.role == Role.CONTRIBUTOR


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash is stored; the token is shown once."""

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    # The first characters identify the token in lists and logs without revealing it.
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.WRITE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


class SecurityPolicy(models.Model):
    """Organisation-wide sign-in rules: a single row (pk 1), edited by admins in the Django
    admin. Until an admin first saves it, ``load()`` answers the defaults."""

    SINGLETON_PK = 1

    require_two_factor_for_privileged = models.BooleanField(
        "require two-factor authentication for admins and executives",
        default=False,
        help_text="When on, an admin or executive without an authenticator app is sent to set "
        "one up when they next sign in, and can use nothing else until they have.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Who switched the rule on or off, and when (the admin records the signed-in user).
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = verbose_name_plural = "security policy"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="security_policy_singleton")
        ]

    def __str__(self) -> str:
        return "Security policy"

    def save(self, *args, **kwargs) -> None:
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> SecurityPolicy:
        return cls.objects.filter(pk=cls.SINGLETON_PK).first() or cls(pk=cls.SINGLETON_PK)


class RecoveryCode(models.Model):
    """A one-time code that stands in for the authenticator app (see accounts/twofactor.py).

    Only a SHA-256 hash is stored: django-otp's own StaticToken keeps codes in plain text."""

    device = models.ForeignKey(
        "otp_static.StaticDevice", on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "code_hash"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"Recovery code {self.pk} ({'used' if self.used_at else 'unused'})"
