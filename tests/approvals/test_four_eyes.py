"""The four-eyes rule itself (approvals.services), with a kind that writes a real row (a group)."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from approvals import registry, services
from approvals.models import ChangeRequest, RequestStatus
from tests.approvals.factories import checker, officer_with


def _apply_group(change: ChangeRequest, user: object) -> registry.Applied:
    name = change.payload["name"]
    if name == "refused":
        raise ValidationError({"name": ValidationError("نام پذیرفته نیست", code="bad_name")})
    group = Group.objects.create(name=name)
    return registry.Applied(result={"group": group.pk})


@pytest.fixture(autouse=True)
def _group_kind() -> None:
    registry.register(registry.ChangeKind(code="test_group", label="گروه", apply=_apply_group))


def _request(maker: object, name: str = "g1", target: object = None) -> ChangeRequest:
    return services.request_change(
        kind="test_group",
        maker=maker,
        summary=f"گروه {name}",
        payload={"name": name},
        target=target,
    )


@pytest.mark.django_db
def test_nothing_is_in_force_before_a_second_officer_approves() -> None:
    maker = officer_with("maker")
    change = _request(maker)
    assert not Group.objects.filter(name="g1").exists()

    approved, applied = services.approve_change(change_request_id=change.pk, checker=checker())

    assert Group.objects.filter(name="g1").exists()
    assert approved.status == RequestStatus.APPROVED
    assert approved.result == {"group": applied.result["group"]}
    assert approved.checker is not None and approved.checker.username == "checker"
    assert approved.maker == maker and approved.decided_at is not None


@pytest.mark.django_db
def test_the_maker_cannot_approve_their_own_request_even_as_a_checker() -> None:
    maker = checker("both")
    change = _request(maker)

    with pytest.raises(ValidationError) as refused:
        services.approve_change(change_request_id=change.pk, checker=maker)

    assert refused.value.error_dict["checker"][0].code == "maker_cannot_check"
    assert not Group.objects.filter(name="g1").exists()
    change.refresh_from_db()
    assert change.status == RequestStatus.PENDING


@pytest.mark.django_db
def test_the_database_refuses_a_checker_who_is_the_maker() -> None:
    maker = officer_with("maker")
    change = _request(maker)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.filter(pk=change.pk).update(
            status=RequestStatus.APPROVED, checker=maker, decided_at=change.made_at
        )


@pytest.mark.django_db
def test_an_officer_without_the_approve_permission_cannot_approve() -> None:
    change = _request(officer_with("maker"))
    with pytest.raises(ValidationError) as refused:
        services.approve_change(change_request_id=change.pk, checker=officer_with("clerk"))
    assert refused.value.error_dict["checker"][0].code == "not_a_checker"
    assert not Group.objects.filter(name="g1").exists()


@pytest.mark.django_db
def test_a_rejected_request_keeps_its_reason_and_never_applies() -> None:
    change = _request(officer_with("maker"))
    the_checker = checker()

    with pytest.raises(ValidationError):
        services.reject_change(change_request_id=change.pk, checker=the_checker, reason="  ")
    rejected = services.reject_change(
        change_request_id=change.pk, checker=the_checker, reason="مدرک کافی نیست"
    )

    assert rejected.status == RequestStatus.REJECTED
    assert rejected.decision_reason == "مدرک کافی نیست"
    with pytest.raises(ValidationError) as again:
        services.approve_change(change_request_id=change.pk, checker=the_checker)
    assert again.value.error_dict["status"][0].code == "change_not_pending"
    assert not Group.objects.filter(name="g1").exists()


@pytest.mark.django_db
def test_a_refusal_while_applying_leaves_the_request_pending_and_nothing_written() -> None:
    change = _request(officer_with("maker"), name="refused")

    with pytest.raises(ValidationError):
        services.approve_change(change_request_id=change.pk, checker=checker())

    change.refresh_from_db()
    assert change.status == RequestStatus.PENDING and change.checker is None
    assert not Group.objects.filter(name="refused").exists()


@pytest.mark.django_db
def test_one_pending_request_per_row_and_kind() -> None:
    maker = officer_with("maker")
    target = Group.objects.create(name="target")
    _request(maker, "a", target=target)

    with pytest.raises(ValidationError) as refused:
        _request(officer_with("other"), "b", target=target)

    assert refused.value.error_dict["kind"][0].code == "change_already_pending"
    assert ChangeRequest.objects.count() == 1


@pytest.mark.django_db
def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        services.request_change(
            kind="no_such_kind", maker=officer_with("maker"), summary="x", payload={}
        )
    assert refused.value.error_dict["kind"][0].code == "change_kind_unknown"
