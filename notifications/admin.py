from django.contrib import admin

from notifications.models import Follow, Notification


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("user", "title", "muted", "created_at")
    list_filter = ("muted",)
    search_fields = ("user__username", "title__name", "title__source_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "title")
    raw_id_fields = ("user", "title")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "user",
        "title",
        "kind",
        "importance",
        "message",
        "chapter_count",
        "is_read",
        "emitted_at",
    )
    list_filter = ("kind", "importance", "is_read")
    search_fields = ("user__username", "title__name", "message")
    date_hierarchy = "created_at"
    list_select_related = ("user", "title")
    raw_id_fields = ("user", "title", "chapter")
