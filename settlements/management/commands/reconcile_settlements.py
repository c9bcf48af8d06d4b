"""``manage.py reconcile_settlements``: prove every store's purchases are paid, owed or unsettled."""

import sys
from typing import Any

from django.core.management.base import BaseCommand

from settlements.services.settlement_reconcile import reconcile_settlements


class Command(BaseCommand):
    help = (
        "Per store and in total: Σ purchases net of reversals = paid + exported + approved/draft/"
        "held + waiting to be carried + unsettled; and the ledger agrees. Exits 1 on a mismatch."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile_settlements()
        totals = report.totals
        self.stdout.write(
            f"{report.stores_checked:,} stores: purchases net {totals.get('purchases', 0):,} rial = "
            f"paid {totals.get('paid', 0):,} + exported {totals.get('exported', 0):,} "
            f"+ approved {totals.get('approved', 0):,} + draft {totals.get('draft', 0):,} "
            f"+ held {totals.get('held', 0):,} + waiting {totals.get('carried', 0):,} "
            f"+ in a run in progress {totals.get('in_progress', 0):,} "
            f"+ unsettled {totals.get('unsettled', 0):,}"
        )
        for mismatch in report.mismatches:
            self.stderr.write(f"MISMATCH {mismatch}")
        if not report.ok:
            sys.exit(1)
        self.stdout.write("settlements reconciled: no mismatch")
