"""The officer admin of the rules: phases and their bands, editable until money moves."""

import datetime as dt

import pytest
from django.urls import reverse

from settlements.models import Phase, PhaseBand
from tests.approvals.factories import approve_pending
from tests.households.factories import make_household
from tests.settlements.factories import CREDIT, admin_messages, charge, make_phase, seeded_phases

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager_setting")]


def _band_rows(bands: list[dict[str, str]], existing: list[PhaseBand] | None = None) -> dict:
    existing = existing or []
    data = {
        "bands-TOTAL_FORMS": str(len(bands)),
        "bands-INITIAL_FORMS": str(len(existing)),
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "1000",
    }
    for index, band in enumerate(bands):
        if index < len(existing):
            data[f"bands-{index}-id"] = str(existing[index].pk)
            data[f"bands-{index}-phase"] = str(existing[index].phase_id)
        for key, value in band.items():
            data[f"bands-{index}-{key}"] = value
    return data


def _band(low: str, high: str, credit: str = "2000000", threshold: str = "2000000") -> dict:
    return {
        "min_decile": low,
        "max_decile": high,
        "credit_per_cycle_rial": credit,
        "bonus_threshold_rial": threshold,
        "bonus_amount_rial": "1200000",
        "cash_subsidy_rial": "0",
    }


def _phase_post(phase_fields: dict[str, str], bands: list[dict], existing=None) -> dict:
    data = {
        "name": "مرحله آزمایشی",
        "starts_on": "1409/01/01",
        "ends_on": "",
        "basis": "per_member",
        "unspent_policy": "carry_over",
        "min_distinct_items": "0",
        "reason": "مصوبه هیئت وزیران",
        **phase_fields,
    }
    data.update(_band_rows(bands, existing))
    return data


def _band_errors(response) -> list[dict]:
    formset = response.context["inline_admin_formsets"][0].formset
    return [form.errors for form in formset.forms]


def test_a_phase_without_money_is_editable(admin_client):
    _, two = seeded_phases()
    bands = list(two.bands.order_by("min_decile"))

    response = admin_client.post(
        reverse("admin:settlements_phase_change", args=[two.pk]),
        _phase_post(
            {"name": two.name, "starts_on": "۱۴۰۲/۰۶/۰۱"},
            [_band("1", "3", credit="۲٬۵۰۰٬۰۰۰"), _band("4", "5")],
            bands,
        ),
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    approve_pending("phase")
    two.refresh_from_db()
    assert two.starts_on == dt.date(2023, 8, 23)
    assert two.bands.get(min_decile=1).credit_per_cycle_rial == 2_500_000


def test_a_new_phase_is_made_from_a_jalali_date_with_its_bands(admin_client):
    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({"starts_on": "۱۴۰۹/۰۱/۰۱"}, [_band("1", "3"), _band("۴", "۵")]),
    )

    assert response.status_code == 302
    assert not Phase.objects.filter(name="مرحله آزمایشی").exists()  # a request, until approved
    approve_pending("phase")
    phase = Phase.objects.get(name="مرحله آزمایشی")
    assert phase.starts_on == dt.date(2030, 3, 21)
    assert sorted(phase.bands.values_list("min_decile", "max_decile")) == [(1, 3), (4, 5)]


def test_overlapping_bands_are_refused_next_to_the_field(admin_client):
    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({}, [_band("1", "3"), _band("3", "5")]),
    )

    assert response.status_code == 200
    errors = _band_errors(response)
    assert errors[0] == {}
    assert "هم‌پوشانی" in errors[1]["min_decile"][0]
    assert not Phase.objects.filter(name="مرحله آزمایشی").exists()


@pytest.mark.parametrize(
    ("band", "field", "message"),
    [
        (_band("5", "3"), "max_decile", "«تا دهک» نباید از «از دهک» کوچک‌تر باشد"),
        (_band("0", "3"), "min_decile", "دهک باید عددی از ۱ تا ۱۰ باشد"),
        (_band("1", "11"), "max_decile", "دهک باید عددی از ۱ تا ۱۰ باشد"),
        (_band("1", "3", credit="-5"), "credit_per_cycle_rial", "مبلغ نمی‌تواند منفی باشد"),
        (
            _band("1", "3", credit="12.5"),
            "credit_per_cycle_rial",
            "مبلغ باید عدد صحیح ریال باشد (بدون اعشار و حروف)",
        ),
        (
            _band("1", "3", threshold="0"),
            "bonus_threshold_rial",
            "آستانه اعتبار مضاعف باید بیشتر از صفر باشد",
        ),
    ],
)
def test_a_bad_band_is_refused_next_to_its_field(admin_client, band, field, message):
    response = admin_client.post(reverse("admin:settlements_phase_add"), _phase_post({}, [band]))

    assert response.status_code == 200
    assert _band_errors(response)[0][field] == [message]
    assert not Phase.objects.filter(name="مرحله آزمایشی").exists()


def test_a_phase_cannot_end_before_it_starts_nor_share_a_start(admin_client):
    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({"starts_on": "1409/01/10", "ends_on": "1409/01/01"}, [_band("1", "3")]),
    )
    assert response.context["adminform"].form.errors["ends_on"] == [
        "پایان مرحله نباید پیش از آغاز آن باشد"
    ]

    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({"starts_on": "۱۴۰۲/۰۶/۰۱"}, [_band("1", "3")]),
    )
    assert "از همین تاریخ آغاز می‌شود" in response.context["adminform"].form.errors["starts_on"][0]

    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({"starts_on": "1409/13/01"}, [_band("1", "3")]),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["starts_on"]


def test_after_money_moved_the_phase_is_read_only_and_a_post_changes_nothing(admin_client):
    make_household(decile=2)
    cycle = charge("1402-06")
    phase = cycle.phase
    url = reverse("admin:settlements_phase_change", args=[phase.pk])

    page = admin_client.get(url)

    content = page.content.decode()
    assert page.status_code == 200
    assert (
        "پس از جابه‌جایی پول با قواعد این مرحله، تغییر آن ممکن نیست؛ مرحله تازه‌ای از تاریخ دیگری بسازید"
        in content
    )
    assert 'name="bands-0-credit_per_cycle_rial"' not in content
    assert 'name="name"' not in content
    assert "۲٬۰۰۰٬۰۰۰ ریال" in content

    bands = list(phase.bands.order_by("min_decile"))
    response = admin_client.post(
        url,
        _phase_post(
            {"name": "تغییر", "starts_on": "1402/06/01"},
            [_band("1", "3", credit="9000000"), _band("4", "5")],
            bands,
        ),
    )

    assert response.status_code == 302
    assert "چیزی ذخیره نشد" in " ".join(admin_messages(response))
    phase.refresh_from_db()
    assert phase.name != "تغییر"
    assert phase.bands.get(min_decile=1).credit_per_cycle_rial == CREDIT


def test_a_phase_with_money_cannot_be_deleted(admin_client):
    make_household(decile=2)
    phase = charge("1402-06").phase
    url = reverse("admin:settlements_phase_delete", args=[phase.pk])

    assert admin_client.get(url).status_code == 302
    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert Phase.objects.filter(pk=phase.pk).exists()
    changelist = admin_client.get(reverse("admin:settlements_phase_changelist"))
    assert "delete_selected" not in changelist.content.decode()


def test_a_phase_without_money_or_cycles_can_be_deleted(admin_client):
    phase = make_phase(starts_on=dt.date(2031, 1, 1))

    response = admin_client.post(
        reverse("admin:settlements_phase_delete", args=[phase.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert Phase.objects.filter(pk=phase.pk).exists()  # a request, until approved

    approve_pending("phase")

    assert not Phase.objects.filter(pk=phase.pk).exists()


def test_the_phase_list_shows_jalali_dates_and_the_deciles_covered(admin_client):
    seeded_phases()

    content = admin_client.get(reverse("admin:settlements_phase_changelist")).content.decode()

    assert "۱ شهریور ۱۴۰۲" in content
    assert "2023-08-23" in content
    assert "۱ تا ۳، ۴ تا ۵" in content
