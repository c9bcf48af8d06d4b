"""Closing an anomaly flag (stores.services.close_flag): with a reason, once, by whom and when."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from stores.models import FlagKind, FlagStatus, StoreFlag
from stores.services import close_flag
from tests.stores.factories import StoreFlagFactory

pytestmark = pytest.mark.django_db


def test_closing_a_flag_records_who_when_and_why(admin_user):
    flag = StoreFlagFactory()

    closed = close_flag(flag=flag, by=admin_user, reason="  فروشگاه شبانه‌روزی است؛ بررسی شد ")

    flag.refresh_from_db()
    assert closed.pk == flag.pk
    assert (flag.status, flag.closed_by, flag.close_reason) == (
        FlagStatus.CLOSED,
        admin_user,
        "فروشگاه شبانه‌روزی است؛ بررسی شد",
    )
    assert flag.closed_at is not None


def test_closing_a_flag_without_a_reason_is_refused_naming_the_reason(admin_user):
    flag = StoreFlagFactory()

    with pytest.raises(ValidationError) as refused:
        close_flag(flag=flag, by=admin_user, reason="   ")

    assert refused.value.error_dict["reason"][0].code == "reason_required"
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_closing_a_closed_flag_is_refused(admin_user):
    flag = StoreFlagFactory()
    close_flag(flag=flag, by=admin_user, reason="بررسی شد")

    with pytest.raises(ValidationError) as refused:
        close_flag(flag=flag, by=admin_user, reason="دوباره")

    assert refused.value.error_dict["flag"][0].code == "flag_already_closed"
    flag.refresh_from_db()
    assert flag.close_reason == "بررسی شد"


def test_a_store_holds_at_most_one_open_flag_of_a_kind():
    flag = StoreFlagFactory(kind=FlagKind.FEW_CARDS)

    with pytest.raises(IntegrityError), transaction.atomic():
        StoreFlag.objects.create(
            store=flag.store,
            kind=FlagKind.FEW_CARDS,
            period_from=flag.period_from,
            period_to=flag.period_to,
        )
