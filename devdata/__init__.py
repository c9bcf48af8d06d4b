"""Demo and benchmark data, kept apart from the domain: the synthetic population, stores and
purchases, the demo seed and the fake SMS gateway. It sits on top of every app and imports any
of them; no domain app imports it (an import-linter contract in ``.importlinter``)."""
