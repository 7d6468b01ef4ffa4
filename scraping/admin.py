from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_q.tasks import async_task

from batoshelf.http import CappedPaginator
from batoshelf.words import counted
from readers.models import Follow
from scraping import moving, searching, sources
from scraping.checking.jobs import REGISTRY, option_errors, run_manual
from scraping.checking.tasks import request_check
from scraping.forms import MoveTitleForm
from scraping.models import (
    CHAPTER_LANGUAGE,
    PIN_HOURS,
    Chapter,
    CheckLog,
    CheckRequest,
    CheckSchedule,
    DailyStats,
    JobConfig,
    JobRun,
    SourceState,
    Title,
    TitleDailyStats,
)
from scraping.sources.errors import error_kinds

# Checks shown on a title's page.
RECENT_LOGS = 20


class PinnedFilter(admin.SimpleListFilter):
    title = "interval"
    parameter_name = "pinned"

    def lookups(self, request, model_admin):
        return (("yes", "pinned by staff"), ("no", "learned"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(manual_interval_hours__isnull=self.value() == "no")
        return queryset


class ErrorKindFilter(admin.SimpleListFilter):
    """The kinds of failure there are: a fixed list, not the distinct values of half a million logs."""

    title = "error kind"
    parameter_name = "error_kind"

    def lookups(self, request, model_admin):
        return [(kind, kind.replace("_", " ")) for kind in error_kinds()]

    def queryset(self, request, queryset):
        return queryset.filter(error_kind=self.value()) if self.value() in error_kinds() else queryset


class SearchByTitle:
    """Searching a big table by its title: first the titles the titles list would find (a name in any
    language, or an id on the source), then their rows by the title's index; never every row joined to
    its title and matched one by one."""

    search_fields = ("title__name",)  # shows the search box; get_search_results does the search
    search_help_text = "A title's name (in any language the source gives) or its id on its source."

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        titles, _ = self.admin_site.get_model_admin(Title).get_search_results(request, Title.objects.all(), search_term)
        return queryset.filter(title__in=titles.values("pk")), False


class LearnedRhythmDisplay:
    """What the scheduler learned of a title's rhythm, in a few words for staff."""

    @admin.display(description="predicted release")
    def predicted_release(self, schedule):
        return schedule.expected_release_at or "-"

    @admin.display(description="learned rhythm")
    def rhythm(self, schedule):
        learned = schedule.learned or {}
        if not learned.get("releases"):
            return "-"
        gap = learned.get("typical_gap_s")
        parts = [
            "regular" if learned.get("regular") else "irregular",
            f"typical gap {gap / 86400:.3g} days" if gap else None,
            f"spread {learned['spread']:.0%}" if learned.get("spread") is not None else None,
            f"confidence {learned.get('confidence', 0):.0%}",
            f"{learned['releases']} releases",
        ]
        return ", ".join(p for p in parts if p)


class CheckScheduleInline(LearnedRhythmDisplay, admin.StackedInline):
    model = CheckSchedule
    can_delete = False
    fields = (
        "next_check_at",
        "reason",
        "predicted_release",
        "rhythm",
        "manual_interval_hours",
        "paused",
        "priority",
        "last_checked_at",
        "misses",
        "failures",
    )
    readonly_fields = ("last_checked_at", "misses", "failures", "reason", "predicted_release", "rhythm")


class RecentCheckLogInline(admin.TabularInline):
    """The title's last checks, newest first, read-only."""

    model = CheckLog
    verbose_name_plural = f"last {RECENT_LOGS} checks"
    fields = (
        "started_at",
        "outcome",
        "new_chapters",
        "chapters_seen",
        "duration_ms",
        "http_status",
        "error_kind",
        "message",
    )
    readonly_fields = fields
    can_delete = False
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # An inline cannot slice its queryset; keep the ids of each title's newest rows instead.
        queryset = super().get_queryset(request)
        title_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if title_id is None:
            return queryset.none()
        newest = queryset.filter(title_id=title_id).order_by("-started_at", "-pk").values_list("pk", flat=True)
        return queryset.filter(pk__in=list(newest[:RECENT_LOGS])).order_by("-started_at", "-pk")


def as_text(value):
    """A stored list or mapping as a person reads it: "a · b", "1: 37, 2: 74", an ISO time as a UTC time."""
    if isinstance(value, list):
        return " · ".join(as_text(item) for item in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {as_text(item)}" for key, item in value.items()) or "-"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return f"{value[:10]} {value[11:16]} UTC"
    return str(value)


class LanguagesField(forms.CharField):
    """Language codes typed as "en, pt-br", stored as a list; empty for the source's default."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        codes = [code.strip().lower() for code in (value or "").split(",") if code.strip()]
        wrong = [code for code in codes if not CHAPTER_LANGUAGE.match(code)]
        if wrong:
            raise forms.ValidationError(f"Not language codes: {', '.join(wrong)}. Use codes such as en, pt-br, es-la.")
        return codes


class TitleForm(forms.ModelForm):
    languages = LanguagesField(
        required=False,
        help_text="Chapter languages to follow where the source has several (MangaDex), comma-"
        "separated, e.g. en, pt-br; empty for MANGADEX_LANGUAGES. A change fetches the "
        "title's whole list again at its next check, telling nobody.",
    )


class ManualIntervalForm(forms.Form):
    hours = forms.FloatField(
        label="Check every (hours)",
        min_value=PIN_HOURS[0],
        max_value=PIN_HOURS[1],
        help_text=f"Between {PIN_HOURS[0]:g} and {PIN_HOURS[1]:g} hours. "
        "The learned rhythm is kept and used again when unpinned.",
    )


@admin.register(Title)
class TitleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "source",
        "source_id",
        "upload_status",
        "orig_lang",
        "chapters_stored",
        "latest_release",
        "next_check",
        "follower_count",
        "refreshed_at",
    )
    list_filter = ("source", "upload_status", "orig_lang", "schedule__paused")
    search_fields = ("name", "alt_names", "=source_id")
    search_help_text = "A name (in any language the source gives) or a source's id."
    list_select_related = ("schedule", "latest_chapter")
    paginator = CappedPaginator
    show_full_result_count = False
    form = TitleForm
    readonly_fields = (
        "source",
        "source_id",
        "first_seen_at",
        "refreshed_at",
        "chapters_link",
        "source_link",
        "moved_to",
        "cover_link",
        "alt_names_text",
        "authors_text",
        "artists_text",
        "genres_text",
        "score_distribution_text",
        "emotions_text",
    )
    inlines = [CheckScheduleInline, RecentCheckLogInline]
    actions = ("check_now", "pause_checks", "resume_checks", "reset_schedule", "set_manual_interval", "find_elsewhere")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    ("source", "source_id"),
                    "source_link",
                    "chapters_link",
                    "moved_to",
                    "alt_names_text",
                    "description",
                    "languages",
                )
            },
        ),
        ("Status", {"fields": ("upload_status", "original_status", "year", "original_pub_from", "original_pub_till")}),
        (
            "Credits",
            {"fields": ("authors_text", "artists_text", "genres_text", "orig_lang", "read_direction", "cover_link")},
        ),
        (
            "Figures on the source",
            {
                "classes": ("collapse",),
                "fields": (
                    "score",
                    "votes",
                    "score_distribution_text",
                    "follows",
                    "reviews",
                    "replies",
                    "views_all_time",
                    "emotions_text",
                ),
            },
        ),
        ("Tracking", {"fields": ("first_seen_at", "refreshed_at")}),
    )

    def has_add_permission(self, request):
        # A title starts with a fetch from its source: the shelf, or `manage.py addtitle URL`.
        return False

    @admin.action(description="Check the selected titles now (queued)")
    def check_now(self, request, queryset):
        answers = [request_check(title, request.user) for title in queryset]
        queued = sum(answer.queued for answer in answers)
        refused = [answer.detail for answer in answers if answer.retry_after is not None]
        self.message_user(request, f"Queued {counted(queued, 'check')}; {len(answers) - queued} already asked for.")
        if refused:
            self.message_user(request, refused[0], level=messages.WARNING)

    @admin.action(description="Pause checks of the selected titles")
    def pause_checks(self, request, queryset):
        count = CheckSchedule.objects.filter(title__in=queryset).update(paused=True)
        self.message_user(request, f"Paused {counted(count, 'title')}.")

    @admin.action(description="Resume checks of the selected titles (due now)")
    def resume_checks(self, request, queryset):
        count = CheckSchedule.objects.filter(title__in=queryset).resume(timezone.now())
        self.message_user(request, f"Resumed {counted(count, 'title')}; they are checked at the next dispatch.")

    @admin.action(description="Reset the schedule: forget what was learned, unpin, check now")
    def reset_schedule(self, request, queryset):
        count = CheckSchedule.objects.filter(title__in=queryset).reset(timezone.now())
        self.message_user(request, f"Reset {counted(count, 'schedule')}; each title is checked at the next dispatch.")

    @admin.action(description="Pin a check interval for the selected titles…")
    def set_manual_interval(self, request, queryset):
        form = ManualIntervalForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            hours = form.cleaned_data["hours"]
            count = CheckSchedule.objects.filter(title__in=queryset).update(manual_interval_hours=hours)
            self.message_user(
                request, f"{counted(count, 'title')} are checked every {hours:g} h from their next check."
            )
            return None
        return TemplateResponse(
            request,
            "admin/scraping/title/set_manual_interval.html",
            {
                **self.admin_site.each_context(request),
                "title": "Pin a check interval",
                "form": form,
                "titles": queryset,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Find the selected title on another source and move its followers…")
    def find_elsewhere(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one title to move at a time.", level=messages.WARNING)
            return None
        title = queryset.get()
        form = MoveTitleForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            reference = str(form.cleaned_data["to"])
            async_task(moving.move_title_task, title.pk, reference, request.user.pk, task_name=f"move title {title.pk}")
            self.message_user(
                request, f"{title.name} is moving to {reference}; your notifications will say how it went."
            )
            return None
        found = searching.find(title.name, exclude_source=title.source)
        return TemplateResponse(
            request,
            "admin/scraping/title/move.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Find {title.name} on another source",  # the page's heading, as every admin page has
                "moving": title,
                "form": form,
                "candidates": found.candidates,
                "pending": [sources.get(name).display_name for name in found.pending],
                "errors": found.errors,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )

    def get_changelist(self, request, **kwargs):
        """The list, with each shown title's followers counted in one query for the page (never for the table)."""

        class WithFollowers(super().get_changelist(request, **kwargs)):
            def get_results(self, request):
                super().get_results(request)
                shown = [title.pk for title in self.result_list]
                counts = dict(
                    Follow.objects.filter(title_id__in=shown)
                    .values("title_id")
                    .annotate(n=Count("pk"))
                    .values_list("title_id", "n")
                )
                for title in self.result_list:
                    title.follower_total = counts.get(title.pk, 0)

        return WithFollowers

    @admin.display(description="chapters", ordering="chapter_count")
    def chapters_stored(self, obj):
        return obj.chapter_count

    @admin.display(description="latest release", ordering="latest_chapter__published_at")
    def latest_release(self, obj):
        return obj.latest_chapter.published_at if obj.latest_chapter else None

    @admin.display(description="followers")
    def follower_count(self, obj):
        return getattr(obj, "follower_total", None)

    @admin.display(description="next check", ordering="schedule__next_check_at")
    def next_check(self, obj):
        schedule = getattr(obj, "schedule", None)
        if schedule is None:
            return None
        return "paused" if schedule.paused else schedule.next_check_at

    @admin.display(description="chapters")
    def chapters_link(self, obj):
        return format_html('<a href="../../chapter/?title__id__exact={}">{} chapters</a>', obj.pk, obj.chapter_count)

    @admin.display(description="on the source")
    def source_link(self, obj):
        return format_html('<a href="{}" rel="noreferrer">{}</a>', obj.source_url, obj.source_url)

    @admin.display(description="other names")
    def alt_names_text(self, obj):
        names = [f"{a['name']} ({a['language']})" if a.get("language") else a["name"] for a in obj.alt_names]
        return " · ".join(names) or "-"

    @admin.display(description="authors")
    def authors_text(self, obj):
        return as_text(obj.authors)

    @admin.display(description="artists")
    def artists_text(self, obj):
        return as_text(obj.artists)

    @admin.display(description="genres")
    def genres_text(self, obj):
        return as_text(obj.genres)

    @admin.display(description="score distribution")
    def score_distribution_text(self, obj):
        return as_text(obj.score_distribution)

    @admin.display(description="emotions")
    def emotions_text(self, obj):
        return as_text(obj.emotions)

    @admin.display(description="cover")
    def cover_link(self, obj):
        # The copy batoshelf keeps: MangaDex answers hot-linked covers with the wrong picture.
        if obj.cover_key:
            return format_html('<img src="{}" alt="" width="128"><br>{}', obj.cover_path, obj.cover_url)
        return f"{obj.cover_url} (not fetched yet)" if obj.cover_url else "-"


@admin.register(Chapter)
class ChapterAdmin(SearchByTitle, admin.ModelAdmin):
    list_display = (
        "name",
        "title",
        "number",
        "volume",
        "language",
        "group_names",
        "subtitle",
        "published_at",
        "available",
        "first_seen_at",
    )
    list_filter = ("title__source", "available", "first_seen_at")
    list_select_related = ("title",)
    paginator = CappedPaginator
    show_full_result_count = False
    raw_id_fields = ("title",)
    exclude = ("groups",)
    readonly_fields = ("group_names",)
    ordering = ("-published_at",)

    @admin.display(description="groups")
    def group_names(self, chapter):
        return as_text(chapter.groups or [])


@admin.register(CheckSchedule)
class CheckScheduleAdmin(SearchByTitle, LearnedRhythmDisplay, admin.ModelAdmin):
    list_display = (
        "title",
        "next_check_at",
        "reason",
        "predicted_release",
        "last_checked_at",
        "misses",
        "failures",
        "paused",
        "manual_interval_hours",
        "priority",
    )
    list_filter = ("paused", "failures", PinnedFilter)
    list_editable = ("paused", "manual_interval_hours", "priority")
    list_select_related = ("title",)
    raw_id_fields = ("title",)
    exclude = ("learned",)
    readonly_fields = ("last_checked_at", "misses", "failures", "reason", "predicted_release", "rhythm", "learned_text")
    ordering = ("next_check_at",)

    @admin.display(description="what was learned")
    def learned_text(self, schedule):
        return as_text(schedule.learned or {})

    actions = ("pause_checks", "resume_checks", "follow_learned_rhythm")

    @admin.action(description="Pause checks of the selected titles")
    def pause_checks(self, request, queryset):
        count = queryset.update(paused=True)
        self.message_user(request, f"Paused {counted(count, 'title')}.")

    @admin.action(description="Resume checks of the selected titles (due now)")
    def resume_checks(self, request, queryset):
        count = queryset.resume(timezone.now())
        self.message_user(request, f"Resumed {counted(count, 'title')}; they are checked at the next dispatch.")

    @admin.action(description="Unpin: follow the learned rhythm again")
    def follow_learned_rhythm(self, request, queryset):
        count = queryset.update(manual_interval_hours=None)
        self.message_user(request, f"{counted(count, 'title')} follow their learned rhythm from their next check.")


@admin.register(CheckRequest)
class CheckRequestAdmin(admin.ModelAdmin):
    list_display = ("requested_at", "title", "requested_by", "taken_at")
    search_fields = ("title__name", "title__source_id", "requested_by__username")
    date_hierarchy = "requested_at"
    list_select_related = ("title", "requested_by")
    raw_id_fields = ("title", "requested_by")


@admin.register(CheckLog)
class CheckLogAdmin(SearchByTitle, admin.ModelAdmin):
    list_display = (
        "started_at",
        "title",
        "outcome",
        "new_chapters",
        "chapters_seen",
        "duration_ms",
        "http_requests",
        "http_status",
        "error_kind",
        "message",
    )
    list_filter = ("outcome", ErrorKindFilter)
    list_select_related = ("title",)
    raw_id_fields = ("title",)
    ordering = ("-started_at",)
    paginator = CappedPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SourceState)
class SourceStateAdmin(admin.ModelAdmin):
    """Staff may end a pause or close the breaker here by clearing its time."""

    list_display = (
        "__str__",
        "mirror",
        "paused_until",
        "pause_reason",
        "breaker_until",
        "breaker_opened_at",
        "breaker_openings",
        "breaker_reason",
        "failures_in_a_row",
    )
    readonly_fields = ("source",)

    def has_add_permission(self, request):
        return False


class JobConfigForm(forms.ModelForm):
    """A job's options are checked by its job type (the list page's rows have no options field)."""

    def _post_clean(self):
        super()._post_clean()
        for error in option_errors(self.instance):
            self.add_error("options" if "options" in self.fields else None, error)


@admin.register(JobConfig)
class JobConfigAdmin(admin.ModelAdmin):
    form = JobConfigForm
    list_display = (
        "job_type",
        "display_name",
        "enabled",
        "interval_minutes",
        "active_window",
        "last_success_at",
        "running",
    )
    list_editable = ("enabled", "interval_minutes")
    readonly_fields = ("job_type", "display_name", "last_success_at", "option_help")
    fields = (
        "job_type",
        "display_name",
        "enabled",
        "interval_minutes",
        "active_from_hour",
        "active_until_hour",
        "window_buffer_minutes",
        "options",
        "option_help",
        "last_success_at",
    )
    actions = ("run_now",)

    def has_add_permission(self, request):
        return False  # one row per registered job type, made by the migration

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="job")
    def display_name(self, config):
        job = REGISTRY.get(config.job_type)
        return job.display_name if job else "(no longer registered)"

    @admin.display(description="defaults")
    def option_help(self, config):
        job = REGISTRY.get(config.job_type)
        return ", ".join(f"{k}: {v}" for k, v in job.default_options.items()) if job and job.default_options else "-"

    @admin.display(description="active window (UTC)")
    def active_window(self, config):
        if config.active_from_hour is None:
            return "any hour"
        return f"{config.active_from_hour:02}:00–{config.active_until_hour:02}:00" + (
            f" ± {config.window_buffer_minutes} min" if config.window_buffer_minutes else ""
        )

    @admin.display(boolean=True, description="running")
    def running(self, config):
        return config.is_running(timezone.now())

    @admin.action(description="Run the selected jobs now (queued; ignores the window)")
    def run_now(self, request, queryset):
        for config in queryset:
            async_task(run_manual, config.job_type, request.user.pk, task_name=f"job {config.job_type}", group="jobs")
        self.message_user(request, f"Queued {counted(queryset.count(), 'job run')}; see Job runs.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the system writes (runs, rollups): staff look, never edit or add. There are many."""

    paginator = CappedPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "job_type",
        "trigger",
        "triggered_by",
        "status",
        "items_checked",
        "items_updated",
        "duration",
        "first_line",
    )
    list_filter = ("job_type", "status", "trigger", "started_at")
    list_select_related = ("triggered_by",)

    @admin.display(description="seconds")
    def duration(self, run):
        return round((run.finished_at - run.started_at).total_seconds(), 2) if run.finished_at else None

    @admin.display(description="log")
    def first_line(self, run):
        return run.log[0]["message"] if run.log else ""

    @admin.display(description="log")
    def log_lines(self, run):
        return (
            format_html_join(
                "\n",
                "<div>{} {} {}</div>",
                (
                    (as_text(line.get("time", ""))[11:], line.get("level", ""), line.get("message", ""))
                    for line in run.log
                ),
            )
            or "-"
        )

    def get_fields(self, request, obj=None):
        return [name for name in super().get_fields(request, obj) if name != "log"] + ["log_lines"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "log_lines"]


@admin.register(DailyStats)
class DailyStatsAdmin(ReadOnlyAdmin):
    list_display = ("day", "checks", "failures", "new_chapters", "mean_duration_ms")
    date_hierarchy = "day"


@admin.register(TitleDailyStats)
class TitleDailyStatsAdmin(SearchByTitle, ReadOnlyAdmin):
    list_display = ("day", "title", "releases", "checks")
    list_select_related = ("title",)
    list_filter = ("day",)
