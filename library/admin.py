from django.contrib import admin
from django.utils.html import format_html

from library.models import ImportEntry, LibraryImport
from scraping.admin import ReadOnlyAdmin


@admin.register(LibraryImport)
class LibraryImportAdmin(ReadOnlyAdmin):
    """Readers' imports, for staff to see how they went."""

    list_display = ("created_at", "user", "kind", "origin", "state", "total", "done", "requests", "entries_link")
    list_filter = ("kind", "state")
    search_fields = ("=user__username", "origin")
    list_select_related = ("user",)

    @admin.display(description="entries")
    def entries_link(self, library_import):
        return format_html('<a href="../importentry/?library_import__id__exact={}">entries</a>', library_import.pk)


@admin.register(ImportEntry)
class ImportEntryAdmin(ReadOnlyAdmin):
    list_display = ("position", "name", "match", "source", "source_id", "outcome", "error")
    list_filter = ("match", "outcome")
    search_fields = ("name",)
    raw_id_fields = ("library_import",)
