"""Officers for four-eyes tests: a maker and a checker with just the permissions they need."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission


def officer_with(username: str, *perms: str) -> Any:
    """A staff user holding ``perms`` (``app_label.codename``)."""
    user = get_user_model().objects.create_user(username, password="x-" + username, is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)  # fresh: no stale permission cache


def checker(username: str = "checker", *perms: str) -> Any:
    """An officer who may approve others' requests (and see the queue)."""
    return officer_with(
        username, "approvals.approve_changerequest", "approvals.view_changerequest", *perms
    )


def approve_pending(kind: str, *, by: Any = None) -> Any:
    """Approve the one request of ``kind`` waiting, as a second officer (``by``, or one made for
    it); returns (request, applied) as ``approvals.services.approve_change`` does."""
    from approvals import services
    from approvals.models import ChangeRequest, RequestStatus

    change = ChangeRequest.objects.get(kind=kind, status=RequestStatus.PENDING)
    if by is None:
        by = get_user_model().objects.filter(username="second-officer").first()
        by = by or checker("second-officer")
    return services.approve_change(change_request_id=change.pk, checker=by)
