from django.db import migrations

from scraping.checking.jobs import ensure_all


def schedule_jobs(apps, schema_editor):
    ensure_all(apps.get_model("scraping", "JobConfig"), apps.get_model("django_q", "Schedule"))


class Migration(migrations.Migration):
    """Schedules the job types added since 0006 (the heartbeat); existing ones keep their configuration."""

    dependencies = [("scraping", "0007_heartbeat"), ("scraping", "0006_job_schedules")]

    operations = [migrations.RunPython(schedule_jobs, migrations.RunPython.noop)]
