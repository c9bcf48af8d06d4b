"""Four-eyes in the money core's admin (issue 15): a new or changed phase with its bands, and
starting a cycle's charge or a phase's expiry, are requests until a second officer approves them;
the maker cannot; a rejection applies nothing; nothing is in force before approval."""

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from approvals import services as approvals
from approvals.models import ChangeRequest, RequestStatus
from settlements.models import CreditRun, Phase, RunKind, RunStatus, UnspentPolicy
from settlements.selectors import wallet_balance
from settlements.services import rules
from tests.approvals.factories import checker, officer_with
from tests.conftest import OfficerClient
from tests.households.factories import make_household
from tests.settlements.factories import (
    CREDIT,
    admin_action,
    buy,
    charge,
    make_phase,
    seeded_phases,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager_setting")]

ASKERS = ("approvals.add_changerequest", "approvals.view_changerequest")
PHASE_RULES = (
    "settlements.view_phase",
    "settlements.add_phase",
    "settlements.change_phase",
    "settlements.view_phaseband",
    "settlements.add_phaseband",
    "settlements.change_phaseband",
    "settlements.delete_phaseband",
)
RUNS = ("settlements.view_cycle", "settlements.view_phase", "settlements.add_creditrun")
IN_1409 = dt.date(2030, 4, 1)  # a day of the phase asked for below (from 1409/01/01)


def _logged_in(user: Any) -> OfficerClient:
    client = OfficerClient()
    client.force_login(user)
    return client


def _request_page(change: ChangeRequest) -> str:
    return reverse("admin:approvals_changerequest_change", args=[change.pk])


def _approve(client: OfficerClient, change: ChangeRequest) -> Any:
    return client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))


def _reject(client: OfficerClient, change: ChangeRequest, reason: str) -> Any:
    return client.post(
        reverse("admin:approvals_changerequest_reject", args=[change.pk]), {"reason": reason}
    )


# --- Phases and bands -----------------------------------------------------------------------------


def _band(low: int, high: int, credit: str = "2000000", cash: str = "0") -> dict[str, str]:
    return {
        "min_decile": str(low),
        "max_decile": str(high),
        "credit_per_cycle_rial": credit,
        "bonus_threshold_rial": "2000000",
        "bonus_amount_rial": "1200000",
        "cash_subsidy_rial": cash,
    }


def _phase_post(bands: list[dict[str, str]], existing: list[Any] | None = None, **fields: str):  # type: ignore[no-untyped-def]
    existing = existing or []
    data = {
        "name": "مرحله سوم",
        "starts_on": "۱۴۰۹/۰۱/۰۱",
        "ends_on": "",
        "basis": "per_member",
        "unspent_policy": "carry_over",
        "min_distinct_items": "0",
        "reason": "مصوبه هیئت وزیران",
        "bands-TOTAL_FORMS": str(len(bands)),
        "bands-INITIAL_FORMS": str(len(existing)),
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, band in enumerate(bands):
        if index < len(existing):
            data[f"bands-{index}-id"] = str(existing[index].pk)
            data[f"bands-{index}-phase"] = str(existing[index].phase_id)
        data |= {f"bands-{index}-{key}": value for key, value in band.items()}
    return data


def _phase_maker(username: str = "maker", *extra: str) -> Any:
    return officer_with(username, *PHASE_RULES, *ASKERS, *extra)


def test_a_new_phase_is_a_request_that_phase_on_cannot_see_until_a_second_officer_approves():
    _, two = seeded_phases()
    maker = _phase_maker()
    client = _logged_in(maker)

    asked = client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post([_band(1, 3, credit="۲٬۵۰۰٬۰۰۰"), _band(4, 6)]),
    )

    assert asked.status_code == 302
    change = ChangeRequest.objects.get(kind="phase", status=RequestStatus.PENDING)
    assert change.maker_reason == "مصوبه هیئت وزیران"
    assert not Phase.objects.filter(name="مرحله سوم").exists()
    assert rules.phase_on(day=IN_1409) == two

    approval = _approve(_logged_in(checker()), change)

    assert approval.status_code == 302
    phase = Phase.objects.get(name="مرحله سوم")
    assert rules.phase_on(day=IN_1409) == phase
    assert phase.starts_on == dt.date(2030, 3, 21)
    assert list(phase.bands.values_list("min_decile", "max_decile", "credit_per_cycle_rial")) == [
        (1, 3, 2_500_000),
        (4, 6, CREDIT),
    ]
    change.refresh_from_db()
    assert (change.status, change.maker, change.result) == (
        RequestStatus.APPROVED,
        maker,
        {"مرحله": phase.pk},
    )
    assert change.checker is not None and change.checker.username == "checker"


def test_the_phase_list_shows_the_draft_phases_and_the_request_shows_their_bands():
    seeded_phases()
    client = _logged_in(_phase_maker())
    client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post([_band(1, 3, credit="2500000"), _band(4, 6)]),
    )
    change = ChangeRequest.objects.get(kind="phase")

    phase_list = client.get(reverse("admin:settlements_phase_changelist")).content.decode()
    request_page = client.get(_request_page(change)).content.decode()

    assert 'id="pending-phase-requests"' in phase_list
    assert _request_page(change) in phase_list and "مرحله سوم" in phase_list
    table = request_page.split('class="proposed-bands"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3  # the header and two bands
    assert "۲٬۵۰۰٬۰۰۰ ریال" in table and "۱ شهریور ۱۴۰۲" not in table
    assert "۱ فروردین ۱۴۰۹" in request_page


def test_a_change_of_a_phase_waits_and_its_page_and_request_say_from_what_to_what():
    _, two = seeded_phases()
    bands = list(two.bands.order_by("min_decile"))
    client = _logged_in(_phase_maker())
    url = reverse("admin:settlements_phase_change", args=[two.pk])

    client.post(
        url,
        _phase_post(
            [_band(1, 3, credit="3000000"), _band(4, 5)],
            bands,
            name=two.name,
            starts_on="۱۴۰۲/۰۶/۰۱",
        ),
    )

    change = ChangeRequest.objects.get(kind="phase", status=RequestStatus.PENDING)
    assert two.bands.get(min_decile=1).credit_per_cycle_rial == CREDIT
    assert _request_page(change) in client.get(url).content.decode()
    request_page = client.get(_request_page(change)).content.decode()
    assert "پیشین" in request_page and "۳٬۰۰۰٬۰۰۰ ریال" in request_page

    approvals.approve_change(change_request_id=change.pk, checker=checker())

    assert two.bands.get(min_decile=1).credit_per_cycle_rial == 3_000_000
    assert two.bands.count() == 2


def test_a_rejected_phase_writes_nothing():
    seeded_phases()
    _logged_in(_phase_maker()).post(
        reverse("admin:settlements_phase_add"), _phase_post([_band(1, 3)])
    )
    change = ChangeRequest.objects.get(kind="phase")

    _reject(_logged_in(checker()), change, "مصوبه هیئت وزیران نیامده")

    change.refresh_from_db()
    assert (change.status, change.decision_reason) == (
        RequestStatus.REJECTED,
        "مصوبه هیئت وزیران نیامده",
    )
    assert not Phase.objects.filter(name="مرحله سوم").exists()


def test_the_maker_of_a_phase_cannot_approve_it_even_as_a_checker():
    seeded_phases()
    boss = _phase_maker("boss", "approvals.approve_changerequest")
    client = _logged_in(boss)
    client.post(reverse("admin:settlements_phase_add"), _phase_post([_band(1, 3)]))
    change = ChangeRequest.objects.get(kind="phase")

    _approve(client, change)

    change.refresh_from_db()
    assert change.status == RequestStatus.PENDING
    assert not Phase.objects.filter(name="مرحله سوم").exists()


def test_the_forms_still_refuse_overlapping_bands_and_nothing_is_asked():
    seeded_phases()

    response = _logged_in(_phase_maker()).post(
        reverse("admin:settlements_phase_add"), _phase_post([_band(1, 3), _band(3, 5)])
    )

    assert response.status_code == 200
    assert not ChangeRequest.objects.exists()


def test_a_phase_request_without_a_reason_is_refused_next_to_the_field():
    seeded_phases()

    response = _logged_in(_phase_maker()).post(
        reverse("admin:settlements_phase_add"), _phase_post([_band(1, 3)], reason=" ")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["reason"] == [
        "دلیل یا مستند این تغییر (مانند شماره مصوبه) را بنویسید"
    ]
    assert not ChangeRequest.objects.exists()


def test_saving_a_phase_page_without_a_change_asks_for_nothing():
    _, two = seeded_phases()
    bands = list(two.bands.order_by("min_decile"))

    _logged_in(_phase_maker()).post(
        reverse("admin:settlements_phase_change", args=[two.pk]),
        _phase_post(
            [_band(b.min_decile, b.max_decile, cash=str(b.cash_subsidy_rial)) for b in bands],
            bands,
            name=two.name,
            starts_on="۱۴۰۲/۰۶/۰۱",
        ),
    )

    assert not ChangeRequest.objects.exists()


def test_approval_is_refused_when_another_phase_took_the_start_date_meanwhile():
    seeded_phases()
    client = _logged_in(_phase_maker())
    client.post(reverse("admin:settlements_phase_add"), _phase_post([_band(1, 3)]))
    client.post(
        reverse("admin:settlements_phase_add"), _phase_post([_band(1, 5)], name="مرحله رقیب")
    )
    first, second = ChangeRequest.objects.filter(kind="phase").order_by("pk")
    approver = checker()
    approvals.approve_change(change_request_id=first.pk, checker=approver)

    with pytest.raises(ValidationError) as refused:
        approvals.approve_change(change_request_id=second.pk, checker=approver)

    assert refused.value.error_dict["starts_on"][0].code == "phase_start_taken"
    second.refresh_from_db()
    assert second.status == RequestStatus.PENDING
    assert not Phase.objects.filter(name="مرحله رقیب").exists()


def test_a_phase_that_money_moved_under_since_the_request_is_not_changed_on_approval():
    make_household(decile=2)
    _, two = seeded_phases()
    _logged_in(_phase_maker()).post(
        reverse("admin:settlements_phase_change", args=[two.pk]),
        _phase_post(
            [_band(1, 3, credit="9000000"), _band(4, 5)],
            list(two.bands.order_by("min_decile")),
            name=two.name,
            starts_on="۱۴۰۲/۰۶/۰۱",
        ),
    )
    change = ChangeRequest.objects.get(kind="phase")
    charge("1402-06")  # money moves under the phase while the request waits

    with pytest.raises(ValidationError) as refused:
        approvals.approve_change(change_request_id=change.pk, checker=checker())

    assert refused.value.error_dict["phase"][0].code == "phase_pinned"
    assert two.bands.get(min_decile=1).credit_per_cycle_rial == CREDIT


# --- Starting a run -------------------------------------------------------------------------------


def _charge_asked(client: OfficerClient, cycle: Any) -> Any:
    return admin_action(
        client,
        "admin:settlements_cycle_changelist",
        "charge_cycle",
        [cycle.pk],
        confirm="yes",
        reason="آغاز ماه",
    )


def test_a_charge_moves_no_money_until_a_second_officer_approves_it():
    seeded_phases()
    household = make_household(decile=3)
    cycle = rules.ensure_cycle(key="1402-06")
    maker = officer_with("maker", *RUNS, *ASKERS)
    maker_client = _logged_in(maker)

    _charge_asked(maker_client, cycle)

    change = ChangeRequest.objects.get(kind="run_start", status=RequestStatus.PENDING)
    assert (change.maker_reason, change.payload["run_kind"]) == ("آغاز ماه", RunKind.CYCLE_CHARGE)
    assert not CreditRun.objects.exists()
    assert wallet_balance(household_id=household.pk) == 0
    with pytest.raises(ValidationError):
        approvals.approve_change(change_request_id=change.pk, checker=maker)

    checker_client = _logged_in(checker("checker", "settlements.view_creditrun"))
    _approve(checker_client, change)

    run = CreditRun.objects.get()
    assert (run.kind, run.status, run.started_by) == (
        RunKind.CYCLE_CHARGE,
        RunStatus.COMPLETED,
        maker,
    )
    assert wallet_balance(household_id=household.pk) == CREDIT
    change.refresh_from_db()
    assert change.result == {"اجرا": run.pk}
    assert reverse("admin:settlements_creditrun_change", args=[run.pk]) in (
        checker_client.get(_request_page(change)).content.decode()
    )


def test_a_rejected_charge_starts_nothing():
    seeded_phases()
    household = make_household(decile=3)
    cycle = rules.ensure_cycle(key="1402-06")
    _charge_asked(_logged_in(officer_with("maker", *RUNS, *ASKERS)), cycle)
    change = ChangeRequest.objects.get(kind="run_start")

    _reject(_logged_in(checker()), change, "پیش از تأیید بودجه")

    assert not CreditRun.objects.exists()
    assert wallet_balance(household_id=household.pk) == 0


def test_a_second_charge_request_for_the_same_cycle_waits_for_the_first():
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    client = _logged_in(officer_with("maker", *RUNS, *ASKERS))

    _charge_asked(client, cycle)
    _charge_asked(client, cycle)

    assert ChangeRequest.objects.filter(kind="run_start").count() == 1


def test_the_expiry_of_an_ended_phase_is_asked_from_the_phase_list_and_runs_on_approval():
    phase = make_phase(
        starts_on=dt.date(2024, 3, 20), ends_on=dt.date(2024, 4, 19), policy=UnspentPolicy.EXPIRE
    )
    spender, saver = make_household(decile=1), make_household(decile=2)
    cycle = charge("1403-01")
    buy(spender, cycle=cycle, base=100_000, current=600_000)
    client = _logged_in(officer_with("maker", *RUNS, *ASKERS))

    asked = admin_action(
        client, "admin:settlements_phase_changelist", "expire_phase", [phase.pk], index="0"
    )
    admin_action(
        client,
        "admin:settlements_phase_changelist",
        "expire_phase",
        [phase.pk],
        confirm="yes",
        reason="پایان مرحله",
    )

    assert "admin/reason_confirmation.html" in [t.name for t in asked.templates]
    change = ChangeRequest.objects.get(kind="run_start")
    assert change.payload == {"run_kind": RunKind.EXPIRY, "cycle": None, "phase": phase.pk}
    assert not CreditRun.objects.filter(kind=RunKind.EXPIRY).exists()
    assert wallet_balance(household_id=saver.pk) == CREDIT

    approvals.approve_change(change_request_id=change.pk, checker=checker())

    run = CreditRun.objects.get(kind=RunKind.EXPIRY)
    assert run.status == RunStatus.COMPLETED
    assert wallet_balance(household_id=saver.pk) == 0


def test_the_expiry_of_a_phase_not_ended_is_refused_before_any_request():
    _, two = seeded_phases()
    client = _logged_in(officer_with("maker", *RUNS, *ASKERS))

    admin_action(
        client,
        "admin:settlements_phase_changelist",
        "expire_phase",
        [two.pk],
        confirm="yes",
        reason="پایان مرحله",
    )

    assert not ChangeRequest.objects.exists()


def test_deleting_a_phase_nothing_refers_to_waits_for_a_second_officer():
    seeded_phases()
    phase = make_phase(starts_on=dt.date(2031, 1, 1))
    client = _logged_in(_phase_maker("maker", "settlements.delete_phase"))

    client.post(reverse("admin:settlements_phase_delete", args=[phase.pk]), {"post": "yes"})

    change = ChangeRequest.objects.get(kind="phase", status=RequestStatus.PENDING)
    assert rules.phase_on(day=dt.date(2031, 2, 1)) == phase

    approvals.approve_change(change_request_id=change.pk, checker=checker())

    assert not Phase.objects.filter(pk=phase.pk).exists()
    assert "دیگر نیست" in client.get(_request_page(change)).content.decode()
