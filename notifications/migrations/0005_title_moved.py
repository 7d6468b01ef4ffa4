from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_site_alerts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("new_chapter", "new chapter"),
                    ("batch", "several new chapters"),
                    ("status_change", "status change"),
                    ("alert", "alert for staff"),
                    ("title_paused", "title no longer checked"),
                    ("title_moved", "title moved to another source"),
                ],
                max_length=16,
            ),
        ),
    ]
