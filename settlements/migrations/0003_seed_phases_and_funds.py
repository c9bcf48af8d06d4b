"""The two phases of the source report, and the programme's fund accounts.

- Deciles 1–3 from the programme start (1401/01/01) to 1402/05/31.
- Deciles 1–5 from 1402/06/01 (the double-credit plan's extension).
Credit 2,000,000 rial, bonus threshold 2,000,000 rial, bonus 1,200,000 rial, per member; the cash
subsidy shown is 4,000,000 rial (deciles 1–3) and 3,000,000 rial (deciles 4–5) per member.
"""

import datetime as dt

from django.db import migrations

PROGRAMME_START = dt.date(2022, 3, 21)  # 1401/01/01
PHASE_TWO_START = dt.date(2023, 8, 23)  # 1402/06/01
CREDIT, THRESHOLD, BONUS = 2_000_000, 2_000_000, 1_200_000


def seed(apps, schema_editor):
    Phase = apps.get_model("settlements", "Phase")
    PhaseBand = apps.get_model("settlements", "PhaseBand")
    Account = apps.get_model("settlements", "Account")
    one, created = Phase.objects.get_or_create(
        starts_on=PROGRAMME_START,
        defaults={"name": "کالابرگ الکترونیک — دهک‌های ۱ تا ۳", "ends_on": PHASE_TWO_START - dt.timedelta(days=1)},
    )
    if created:
        PhaseBand.objects.create(
            phase=one, min_decile=1, max_decile=3, credit_per_cycle_rial=CREDIT, bonus_threshold_rial=THRESHOLD,
            bonus_amount_rial=BONUS, cash_subsidy_rial=4_000_000,
        )
    two, created = Phase.objects.get_or_create(
        starts_on=PHASE_TWO_START, defaults={"name": "طرح اعتبار مضاعف — دهک‌های ۱ تا ۵"}
    )
    if created:
        PhaseBand.objects.create(
            phase=two, min_decile=1, max_decile=3, credit_per_cycle_rial=CREDIT, bonus_threshold_rial=THRESHOLD,
            bonus_amount_rial=BONUS, cash_subsidy_rial=4_000_000,
        )
        PhaseBand.objects.create(
            phase=two, min_decile=4, max_decile=5, credit_per_cycle_rial=CREDIT, bonus_threshold_rial=THRESHOLD,
            bonus_amount_rial=BONUS, cash_subsidy_rial=3_000_000,
        )
    for kind in ("programme_fund", "inflation_fund", "settlement_clearing"):
        Account.objects.get_or_create(kind=kind, household=None, store=None)


class Migration(migrations.Migration):
    dependencies = [("settlements", "0002_ledger_triggers")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
