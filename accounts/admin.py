from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Team, User


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
