from django.db import migrations
from django.utils import timezone

# Replaced by the job registry's schedules in 0006.
DISPATCH_SCHEDULE_NAME = "batoshelf: dispatch due checks"


def create_dispatch_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=DISPATCH_SCHEDULE_NAME,
        defaults={
            "func": "scraping.tasks.dispatch_due_checks",
            "schedule_type": "I",
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def remove_dispatch_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=DISPATCH_SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_dispatch_schedule, remove_dispatch_schedule)]
