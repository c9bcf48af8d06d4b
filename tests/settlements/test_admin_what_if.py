"""The what-if in the admin (issue 17): the form beside the phases, a draft phase's (a request's)
bands projected, the projection recorded with a ``phase`` request when it is asked, and the
approver shown that recorded projection — not a recount — even after the data changed.

Figures: ``tests.settlements.factories.what_if_data``, computed by hand in
``tests/settlements/test_projection.py`` (deciles 1–6 at 1,500,000 rial per member, bonus
600,000 at 1,000,000 spent: 14,166,667 rial projected; 1402-06 actually cost 9,700,000)."""

import datetime as dt

import pytest
from django.urls import reverse

from approvals.models import ChangeRequest, RequestStatus
from kalabarg.lib import admin_display as show
from tests.approvals.factories import approve_pending
from tests.households.factories import make_household
from tests.settlements.factories import make_phase, what_if_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager_setting")]

URL = "admin:settlements_phase_what_if"
EXAMPLE = {
    "deciles": "۱-۶",
    "credit_rial": "۱٬۵۰۰٬۰۰۰",
    "threshold_rial": "1000000",
    "bonus_rial": "600000",
    "basis": "member",
}


def _phase_post(**fields: str) -> dict[str, str]:
    band = {
        "min_decile": "1",
        "max_decile": "6",
        "credit_per_cycle_rial": "1500000",
        "bonus_threshold_rial": "1000000",
        "bonus_amount_rial": "600000",
        "cash_subsidy_rial": "0",
    }
    return {
        "name": "مرحله آزمایشی",
        "starts_on": "1409/01/01",
        "ends_on": "",
        "basis": "per_member",
        "unspent_policy": "carry_over",
        "min_distinct_items": "0",
        "reason": "مصوبه هیئت وزیران",
        "bands-TOTAL_FORMS": "1",
        "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "1000",
        **{f"bands-0-{key}": value for key, value in band.items()},
        **fields,
    }


def _propose(admin_client) -> ChangeRequest:  # type: ignore[no-untyped-def]
    asked = admin_client.post(reverse("admin:settlements_phase_add"), _phase_post())
    assert asked.status_code == 302
    return ChangeRequest.objects.get(kind="phase", status=RequestStatus.PENDING)


def test_the_what_if_form_projects_the_rule_beside_the_closed_cycles_actual_cost(admin_client):
    what_if_data()

    page = admin_client.get(reverse(URL), EXAMPLE)

    assert page.status_code == 200
    content = page.content.decode()
    assert show.rial(14_166_667) in content  # projected
    assert show.rial(9_700_000) in content  # 1402-06, actually
    assert show.rial(1_166_667) in content  # compensation, with E's expected share


def test_the_what_if_form_refuses_bad_input_next_to_the_field_and_keeps_it(admin_client):
    what_if_data()

    page = admin_client.get(reverse(URL), {**EXAMPLE, "deciles": "۷-۳", "threshold_rial": "0"})

    form = page.context["form"]
    assert form.errors["deciles"] == ["دهک آغاز نباید از دهک پایان بزرگ‌تر باشد"]
    assert form.errors["threshold_rial"] == ["آستانه اعتبار مضاعف باید بیشتر از صفر باشد"]
    assert page.context["table"] == ""
    assert 'value="۷-۳"' in page.content.decode()


def test_the_what_if_page_opens_on_the_phase_in_force_without_projecting_anything(admin_client):
    what_if_data()

    page = admin_client.get(reverse(URL))

    assert page.status_code == 200
    assert page.context["table"] == ""
    assert page.context["form"].initial["credit_rial"] == 2_000_000


def test_a_draft_phase_on_the_phase_list_links_to_the_what_if_of_its_bands(admin_client):
    what_if_data()
    change = _propose(admin_client)

    listed = admin_client.get(reverse("admin:settlements_phase_changelist"))
    link = f"{reverse(URL)}?request={change.pk}"
    projected = admin_client.get(link)

    assert link in listed.content.decode()
    assert show.rial(14_166_667) in projected.content.decode()


def test_proposing_a_phase_records_its_projection_and_the_actual_cost_in_the_request(
    admin_client,
):
    what_if_data()

    change = _propose(admin_client)

    recorded = change.payload["projection"]
    assert (recorded["projection"]["total_rial"], recorded["projection"]["cycle"]) == (
        14_166_667,
        "1402-06",
    )
    assert recorded["actual"]["total_rial"] == 9_700_000


def test_the_approver_sees_the_projection_recorded_when_asked_even_after_the_registry_changed(
    admin_client,
):
    what_if_data()
    change = _propose(admin_client)
    make_household(decile=1, members=4)  # five more members: 7,500,000 more credit today

    page = admin_client.get(reverse("admin:approvals_changerequest_change", args=[change.pk]))
    approve_pending("phase")
    after = admin_client.get(reverse("admin:approvals_changerequest_change", args=[change.pk]))

    assert show.rial(14_166_667) in page.content.decode()
    assert show.rial(14_166_667 + 7_500_000) not in page.content.decode()
    assert show.rial(14_166_667) in after.content.decode()


def test_a_phase_page_links_to_the_what_if_of_its_bands(admin_client):
    what_if_data()
    draft = make_phase(
        starts_on=dt.date(2031, 3, 21),
        deciles=(1, 6),
        credit=1_500_000,
        threshold=1_000_000,
        bonus=600_000,
    )

    page = admin_client.get(reverse("admin:settlements_phase_change", args=[draft.pk]))
    link = f"{reverse(URL)}?phase={draft.pk}"
    projected = admin_client.get(link)

    assert link in page.content.decode()
    assert show.rial(14_166_667) in projected.content.decode()
