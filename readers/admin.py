from django.contrib import admin
from django.contrib.auth import get_user_model

from batoshelf.http import CappedPaginator
from readers.models import Follow, Invite, Reader, Shelf
from scraping.admin import SearchByTitle


class SearchByReaderOrTitle(SearchByTitle):
    """A reader's rows when the search is their exact user name, else the rows of the titles it finds:
    each through its own index (one OR of both would read every row)."""

    search_help_text = "A reader's exact user name, or a title's name (in any language) or id on its source."

    def get_search_results(self, request, queryset, search_term):
        user = get_user_model().objects.filter(username=search_term.strip()).values("pk").first()
        if user:
            return queryset.filter(user_id=user["pk"]), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(Follow)
class FollowAdmin(SearchByReaderOrTitle, admin.ModelAdmin):
    list_display = ("user", "title", "status", "unread_count", "last_read_number", "muted", "created_at")
    list_filter = ("status", "muted")
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
