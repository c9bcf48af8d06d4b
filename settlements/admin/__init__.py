"""Officer admin of the money core, one module per area (Django autodiscovers this package).

- ``rules``: phases and their decile bands, read-only once money moved under a phase.
- ``cycles``: the Jalali-month cycles, and starting their charge and bonus sweep.
- ``runs``: credit runs and their chunks — progress, failures, resuming, and how the admin
  starts a run (``settlements.services.runs.launch_run``, after the officer gives a reason).
- ``ledger``: accounts, journal entries, postings and daily digests, read-only.
- ``settlement_runs``: store settlement runs and their chunks, and "settle now"
  (``settlements.services.store_settlement.launch_settlement``).
- ``payouts``: store settlements — the list by status, province, day, store, run and file, each
  one's figures, story and lines; approving drafts and releasing held ones (``payout_filters``:
  its filters and search; ``payout_display``: amounts, a settlement's story and lines).
- ``payout_files``: payout files — the bank's answers per file, the download, exporting the
  approved settlements, and uploading the bank's results.
"""

from settlements.admin import (
    cycles,
    ledger,
    payout_files,
    payouts,
    rules,
    runs,
    settlement_runs,
)

__all__ = ["cycles", "ledger", "payout_files", "payouts", "rules", "runs", "settlement_runs"]
