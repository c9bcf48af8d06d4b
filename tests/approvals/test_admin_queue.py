"""The change-request queue in the admin: a checker approves or rejects; the maker cannot."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from approvals import registry, services
from approvals.models import ChangeRequest, RequestStatus
from tests.approvals.factories import checker, officer_with
from tests.conftest import OfficerClient


def _apply(change: ChangeRequest, user: object) -> registry.Applied:
    Group.objects.create(name=change.payload["name"])
    # A secret made while applying, as a terminal key is: never in the payload or the result.
    return registry.Applied(show_once="KEY-" + change.payload["name"][::-1].upper() + "-ONCE")


@pytest.fixture(autouse=True)
def _kind() -> None:
    registry.register(
        registry.ChangeKind(code="test_admin_group", label="گروه آزمون", apply=_apply)
    )


def _client(user: object) -> OfficerClient:
    client = OfficerClient()
    client.force_login(user)
    return client


def _pending(maker: object, **payload: str) -> ChangeRequest:
    return services.request_change(
        kind="test_admin_group", maker=maker, summary="گروه تازه", payload={"name": "g", **payload}
    )


@pytest.mark.django_db
def test_the_maker_sees_the_request_but_gets_403_approving_it_without_the_permission() -> None:
    maker = officer_with("maker", "approvals.view_changerequest")
    change = _pending(maker)
    client = _client(maker)

    page = client.get(reverse("admin:approvals_changerequest_change", args=[change.pk]))
    assert page.status_code == 200
    assert "کارشناس دیگری باید آن را تأیید یا رد کند" in page.content.decode()

    answer = client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))
    assert answer.status_code == 403
    assert not Group.objects.filter(name="g").exists()


@pytest.mark.django_db
def test_a_checker_who_made_the_request_is_refused_on_the_page() -> None:
    maker = checker("boss")
    change = _pending(maker)
    client = _client(maker)

    client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))

    change.refresh_from_db()
    assert change.status == RequestStatus.PENDING
    assert not Group.objects.filter(name="g").exists()


@pytest.mark.django_db
def test_a_checker_approves_from_the_page_and_sees_a_secret_once() -> None:
    change = _pending(officer_with("maker"), name="abc")
    client = _client(checker())

    page = client.get(reverse("admin:approvals_changerequest_change", args=[change.pk]))
    assert "تأیید و اعمال" in page.content.decode()
    answer = client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))

    assert answer.status_code == 200 and "KEY-CBA-ONCE" in answer.content.decode()
    change.refresh_from_db()
    assert change.status == RequestStatus.APPROVED and Group.objects.filter(name="abc").exists()
    assert "KEY-CBA-ONCE" not in str(change.result)
    again = client.get(reverse("admin:approvals_changerequest_change", args=[change.pk]))
    assert "KEY-CBA-ONCE" not in again.content.decode()


@pytest.mark.django_db
def test_a_checker_rejects_with_a_reason_from_the_page() -> None:
    change = _pending(officer_with("maker"))
    client = _client(checker())

    client.post(reverse("admin:approvals_changerequest_reject", args=[change.pk]), {"reason": ""})
    change.refresh_from_db()
    assert change.status == RequestStatus.PENDING

    client.post(
        reverse("admin:approvals_changerequest_reject", args=[change.pk]), {"reason": "تکراری"}
    )
    change.refresh_from_db()
    assert change.status == RequestStatus.REJECTED and change.decision_reason == "تکراری"
    assert not Group.objects.filter(name="g").exists()


@pytest.mark.django_db
def test_the_queue_lists_pending_requests() -> None:
    _pending(officer_with("maker"))
    client = _client(checker())
    page = client.get(
        reverse("admin:approvals_changerequest_changelist") + "?status__exact=pending"
    )
    assert page.status_code == 200 and "گروه تازه" in page.content.decode()
