"""WorkerHeartbeat now belongs to core, which took over its table (core 0001); only the state moves."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("core", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="WorkerHeartbeat")]),
    ]
