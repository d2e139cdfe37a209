"""WorkerHeartbeat moves here from accounts: its table is taken over as it is, then renamed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="WorkerHeartbeat",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("hostname", models.CharField(max_length=255, unique=True)),
                        ("seen", models.DateTimeField()),
                    ],
                    options={"db_table": "accounts_workerheartbeat"},
                ),
            ],
        ),
        migrations.AlterModelTable(name="workerheartbeat", table=None),
    ]
