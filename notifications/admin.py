from django.contrib import admin

from notifications.models import Follow, Notification


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("user", "manga", "muted", "created_at")
    list_filter = ("muted",)
    search_fields = ("user__username", "manga__name", "manga__source_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "manga")
    raw_id_fields = ("user", "manga")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "manga", "kind", "importance", "message", "chapter_count", "is_read", "emitted_at")
    list_filter = ("kind", "importance", "is_read")
    search_fields = ("user__username", "manga__name", "message")
    date_hierarchy = "created_at"
    list_select_related = ("user", "manga")
    raw_id_fields = ("user", "manga", "chapter")
