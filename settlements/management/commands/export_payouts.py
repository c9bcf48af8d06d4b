"""``manage.py export_payouts --out FILE.csv``: the bank's payout file of every approved settlement."""

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlements.services import payouts


class Command(BaseCommand):
    help = (
        "Write every approved, not yet exported settlement above zero to a UTF-8 CSV "
        "(reference,sheba,owner_name,amount_rial,description) and mark them exported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if not out.parent.is_dir():
            raise CommandError(f"no such directory: {out.parent}")
        started = time.monotonic()
        try:
            batch = payouts.export_payouts(out=out, process="command:export_payouts")
        except payouts.NothingToExport:
            self.stdout.write("0 payouts exported: no approved settlement waits (no file written)")
            return
        self.stdout.write(
            f"{batch.rows:,} payouts exported, {batch.total_rial:,} rial, to {out} "
            f"(file {batch.pk}, sha256 {batch.sha256}), in {time.monotonic() - started:.1f} s"
        )
