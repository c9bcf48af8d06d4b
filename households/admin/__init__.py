"""Officer admin for the registry, one module per area: households and their deciles
(``registry``), people and bank cards (``people``), and the CSV upload pages they share
(``uploads``)."""

from households.admin import people, registry, uploads

__all__ = ["people", "registry", "uploads"]
