"""Signed-in households on the web pages: the session holds the person's id and a keyed digest
of the mobile they logged in by.

A login rotates the session key (no fixation); logout flushes the session. A session is good
only while the person's registered mobile is the one it was opened with: when the registry or an
officer changes the mobile, every session of the old phone ends at its next request — whatever
path changed it (the set-based import too), with no session store to search. The session's idle
timeout is ``SESSION_COOKIE_AGE`` with ``SESSION_SAVE_EVERY_REQUEST`` (15 minutes by default).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from households.models import Person
from households.otp import may_log_in

SESSION_PERSON = "portal_person_id"
SESSION_PENDING = "portal_pending_login"
SESSION_MOBILE = "portal_mobile_digest"


def mobile_digest(person: Person) -> str:
    """A keyed digest of the person's registered mobile (the session never holds the number)."""
    return salted_hmac("portal-session-mobile", f"{person.pk}:{person.mobile}").hexdigest()[:32]


def log_in(request: HttpRequest, person: Person) -> None:
    request.session.pop(SESSION_PENDING, None)
    request.session.cycle_key()
    request.session[SESSION_PERSON] = person.pk
    request.session[SESSION_MOBILE] = mobile_digest(person)
    request.session["portal_login_at"] = timezone.now().isoformat()


def log_out(request: HttpRequest) -> None:
    request.session.flush()


def signed_in_person(request: HttpRequest) -> Person | None:
    person_id = request.session.get(SESSION_PERSON)
    if not person_id:
        return None
    person = (
        Person.objects.select_related("household__province", "household__city")
        .filter(pk=person_id)
        .first()
    )
    if person is None or not may_log_in(person=person):
        return None
    if not constant_time_compare(request.session.get(SESSION_MOBILE, ""), mobile_digest(person)):
        return None  # the mobile changed since this session was opened
    return person


def household_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Pages of a signed-in household; ``request.person`` is the signed-in member."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        person = signed_in_person(request)
        if person is None:
            request.session.pop(SESSION_PERSON, None)
            return redirect(f"{reverse('portal:login')}?next={request.path}")
        request.person = person  # type: ignore[attr-defined]
        response = view(request, *args, **kwargs)
        # Pages about one household are never kept by a shared browser's or proxy's cache.
        response["Cache-Control"] = "no-store, private"
        return response

    return wrapper
