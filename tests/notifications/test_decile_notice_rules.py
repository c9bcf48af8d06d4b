"""The decile notice states the bonus rule as it is (issue 13 §5): credit SPENT from the kalabarg
credit earns the bonus, and every figure in the text is the phase's own."""

import importlib
import re

import pytest
from django.apps import apps

from kalabarg.lib.persian import to_latin_digits
from notifications.defaults import TEMPLATES
from notifications.models import SmsKind, SmsTemplate
from notifications.services.campaigns import PER_MEMBER_NOTE, decile_bodies
from settlements.models import CreditBasis, Phase
from tests.notifications.factories import phase_for_notices
from tests.settlements.factories import PhaseFactory, seeded_phases

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module(
    "notifications.migrations.0005_decile_notice_credit_spent_and_purchase_texts"
)
_MONEY = re.compile(r"(\d[\d٬]*)(?:٫(\d+))? (تومان|ریال)")


def money_in(text: str) -> list[int]:
    """Every amount in ``text``, back in rials, in order (``۲۰۰٬۰۰۰ تومان`` → 2,000,000)."""
    amounts = []
    for whole, fraction, unit in _MONEY.findall(to_latin_digits(text)):
        value = int(whole.replace("٬", ""))
        amounts.append(value * 10 + int(fraction or 0) if unit == "تومان" else value)
    return amounts


def phases_to_check() -> list[Phase]:
    """The phases the migrations seed, and two more whose amounts all differ (one per household)."""
    seeded_phases()
    phase_for_notices()
    PhaseFactory(
        name="مرحله خانواری", starts_on="2030-01-01", basis=CreditBasis.PER_HOUSEHOLD,
        band__min_decile=1, band__max_decile=4, band__credit_per_cycle_rial=7_000_000,
        band__bonus_threshold_rial=3_500_000, band__bonus_amount_rial=900_005,
    )  # fmt: skip
    return list(Phase.objects.prefetch_related("bands").order_by("starts_on"))


def test_every_figure_of_the_seeded_notice_is_the_phase_s_rule_for_every_decile():
    body = SmsTemplate.objects.get(kind=SmsKind.DECILE_NOTICE).body
    checked = 0
    for phase in phases_to_check():
        for band in phase.bands.all():
            deciles = list(range(band.min_decile, band.max_decile + 1))
            texts = decile_bodies(phase=phase, deciles=deciles, body_template=body)
            for decile, text in texts.items():
                latin = to_latin_digits(text)
                assert re.findall(r"دهک (\d+)", latin) == [str(decile)], text
                assert money_in(text) == [
                    band.credit_per_cycle_rial,
                    band.bonus_threshold_rial,
                    band.bonus_amount_rial,
                ], text
                # The threshold is credit spent, not the basket's price.
                threshold = re.search(r"با خرج کردن (.+?) از اعتبار کالابرگ", text)
                assert threshold and money_in(threshold.group(1)) == [band.bonus_threshold_rial]
                assert "اقلام سبد" not in text
                assert (PER_MEMBER_NOTE in text) is (phase.basis == CreditBasis.PER_MEMBER)
                checked += 1
    assert checked >= 3 + 5 + 3 + 2 + 4  # seeded: 1–3, 1–5; the others: 1–5, 1–4


def test_the_default_and_the_seeded_text_say_credit_spent():
    assert "از اعتبار کالابرگ" in TEMPLATES["decile_notice"]
    assert SmsTemplate.objects.get(kind=SmsKind.DECILE_NOTICE).body == TEMPLATES["decile_notice"]


def test_the_migration_replaces_only_the_old_default_never_an_officer_s_edit():
    template = SmsTemplate.objects.get(kind=SmsKind.DECILE_NOTICE)
    template.body = MIGRATION.OLD_DECILE_NOTICE
    template.save()
    MIGRATION.forwards(apps, None)
    template.refresh_from_db()
    assert template.body == MIGRATION.NEW_DECILE_NOTICE == TEMPLATES["decile_notice"]

    edited = "دهک {decile}: با خرید {threshold} از اقلام سبد، {bonus} می‌گیرید."
    template.body = edited
    template.save()
    MIGRATION.forwards(apps, None)
    template.refresh_from_db()
    assert template.body == edited
