from django.db import migrations


class Migration(migrations.Migration):
    """The gate's row is about a source, not a site: SiteState becomes SourceState (same table data)."""

    dependencies = [
        ("scraping", "0011_imported_outcome"),
    ]

    operations = [
        migrations.RenameModel("SiteState", "SourceState"),
    ]
