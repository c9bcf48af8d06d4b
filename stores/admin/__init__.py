"""Officer admin for the basket, its effective-dated prices, stores and their POS terminals.

Every write that matters goes through ``stores.services``: prices are added (never edited),
stores change status only through the connect/suspend actions (suspension asks for a reason and
records who), terminals are created with the service's rules and their API keys are shown once.

- ``basket``: basket items and their prices.
- ``stores``: stores, their search, connecting and suspending them.
- ``terminals``: POS terminals and their API keys.
- ``actions``: status actions over a bounded selection, with a reason.
- ``flags``: the nightly job's anomaly flags, closed by an officer with a reason.
"""

from stores.admin import actions, basket, flags, stores, terminals

__all__ = ["actions", "basket", "flags", "stores", "terminals"]
