from django.db import migrations

from scraping.tasks import DISPATCH_SCHEDULE_NAME, ensure_dispatch_schedule


def create_dispatch_schedule(apps, schema_editor):
    ensure_dispatch_schedule(apps.get_model("django_q", "Schedule"))


def remove_dispatch_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=DISPATCH_SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_dispatch_schedule, remove_dispatch_schedule)]
