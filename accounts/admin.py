from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.shortcuts import redirect
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import SecurityPolicy, Team, User
from accounts.services import (
    user_deactivate,
    user_password_changed,
    user_reactivate,
    user_set_role,
)
from security.services import user_session_rekeyed


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "teams")
    search_fields = ("username", "email", "first_name", "last_name")
    filter_horizontal = ("teams", "groups", "user_permissions")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Rapport", {"fields": ("role", "teams")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Rapport", {"fields": ("email", "first_name", "last_name", "role", "teams")}),
    )

    def save_model(self, request, obj: User, form, change: bool) -> None:
        if not change:
            return super().save_model(request, obj, form, change)
        # Role and active flag go through the services, which log old → new and who did it,
        # and end the sessions of a deactivated user. The rest of the form saves as usual.
        role, active = obj.role, obj.is_active
        stored = User.objects.only("role", "is_active").get(pk=obj.pk)
        obj.role, obj.is_active = stored.role, stored.is_active
        super().save_model(request, obj, form, change)
        user_set_role(user=obj, role=role, by=request.user, request=request)
        if active:
            user_reactivate(user=obj, by=request.user, request=request)
        else:
            user_deactivate(user=obj, by=request.user, request=request)

    def user_change_password(self, request, id, form_url=""):
        old_key = request.session.session_key
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the password was set
            user = self.get_object(request, unquote(id))
            # Django gave this session a new key if the admin set their own password.
            new_key = request.session.session_key
            user_session_rekeyed(old_key=old_key, new_key=new_key)
            user_password_changed(
                user=user, by=request.user, request=request, keep_session_key=new_key
            )
        return response


class MemberInline(admin.TabularInline):
    model = User.teams.through
    extra = 0
    verbose_name = "member"
    verbose_name_plural = "members"
    autocomplete_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count")
    search_fields = ("name",)
    inlines = [MemberInline]

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(_members=Count("members"))

    @admin.display(ordering="_members", description="members")
    def member_count(self, obj: Team) -> int:
        return obj._members


@admin.register(SecurityPolicy)
class SecurityPolicyAdmin(SimpleHistoryAdmin):
    """A single row: the list goes straight to it, and it can't be added twice or deleted."""

    fields = ("require_two_factor_for_privileged",)

    def changelist_view(self, request, extra_context=None):
        # get_or_create: two admins opening the page at once still make one row (pk 1).
        policy, _ = SecurityPolicy.objects.get_or_create(pk=SecurityPolicy.SINGLETON_PK)
        return redirect("admin:accounts_securitypolicy_change", policy.pk)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
