"""A foreign key's own index where a composite index of the same table leads with that key
(tests/infra/test_redundant_indexes.py; docs/decisions.md, "No index another index answers").

Only the index is dropped (``kalabarg.lib.migration_ops``): Django's own ``AlterField`` would drop
and re-add the foreign key, validating every row under lock.

A decile's officers are indexed only where a decile names them (a partial index each):
the import, the generator and an objection's decision name none."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from kalabarg.lib.migration_ops import drop_foreign_key_index


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0012_places_checked_per_statement"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="city",
                    name="province",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cities",
                        to="households.province",
                        verbose_name="استان",
                    ),
                ),
                migrations.AlterField(
                    model_name="decileassignment",
                    name="approved_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="deciles_approved",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="تأییدکننده",
                    ),
                ),
                migrations.AlterField(
                    model_name="decileassignment",
                    name="created_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="ثبت\u200cکننده",
                    ),
                ),
                migrations.AlterField(
                    model_name="decileassignment",
                    name="household",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deciles",
                        to="households.household",
                        verbose_name="خانوار",
                    ),
                ),
                migrations.AlterField(
                    model_name="household",
                    name="province",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="households.province",
                        verbose_name="استان",
                    ),
                ),
                migrations.AlterField(
                    model_name="logincode",
                    name="person",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="login_codes",
                        to="households.person",
                        verbose_name="فرد",
                    ),
                ),
                migrations.AlterField(
                    model_name="objection",
                    name="household",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="objections",
                        to="households.household",
                        verbose_name="خانوار",
                    ),
                ),
                migrations.AlterField(
                    model_name="paymentcode",
                    name="household",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="payment_codes",
                        to="households.household",
                        verbose_name="خانوار",
                    ),
                ),
            ],
            database_operations=[
                drop_foreign_key_index(
                    table="households_city",
                    column="province_id",
                    name="households_city_province_id_4701c781",
                ),
                drop_foreign_key_index(
                    table="households_decileassignment",
                    column="approved_by_id",
                    name="households_decileassignment_approved_by_id_9dfca3c8",
                ),
                drop_foreign_key_index(
                    table="households_decileassignment",
                    column="created_by_id",
                    name="households_decileassignment_created_by_id_f9a81b2c",
                ),
                drop_foreign_key_index(
                    table="households_decileassignment",
                    column="household_id",
                    name="households_decileassignment_household_id_baa9a20a",
                ),
                drop_foreign_key_index(
                    table="households_household",
                    column="province_id",
                    name="households_household_province_id_28de4133",
                ),
                drop_foreign_key_index(
                    table="households_logincode",
                    column="person_id",
                    name="households_logincode_person_id_101809c2",
                ),
                drop_foreign_key_index(
                    table="households_objection",
                    column="household_id",
                    name="households_objection_household_id_2d5760d8",
                ),
                drop_foreign_key_index(
                    table="households_paymentcode",
                    column="household_id",
                    name="households_paymentcode_household_id_42ee4205",
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="decileassignment",
            index=models.Index(
                condition=models.Q(("created_by__isnull", False)),
                fields=["created_by"],
                name="decile_created_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="decileassignment",
            index=models.Index(
                condition=models.Q(("approved_by__isnull", False)),
                fields=["approved_by"],
                name="decile_approved_by_idx",
            ),
        ),
    ]
