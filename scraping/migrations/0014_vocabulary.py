import django.db.models.deletion
from django.db import migrations, models

# (table, old column, new column). Renamed in place: an index, a unique constraint and a foreign key
# follow their column on SQLite (3.25+) and MariaDB (10.5.2+) alike, so no table is rebuilt.
COLUMNS = [
    ("scraping_chapter", "title", "subtitle"),
    ("scraping_chapter", "dname", "name"),
    ("scraping_chapter", "manga_id", "title_id"),
    ("scraping_checkschedule", "manga_id", "title_id"),
    ("scraping_checklog", "manga_id", "title_id"),
    ("scraping_checkrequest", "manga_id", "title_id"),
    ("scraping_titledailystats", "manga_id", "title_id"),
]
# (table, old name, new name, columns): indexes named after the field they cover.
INDEXES = [
    ("scraping_chapter", "scraping_ch_manga_i_6b3255_idx", "scraping_ch_title_i_f68a13_idx", "title_id, published_at"),
    (
        "scraping_checklog",
        "scraping_sc_manga_i_f24667_idx",
        "scraping_ch_title_i_6c6e7f_idx",
        "title_id, started_at DESC",
    ),
]


def rename_columns(schema_editor, columns, indexes, backwards=False):
    quote = schema_editor.quote_name
    for table, old, new in reversed(columns) if backwards else columns:
        old, new = (new, old) if backwards else (old, new)
        schema_editor.execute(f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(old)} TO {quote(new)}")
    for table, old, new, covered in indexes:
        old, new = (new, old) if backwards else (old, new)
        if backwards:
            covered = covered.replace("title_id", "manga_id")
        if schema_editor.connection.vendor == "sqlite":  # SQLite cannot rename an index
            schema_editor.execute(f"DROP INDEX {quote(old)}")
            schema_editor.execute(f"CREATE INDEX {quote(new)} ON {quote(table)} ({covered})")
        else:
            schema_editor.execute(f"ALTER TABLE {quote(table)} RENAME INDEX {quote(old)} TO {quote(new)}")


def rename_prune_option(apps, old, new):
    """The prune job's option keeping check logs is named for them."""
    for config in apps.get_model("scraping", "JobConfig").objects.filter(job_type="prune_history"):
        if old in config.options:
            config.options = {new if key == old else key: value for key, value in config.options.items()}
            config.save(update_fields=["options"])


class Migration(migrations.Migration):
    """One word per thing: a Manga is a Title and a ScrapeLog a CheckLog; every row's `manga` is its
    `title`, and a chapter's own title is its `subtitle` (its `dname` its `name`). Tables, columns and
    indexes are renamed; no row changes."""

    dependencies = [
        ("scraping", "0013_checking_paths"),
        # Notifications' earlier migrations name the model Manga: they run before it is renamed.
        ("notifications", "0005_title_moved"),
    ]

    operations = [
        migrations.RenameModel("Manga", "Title"),
        migrations.RenameModel("ScrapeLog", "CheckLog"),
        migrations.RenameIndex(
            "checklog", new_name="scraping_ch_outcome_d83835_idx", old_name="scraping_sc_outcome_43f780_idx"
        ),
        migrations.RenameIndex(
            "checklog", new_name="scraping_ch_started_945c38_idx", old_name="scraping_sc_started_a3d709_idx"
        ),
        # Django's RenameField would rebuild SQLite tables from a state whose indexes and
        # constraints still name the old field; the columns are renamed in SQL instead.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex("chapter", "scraping_ch_manga_i_6b3255_idx"),
                migrations.RemoveIndex("checklog", "scraping_sc_manga_i_f24667_idx"),
                migrations.RemoveConstraint("chapter", "one_chapter_per_title_and_id"),
                migrations.RemoveConstraint("titledailystats", "one_rollup_per_title_and_day"),
                migrations.RenameField("chapter", "title", "subtitle"),
                migrations.RenameField("chapter", "dname", "name"),
                migrations.RenameField("chapter", "manga", "title"),
                migrations.RenameField("checkschedule", "manga", "title"),
                migrations.RenameField("checklog", "manga", "title"),
                migrations.RenameField("checkrequest", "manga", "title"),
                migrations.RenameField("titledailystats", "manga", "title"),
                migrations.AddIndex(
                    "chapter", models.Index(fields=["title", "published_at"], name="scraping_ch_title_i_f68a13_idx")
                ),
                migrations.AddIndex(
                    "checklog", models.Index(fields=["title", "-started_at"], name="scraping_ch_title_i_6c6e7f_idx")
                ),
                migrations.AddConstraint(
                    "chapter",
                    models.UniqueConstraint(fields=("title", "source_id"), name="one_chapter_per_title_and_id"),
                ),
                migrations.AddConstraint(
                    "titledailystats",
                    models.UniqueConstraint(fields=("title", "day"), name="one_rollup_per_title_and_day"),
                ),
            ],
            database_operations=[
                migrations.RunPython(
                    lambda apps, editor: rename_columns(editor, COLUMNS, INDEXES),
                    lambda apps, editor: rename_columns(editor, COLUMNS, INDEXES, backwards=True),
                ),
            ],
        ),
        migrations.AlterField("chapter", "name", models.CharField(max_length=255)),
        migrations.AlterField(
            "chapter",
            "subtitle",
            models.CharField(blank=True, help_text="The chapter's own title, if the source gives one.", max_length=500),
        ),
        migrations.AlterField(
            "checklog",
            "title",
            models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="check_logs",
                to="scraping.title",
                verbose_name="title",
            ),
        ),
        migrations.RunPython(
            lambda apps, editor: rename_prune_option(apps, "scrape_log_days", "check_log_days"),
            lambda apps, editor: rename_prune_option(apps, "check_log_days", "scrape_log_days"),
        ),
    ]
