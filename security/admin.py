from django.contrib import admin

from security.models import SecurityEvent


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """Read only: the log is evidence, nobody edits or deletes it by hand (the retention
    task prunes it)."""

    list_display = ("created_at", "kind", "username", "ip_address", "path", "detail")
    list_filter = ("kind", "created_at")
    search_fields = ("username", "ip_address", "detail", "path")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    readonly_fields = [field.name for field in SecurityEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
