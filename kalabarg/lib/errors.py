"""The one shape of a service's refusal: a ``ValidationError`` naming the field, with a Persian
message for people and a stable code for machines (the API turns it into ``{field, code, message}``)."""

from django.core.exceptions import ValidationError


def field_error(*, field: str, message: str, code: str) -> ValidationError:
    """A refusal of ``field``: ``message`` in Persian, ``code`` stable for machines."""
    return ValidationError({field: ValidationError(message, code=code)})
