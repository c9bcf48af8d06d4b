"""Writes of the money core: rules, cycles, the ledger, batch runs and the bonus."""
