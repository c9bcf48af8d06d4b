"""Listeners for events of lower layers (the money core), connected in ``NotificationsConfig.ready``."""


def connect() -> None:
    """Connect the SMS outbox to the events it reacts to (bonus granted)."""
