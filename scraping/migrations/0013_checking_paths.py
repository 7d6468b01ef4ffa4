from django.db import migrations

# The jobs moved from scraping/jobs.py to scraping/checking/jobs.py; the queue's schedule rows
# name the function they call, so they move with it.
OLD, NEW = "scraping.jobs.", "scraping.checking.jobs."


def rename(apps, old, new):
    schedules = apps.get_model("django_q", "Schedule").objects.filter(func__startswith=old)
    for schedule in schedules:
        schedule.func = new + schedule.func[len(old) :]
        schedule.save(update_fields=["func"])


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0012_source_state"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.RunPython(lambda apps, editor: rename(apps, OLD, NEW), lambda apps, editor: rename(apps, NEW, OLD))
    ]
