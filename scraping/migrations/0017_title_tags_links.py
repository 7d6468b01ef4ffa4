from django.db import migrations, models

import scraping.models


def names_with_languages(apps, schema_editor):
    """Other names were plain text; they become {"name", "language"} with the language unknown."""
    Title = apps.get_model("scraping", "Title")
    changed = []
    for title in Title.objects.only("pk", "alt_names").iterator(chunk_size=500):
        if any(isinstance(alt, str) for alt in title.alt_names or []):
            title.alt_names = [
                alt if isinstance(alt, dict) else {"name": str(alt), "language": ""} for alt in title.alt_names
            ]
            changed.append(title)
        if len(changed) >= 500:
            Title.objects.bulk_update(changed, ["alt_names"])
            changed = []
    Title.objects.bulk_update(changed, ["alt_names"])


def markdown_of_mangadex(apps, schema_editor):
    """MangaDex's descriptions were always stored as it wrote them: Markdown."""
    apps.get_model("scraping", "Title").objects.filter(source="mangadex").update(description_format="markdown")


def names_without_languages(apps, schema_editor):
    Title = apps.get_model("scraping", "Title")
    for title in Title.objects.only("pk", "alt_names").iterator(chunk_size=500):
        title.alt_names = [alt["name"] if isinstance(alt, dict) else alt for alt in title.alt_names or []]
        title.save(update_fields=["alt_names"])


class Migration(migrations.Migration):
    dependencies = [("scraping", "0016_reader_jobs")]

    operations = [
        migrations.AddField(
            model_name="title",
            name="tags",
            field=models.JSONField(
                blank=True,
                default=dict,
                encoder=scraping.models.PlainTextJSONEncoder,
                help_text='Other tags by group, kept apart from the genres: {"theme": […], "format": […], "content": […]}.',
            ),
        ),
        migrations.AddField(
            model_name="title", name="content_rating", field=models.CharField(blank=True, max_length=16)
        ),
        migrations.AddField(
            model_name="title",
            name="links",
            field=models.JSONField(
                blank=True, default=dict, help_text="The title's ids elsewhere, as its source lists them."
            ),
        ),
        migrations.AddField(
            model_name="title",
            name="available_languages",
            field=models.JSONField(
                blank=True, default=list, help_text="The chapter languages its source has (MangaDex)."
            ),
        ),
        migrations.AddField(
            model_name="title",
            name="description_format",
            field=models.CharField(
                choices=[("text", "plain text"), ("markdown", "Markdown")],
                default="text",
                help_text="How the source wrote it; pages show Markdown rendered safely, never raw.",
                max_length=8,
            ),
        ),
        migrations.AlterField(
            model_name="title",
            name="alt_names",
            field=models.JSONField(
                blank=True,
                default=list,
                encoder=scraping.models.PlainTextJSONEncoder,
                help_text='Other names with their language: [{"name": "…", "language": "ja"}] ("" when not known).',
            ),
        ),
        migrations.RunPython(names_with_languages, names_without_languages, elidable=True),
        migrations.RunPython(markdown_of_mangadex, migrations.RunPython.noop, elidable=True),
    ]
