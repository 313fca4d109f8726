# Depends on 0002 for now: another branch adds 0003, and merging puts this one after it.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("server_monitor", "0003_restart_child_process"),
    ]

    operations = [
        migrations.CreateModel(
            name="Heartbeat",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("written_at", models.DateTimeField()),
            ],
            options={
                "default_permissions": (),
            },
        ),
    ]
