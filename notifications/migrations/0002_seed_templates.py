"""The Persian SMS templates (officers edit them in the admin; created once, never overwritten).

No template carries a link: official kalabarg messages never do (anti-phishing rule)."""

from django.db import migrations

from notifications.defaults import TEMPLATES


def create(apps, schema_editor):
    SmsTemplate = apps.get_model("notifications", "SmsTemplate")
    for kind, body in TEMPLATES.items():
        SmsTemplate.objects.get_or_create(kind=kind, defaults={"body": body})


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
