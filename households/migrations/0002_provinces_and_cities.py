"""Load Iran's 31 provinces and their main cities (households/data/provinces.json)."""

import json
from pathlib import Path

from django.db import migrations

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "provinces.json"


def load(apps, schema_editor):
    Province = apps.get_model("households", "Province")
    City = apps.get_model("households", "City")
    for entry in json.loads(DATA_FILE.read_text(encoding="utf-8")):
        province, _ = Province.objects.update_or_create(
            code=entry["code"], defaults={"name": entry["name"], "name_en": entry["name_en"]}
        )
        for name in entry["cities"]:
            City.objects.update_or_create(
                province=province, name=name, defaults={"is_center": name == entry["center"]}
            )


class Migration(migrations.Migration):
    dependencies = [("households", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
