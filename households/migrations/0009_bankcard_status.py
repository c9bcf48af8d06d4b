"""A card's ``status`` (active/closed) replaces ``is_active``: the banks' card-owner feed closes cards.

Existing cards keep their meaning: an active card stays active, a deactivated one becomes closed."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0008_household_purchase_sms"),
    ]

    operations = [
        migrations.AddField(
            model_name="bankcard",
            name="status",
            field=models.CharField(
                choices=[("active", "فعال"), ("closed", "بسته")],
                default="active",
                max_length=6,
                verbose_name="وضعیت",
            ),
        ),
        migrations.RunSQL(
            "UPDATE households_bankcard SET status = 'closed' WHERE NOT is_active",
            "UPDATE households_bankcard SET is_active = (status = 'active')",
        ),
        migrations.RemoveField(model_name="bankcard", name="is_active"),
        migrations.AddConstraint(
            model_name="bankcard",
            constraint=models.CheckConstraint(
                condition=models.Q(status__in=["active", "closed"]), name="card_status_valid"
            ),
        ),
    ]
