import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from approvals.models import RequestStatus
from approvals.services import request_change
from devdata.demo import (
    ADMIN_USERNAME,
    CHECKER_PASSWORD,
    CHECKER_USERNAME,
    DEMO_HEAD_NATIONAL_CODE,
)
from households import approvals as four_eyes
from households.models import Household, Objection, Person
from settlements.selectors import wallet_balance
from stores.models import Purchase
from stores.services import terminal_for_key
from tests.conftest import OfficerClient

pytestmark = pytest.mark.django_db


def run_seed(capsys) -> dict:
    call_command("seed_demo", "--json")
    return json.loads(capsys.readouterr().out)


def test_seed_demo_prints_working_credentials_and_charges_the_demo_household(capsys, client):
    creds = run_seed(capsys)

    head = Person.objects.get(national_code=creds["head_national_code"])
    assert head.is_head and head.mobile == creds["head_mobile"]
    spent = sum(p.credit_rial for p in Purchase.objects.filter(household_id=head.household_id))
    assert spent > 0
    assert wallet_balance(household_id=head.household_id) == 4 * 2_000_000 - spent
    assert terminal_for_key(key=creds["terminal_key"]).terminal_id == creds["terminal_id"]
    assert client.login(username=creds["admin_username"], password=creds["admin_password"])
    from households.selectors import card_by_number

    assert card_by_number(card_number=creds["card_number"]).person == head


def test_seed_demo_twice_changes_nothing(capsys):
    run_seed(capsys)
    households = Household.objects.count()
    balance = wallet_balance(
        household_id=Person.objects.get(national_code="0084575948").household_id
    )

    run_seed(capsys)

    assert Household.objects.count() == households
    assert Purchase.objects.count() == 2
    assert Objection.objects.get().status == "rejected"
    assert (
        wallet_balance(household_id=Person.objects.get(national_code="0084575948").household_id)
        == balance
    )


def test_the_demo_head_can_log_in_and_sees_the_purchases_and_the_decision(capsys, client, settings):
    settings.SMS_BACKEND = "memory"
    creds = run_seed(capsys)
    from tests.portal.conftest import Outbox

    client.post(
        "/login/", {"national_code": creds["head_national_code"], "mobile": creds["head_mobile"]}
    )
    client.post("/login/code/", {"code": Outbox().login_code(creds["head_mobile"])})

    dashboard = client.get("/me/").content.decode()
    assert "دهک شما: ۳ — مشمول طرح کالابرگ هستید" in dashboard
    assert "آخرین خریدها" in dashboard and "فروشگاه تعاونی رفاه" in dashboard
    assert "رد شد" in dashboard


def test_the_second_demo_officer_approves_what_the_first_one_asked_for(capsys):
    call_command("seed_demo")
    printed = capsys.readouterr().out
    assert f"Second officer:     user {CHECKER_USERNAME}  password {CHECKER_PASSWORD}" in printed
    assert "Four-eyes" in printed
    users = get_user_model().objects
    maker = users.get(username=ADMIN_USERNAME)
    supervisor = users.get(username=CHECKER_USERNAME)
    assert supervisor.is_staff and not supervisor.is_superuser
    assert supervisor.has_perm("approvals.approve_changerequest")
    assert OfficerClient().login(username=CHECKER_USERNAME, password=CHECKER_PASSWORD)
    head = Person.objects.get(national_code=DEMO_HEAD_NATIONAL_CODE)
    change = request_change(
        kind=four_eyes.MOBILE,
        maker=maker,
        summary="شماره تازه سرپرست",
        payload={"mobile": "09127654321"},
        target=head,
    )
    client = OfficerClient()
    client.force_login(supervisor)

    queue = client.get(reverse("admin:approvals_changerequest_changelist"))
    client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))

    assert queue.status_code == 200 and "شماره تازه سرپرست" in queue.content.decode()
    change.refresh_from_db()
    head.refresh_from_db()
    assert (change.status, change.checker, head.mobile) == (
        RequestStatus.APPROVED,
        supervisor,
        "09127654321",
    )
