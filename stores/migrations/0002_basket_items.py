"""The 11 items of the kalabarg basket (سبد معیشتی) named in the source report."""

from django.db import migrations

ITEMS = [
    # code, Persian name, unit, group
    ("raw_milk", "شیر خام", "litre", "dairy"),
    ("cheese", "پنیر", "kg", "dairy"),
    ("yogurt", "ماست", "kg", "dairy"),
    ("chicken", "مرغ", "kg", "protein"),
    ("eggs", "تخم‌مرغ", "kg", "protein"),
    ("frozen_meat", "گوشت منجمد", "kg", "protein"),
    ("rice", "برنج", "kg", "groceries"),
    ("legumes", "حبوبات", "kg", "groceries"),
    ("pasta", "ماکارونی", "kg", "groceries"),
    ("sugar_cubes", "قند", "kg", "groceries"),
    ("sugar", "شکر", "kg", "groceries"),
]


def create_items(apps, schema_editor):
    BasketItem = apps.get_model("stores", "BasketItem")
    for order, (code, name, unit, group) in enumerate(ITEMS, start=1):
        BasketItem.objects.update_or_create(
            code=code, defaults={"name": name, "unit": unit, "group": group, "display_order": order}
        )


class Migration(migrations.Migration):
    dependencies = [("stores", "0001_initial")]
    operations = [migrations.RunPython(create_items, migrations.RunPython.noop)]
