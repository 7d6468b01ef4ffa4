from django.db import migrations

from scraping.checking.jobs import ensure_all

OLD_DISPATCH_SCHEDULE = "batoshelf: dispatch due checks"


def schedule_jobs(apps, schema_editor):
    schedule_model = apps.get_model("django_q", "Schedule")
    schedule_model.objects.filter(name=OLD_DISPATCH_SCHEDULE).delete()
    ensure_all(apps.get_model("scraping", "JobConfig"), schedule_model)


def unschedule_jobs(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func__startswith="scraping.jobs.").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0005_jobs_and_rollups"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(schedule_jobs, unschedule_jobs)]
