"""The back office's admin pages (Django autodiscovers this package).

- ``purchases``: purchases, read-only, searched by store, terminal, card, household and dates.
- ``objections``: the objection queue and its decision page, with the household beside it.
- ``filters``: those lists' filters (the purchases' search form, the queue's status, province,
  age).

The household 360° page is a view of its own (``kalabarg.backoffice.views``).
"""

from kalabarg.backoffice.admin import filters, objections, purchases

__all__ = ["filters", "objections", "purchases"]
