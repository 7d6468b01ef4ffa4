"""Follows, readers and invites move from `notifications` to this app: their tables stay as they are
(notifications_follow, notifications_reader, notifications_invite), only Django's idea of whose
models they are changes. Nothing is copied; no row moves."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import readers.models

MOVED = ("follow", "reader", "invite")


def content_types_to_readers(apps, schema_editor):
    """The admin's log and permissions point at content types: they follow the models here."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="readers", model__in=MOVED).exists():
        ContentType.objects.filter(app_label="notifications", model__in=MOVED).update(app_label="readers")


def content_types_to_notifications(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="readers", model__in=MOVED).update(app_label="notifications")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0007_channels_readers_invites"),
        ("scraping", "0017_title_tags_links"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Follow",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "muted",
                            models.BooleanField(
                                default=False, help_text="Stays on the shelf; new chapters notify no one."
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "title",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="followers",
                                to="scraping.title",
                                verbose_name="title",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="follows",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "notifications_follow",
                        "constraints": [
                            models.UniqueConstraint(fields=("user", "title"), name="one_follow_per_user_and_title")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Reader",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "feed_token",
                            models.CharField(default=readers.models.new_secret_token, max_length=64, unique=True),
                        ),
                        ("time_zone", models.CharField(default="UTC", max_length=64)),
                        ("digest", models.BooleanField(default=False, verbose_name="daily digest by mail")),
                        (
                            "digest_hour",
                            models.PositiveSmallIntegerField(
                                default=8,
                                help_text="The hour of the day it comes, in your time zone.",
                                validators=[django.core.validators.MaxValueValidator(23)],
                            ),
                        ),
                        ("last_digest_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="reader",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "notifications_reader"},
                ),
                migrations.CreateModel(
                    name="Invite",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "token",
                            models.CharField(default=readers.models.new_secret_token, max_length=64, unique=True),
                        ),
                        ("staff", models.BooleanField(default=False, help_text="The new account is staff.")),
                        (
                            "note",
                            models.CharField(
                                blank=True, help_text="Who it is for, for your own memory.", max_length=200
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("expires_at", models.DateTimeField()),
                        ("used_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "created_by",
                            models.ForeignKey(
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="invites_made",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "used_by",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="invited_by",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={"db_table": "notifications_invite", "ordering": ["-created_at"]},
                ),
            ],
        ),
        migrations.RunPython(content_types_to_readers, content_types_to_notifications, elidable=True),
    ]
