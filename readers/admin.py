from django.contrib import admin

from batoshelf.http import CappedPaginator
from readers.models import Follow, Invite, Reader, Shelf


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("user", "title", "status", "unread_count", "last_read_number", "muted", "created_at")
    list_filter = ("status", "muted")
    search_fields = ("user__username", "title__name", "title__source_id")
    list_select_related = ("user", "title")
    raw_id_fields = ("user", "title")
    readonly_fields = ("unread_count", "latest_chapter", "progress_on_import", "duplicate_of")
    # The follows table grows with every reader's shelf: no full count on each page.
    paginator = CappedPaginator
    show_full_result_count = False


@admin.register(Reader)
class ReaderAdmin(admin.ModelAdmin):
    list_display = ("user", "time_zone", "digest", "digest_hour", "last_digest_at")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    exclude = ("feed_token",)  # a secret: whoever has it reads the reader's notifications


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("note", "created_by", "staff", "created_at", "expires_at", "used_at", "used_by")
    list_select_related = ("created_by", "used_by")
    raw_id_fields = ("created_by", "used_by")
    exclude = ("token",)


@admin.register(Shelf)
class ShelfAdmin(admin.ModelAdmin):
    list_display = ("name", "user")
    search_fields = ("name", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
