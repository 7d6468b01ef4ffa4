import django.db.models.deletion
from django.db import migrations, models

# (table, old column, new column), renamed in place: the unique constraint and the foreign keys
# follow their column on SQLite and MariaDB alike.
COLUMNS = [
    ("notifications_follow", "manga_id", "title_id"),
    ("notifications_notification", "manga_id", "title_id"),
]


def rename_columns(schema_editor, backwards=False):
    quote = schema_editor.quote_name
    for table, old, new in COLUMNS:
        old, new = (new, old) if backwards else (old, new)
        schema_editor.execute(f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(old)} TO {quote(new)}")


class Migration(migrations.Migration):
    """A follow and a notification are about a title (the model Manga became Title)."""

    dependencies = [
        ("notifications", "0005_title_moved"),
        ("scraping", "0014_vocabulary"),
    ]

    operations = [
        # As in scraping's 0014: Django's RenameField would rebuild the SQLite tables from a state
        # whose constraint still names the old field.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint("follow", "one_follow_per_user_and_title"),
                migrations.RenameField("follow", "manga", "title"),
                migrations.RenameField("notification", "manga", "title"),
                migrations.AddConstraint(
                    "follow", models.UniqueConstraint(fields=("user", "title"), name="one_follow_per_user_and_title")
                ),
                migrations.AlterField(
                    "follow",
                    "title",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="followers",
                        to="scraping.title",
                        verbose_name="title",
                    ),
                ),
                migrations.AlterField(
                    "notification",
                    "title",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to="scraping.title",
                        verbose_name="title",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(
                    lambda apps, editor: rename_columns(editor),
                    lambda apps, editor: rename_columns(editor, backwards=True),
                ),
            ],
        ),
    ]
