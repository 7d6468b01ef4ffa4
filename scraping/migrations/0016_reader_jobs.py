from django.db import migrations

from scraping.checking.jobs import ensure_all


def schedule_jobs(apps, schema_editor):
    ensure_all(apps.get_model("scraping", "JobConfig"), apps.get_model("django_q", "Schedule"))


class Migration(migrations.Migration):
    """Schedules the new job types, deliver_to_channels and send_digests; existing ones keep their configuration."""

    dependencies = [
        ("scraping", "0015_chapter_previous_check"),
        ("notifications", "0007_channels_readers_invites"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule_jobs, migrations.RunPython.noop)]
