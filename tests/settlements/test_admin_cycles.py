"""The officer admin of cycles: a charge or a bonus sweep started with a reason."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from approvals.models import ChangeRequest
from settlements.models import CreditRun, CycleStatus, RunKind, RunStatus
from settlements.selectors import wallet_balance
from settlements.services import rules
from tests.approvals.factories import approve_pending
from tests.households.factories import make_household
from tests.settlements.factories import (
    BONUS,
    CREDIT,
    admin_action,
    admin_messages,
    buy,
    charge,
    seeded_phases,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager_setting")]


def test_the_cycle_charge_action_asks_a_reason_charges_and_shows_the_run(admin_client, admin_user):
    seeded_phases()
    family = make_household(decile=3, members=1)
    single = make_household(decile=5)
    rich = make_household(decile=8)
    cycle = rules.ensure_cycle(key="1402-06")
    changelist = "admin:settlements_cycle_changelist"

    asked = admin_action(admin_client, changelist, "charge_cycle", [cycle.pk], index="0")
    assert asked.status_code == 200
    assert "دلیل" in asked.content.decode()
    assert not CreditRun.objects.exists()

    blank = admin_action(
        admin_client, changelist, "charge_cycle", [cycle.pk], confirm="yes", reason=" "
    )
    assert blank.context["form"].errors["reason"] == ["دلیل این اجرا را بنویسید"]
    assert not CreditRun.objects.exists()

    response = admin_action(
        admin_client, changelist, "charge_cycle", [cycle.pk], confirm="yes", reason="آغاز ماه"
    )
    assert response.status_code == 302
    assert not CreditRun.objects.exists()  # a request, until a second officer approves it

    _, applied = approve_pending("run_start")

    run = CreditRun.objects.get()
    assert (run.kind, run.status, run.started_by) == (
        RunKind.CYCLE_CHARGE,
        RunStatus.COMPLETED,
        admin_user,
    )
    assert wallet_balance(household_id=family.pk) == 2 * CREDIT
    assert wallet_balance(household_id=single.pk) == CREDIT
    assert wallet_balance(household_id=rich.pk) == 0
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.OPEN
    assert "انجام شد" in applied.message
    assert "۲ خانوار" in applied.message  # households charged, not entries (one a chunk)

    page = admin_client.get(
        reverse("admin:settlements_creditrun_change", args=[run.pk])
    ).content.decode()
    assert "آغاز ماه" in page  # who, when and why
    assert admin_user.username in page
    assert "۶٬۰۰۰٬۰۰۰ ریال" in page
    assert 'http-equiv="refresh"' not in page


def test_with_a_broker_the_charge_queues_its_chunks_on_commit(
    admin_client, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    seeded_phases()
    household = make_household(decile=1)
    cycle = rules.ensure_cycle(key="1402-06")

    response = admin_action(
        admin_client,
        "admin:settlements_cycle_changelist",
        "charge_cycle",
        [cycle.pk],
        confirm="yes",
        reason="آغاز ماه",
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        approve_pending("run_start")

    assert response.status_code == 302
    assert callbacks  # the chunks went to the queue (run eagerly by the test's Celery set-up)
    assert wallet_balance(household_id=household.pk) == CREDIT


def test_the_charge_action_needs_exactly_one_cycle(admin_client):
    seeded_phases()
    first, second = rules.ensure_cycle(key="1402-06"), rules.ensure_cycle(key="1402-07")

    response = admin_action(
        admin_client,
        "admin:settlements_cycle_changelist",
        "charge_cycle",
        [first.pk, second.pk],
        index="0",
    )

    assert response.status_code == 302
    assert "دقیقاً یک دوره" in " ".join(admin_messages(response))
    assert not CreditRun.objects.exists()


def test_a_closed_cycle_is_not_charged_again(admin_client):
    make_household(decile=1)
    old = charge("1402-06")
    charge("1402-07")
    old.refresh_from_db()
    assert old.status == CycleStatus.CLOSED
    runs_before = CreditRun.objects.count()

    response = admin_action(
        admin_client,
        "admin:settlements_cycle_changelist",
        "charge_cycle",
        [old.pk],
        confirm="yes",
        reason="دوباره",
    )

    assert "بسته شده" in " ".join(admin_messages(response))
    assert CreditRun.objects.count() == runs_before
    assert not ChangeRequest.objects.exists()


def test_the_bonus_sweep_action_grants_an_earned_bonus(admin_client):
    household = make_household(decile=2)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=1_000_000, current=1_000_000 + CREDIT)
    assert wallet_balance(household_id=household.pk) == 0

    response = admin_action(
        admin_client,
        "admin:settlements_cycle_changelist",
        "sweep_bonus",
        [cycle.pk],
        confirm="yes",
        reason="بررسی شبانه جاافتاده",
    )

    run = CreditRun.objects.get(kind=RunKind.BONUS_SWEEP)
    assert response["Location"] == reverse("admin:settlements_creditrun_change", args=[run.pk])
    assert wallet_balance(household_id=household.pk) == BONUS


def test_an_officer_who_may_only_view_cannot_start_a_run(client, django_user_model):
    from django.contrib.auth.models import Permission

    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="settlements", codename__startswith="view_"
        )
    )
    client.force_login(viewer)

    changelist = client.get(reverse("admin:settlements_cycle_changelist")).content.decode()
    form = client.get(reverse("admin:settlements_cycle_charge"))
    action = admin_action(
        client,
        "admin:settlements_cycle_changelist",
        "charge_cycle",
        [cycle.pk],
        confirm="yes",
        reason="x",
    )

    assert "charge_cycle" not in changelist
    assert reverse("admin:settlements_cycle_charge") not in changelist
    assert form.status_code == 403
    assert action.status_code in (200, 302)
    assert not CreditRun.objects.exists()
    assert not ChangeRequest.objects.exists()


def test_a_charge_is_started_by_the_cycle_key_in_persian_digits(admin_client):
    seeded_phases()
    household = make_household(decile=4)
    url = reverse("admin:settlements_cycle_charge")

    changelist = admin_client.get(reverse("admin:settlements_cycle_changelist"))
    assert url in changelist.content.decode()
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(url, {"key": "۱۴۰۲-۰۶", "reason": "شارژ دستی"})
    assert response.status_code == 302
    assert not CreditRun.objects.exists()
    approve_pending("run_start")

    run = CreditRun.objects.get()
    assert run.cycle.key == "1402-06"
    assert wallet_balance(household_id=household.pk) == CREDIT
    assert LogEntry.objects.filter(object_id=str(run.pk), change_message__contains="شارژ دستی")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("۱۴۰۲-۱۳", "دوره باید به شکل ۱۴۰۲-۰۶ باشد"),
        ("شهریور", "دوره باید به شکل ۱۴۰۲-۰۶ باشد"),
        ("1402-06-01", "دوره باید به شکل ۱۴۰۲-۰۶ باشد"),
        ("1500-01", "دوره باید به شکل ۱۴۰۲-۰۶ باشد"),
        ("1399-01", "در این ماه هیچ مرحله‌ای از طرح فعال نیست"),
        (
            "1490-01",
            "این ماه هنوز آغاز نشده است؛ اعتبار هر دوره از نخستین روز همان ماه شارژ می‌شود.",
        ),
    ],
)
def test_a_bad_cycle_key_is_refused_next_to_the_field(admin_client, key, message):
    seeded_phases()

    response = admin_client.post(
        reverse("admin:settlements_cycle_charge"), {"key": key, "reason": "شارژ دستی"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["key"] == [message]
    assert key in response.content.decode()  # the form keeps what was typed
    assert not CreditRun.objects.exists()
