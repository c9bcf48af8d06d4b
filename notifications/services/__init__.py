"""Writes of the SMS outbox. The portal calls :func:`send_personal_sms`."""

from notifications.services.personal import render_for, send_personal_sms

__all__ = ["render_for", "send_personal_sms"]
