from django.contrib import admin

from batoshelf.http import CappedPaginator
from notifications.models import Channel, ChannelDelivery, Notification
from readers.admin import SearchByReaderOrTitle


@admin.register(Notification)
class NotificationAdmin(SearchByReaderOrTitle, admin.ModelAdmin):
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
    list_select_related = ("user", "title")
    raw_id_fields = ("user", "title", "chapter")
    paginator = CappedPaginator
    show_full_result_count = False


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """Staff see which channels a reader has and how they fare, never their URLs' secrets."""

    list_display = ("name", "user", "service", "masked_url", "enabled", "failures_in_a_row", "last_error")
    list_filter = ("enabled",)
    search_fields = ("user__username", "name")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    exclude = ("url",)
    readonly_fields = ("masked_url",)


@admin.register(ChannelDelivery)
class ChannelDeliveryAdmin(admin.ModelAdmin):
    list_display = ("notification", "channel", "attempts", "next_attempt_at", "sent_at", "error")
    list_filter = ("sent_at",)
    list_select_related = ("notification", "channel")
    raw_id_fields = ("notification", "channel")
    paginator = CappedPaginator
    show_full_result_count = False
