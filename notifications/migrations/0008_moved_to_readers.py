"""Follows, readers and invites are the readers app's now (readers.0001 took them, tables and all);
notifications drops them from its own idea of its models, touching no table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0007_channels_readers_invites"),
        ("readers", "0001_from_notifications"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="Follow"),
                migrations.DeleteModel(name="Reader"),
                migrations.DeleteModel(name="Invite"),
            ],
        ),
    ]
