"""The "real migration" of the benchmark: add a column and an index (copied in by the bench)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [
        migrations.AddField("note", "priority", models.IntegerField(default=0)),
        migrations.AddIndex("note", models.Index(fields=["priority"], name="note_priority_idx")),
    ]
