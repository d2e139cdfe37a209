from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("flows", "0006_execution_progress"),
    ]

    operations = [
        migrations.AddField(
            model_name="flow",
            name="run_in_web",
            field=models.BooleanField(
                default=True, help_text="waited triggers run this flow in the web process instead of on a worker"
            ),
        ),
    ]
