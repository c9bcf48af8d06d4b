"""A household's own choices in the portal: whether its head is texted after each purchase."""

from django.utils import timezone

from households.models import Household, Person


def set_purchase_sms(*, person: Person, enabled: bool) -> bool:
    """Turn the head's message after each purchase and reversal on or off for ``person``'s
    household. Only the head may (the messages go to the head, and are how a household learns
    that someone else used its card); returns False, changing nothing, for another member."""
    if not person.is_head:
        return False
    Household.objects.filter(pk=person.household_id).update(
        purchase_sms=enabled, updated_at=timezone.now()
    )
    return True
