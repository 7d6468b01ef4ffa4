from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0010_sources"),
    ]

    operations = [
        migrations.AlterField(
            model_name="scrapelog",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("success", "new chapters"),
                    ("no_change", "no change"),
                    ("imported", "imported"),
                    ("failed", "failed"),
                    ("skipped", "skipped"),
                ],
                max_length=16,
            ),
        ),
    ]
