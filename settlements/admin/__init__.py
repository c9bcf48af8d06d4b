"""Officer admin of the money core, one module per area (Django autodiscovers this package).

- ``rules``: phases and their decile bands, read-only once money moved under a phase.
- ``cycles``: the Jalali-month cycles, and starting their charge and bonus sweep.
- ``runs``: credit runs and their chunks — progress, failures, resuming, and how the admin
  starts a run (``settlements.services.runs.launch_run``, after the officer gives a reason).
- ``ledger``: accounts, journal entries, postings and daily digests, read-only.
"""

from settlements.admin import cycles, ledger, rules, runs

__all__ = ["cycles", "ledger", "rules", "runs"]
