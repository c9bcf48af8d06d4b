"""The summary tables against a small data set computed by hand.

This month's cycle (phase: deciles 1–5 covered, 2,000,000 rial per member, bonus 1,200,000 at
2,000,000 spent). Province A: household H1 (decile 2, two people) and H2 (decile 4, alone);
province B: H3 (decile 8, alone, not covered). All made through the real services.

| household | charged | purchases (net of reversals)                                  | bonus      | SMS              |
| --------- | ------- | ------------------------------------------------------------- | ---------- | ---------------- |
| H1        | 4,000,000 | one of base 100,000 / current 300,000: credit 200,000; a second reversed | —          | one sent, one failed |
| H2        | 2,000,000 | one of base 100,000 / current 3,100,000: credit 2,000,000, compensation 1,000,000 | 1,200,000  | the bonus's, sent |
| H3        | —       | —                                                             | —          | one delivered    |
"""

import datetime as dt

import pytest
from django_celery_beat.models import PeriodicTask

from kalabarg.figures.models import (
    CycleFigure,
    FiguresRefresh,
    RefreshStatus,
    StoreFigure,
    TopStore,
)
from kalabarg.figures.refresh import cycles_to_refresh, refresh_figures
from notifications.models import MessageStatus
from settlements.models import CycleCost
from tests.households.factories import HouseholdFactory, ProvinceFactory
from tests.notifications.factories import SmsMessageFactory
from tests.settlements.factories import buy, charge, reverse, settle, this_month
from tests.stores.factories import make_terminal

pytestmark = pytest.mark.django_db

FIELDS = (
    "covered",
    "households",
    "members",
    "charged",
    "charged_members",
    "credit_issued_rial",
    "participating",
    "purchases",
    "basket_rial",
    "credit_spent_rial",
    "compensation_rial",
    "bonuses",
    "bonus_rial",
    "sms_sent",
    "sms_failed",
)


@pytest.fixture
def story(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    a, b = ProvinceFactory(name="اصفهان"), ProvinceFactory(name="فارس")
    h1 = HouseholdFactory(province=a, decile=2, members=1)
    h2 = HouseholdFactory(province=a, decile=4)
    h3 = HouseholdFactory(province=b, decile=8)
    cycle = charge(this_month())
    terminal = make_terminal()
    buy(h1, cycle=cycle, base=100_000, current=300_000, terminal=terminal)
    reverse(buy(h1, cycle=cycle, base=100_000, current=500_000, terminal=terminal))
    with django_capture_on_commit_callbacks(execute=True):  # the instant bonus, on commit
        buy(h2, cycle=cycle, base=100_000, current=3_100_000, terminal=terminal)
    head1 = h1.members.get(is_head=True)
    SmsMessageFactory(person=head1, status=MessageStatus.SENT)
    SmsMessageFactory(person=head1, status=MessageStatus.FAILED)
    SmsMessageFactory(person=h3.members.get(is_head=True), status=MessageStatus.DELIVERED)
    return {"a": a, "b": b, "cycle": cycle, "terminal": terminal}


def _row(cycle, province, decile) -> tuple:  # type: ignore[no-untyped-def]
    figure = CycleFigure.objects.get(cycle=cycle, province=province, decile=decile)
    return tuple(getattr(figure, name) for name in FIELDS)


def test_every_figure_of_a_cycle_matches_the_hand_computed_one(story):
    refresh_figures(trigger="test")
    cycle, a, b = story["cycle"], story["a"], story["b"]
    assert _row(cycle, a, 2) == (
        True, 1, 2, 1, 2, 4_000_000, 1, 1, 300_000, 200_000, 0, 0, 0, 1, 1,
    )  # fmt: skip
    assert _row(cycle, a, 4) == (
        True, 1, 1, 1, 1, 2_000_000, 1, 1, 3_100_000, 2_000_000, 1_000_000, 1, 1_200_000, 1, 0,
    )  # fmt: skip
    assert _row(cycle, b, 8) == (False, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0)


def test_a_refresh_records_each_deciles_actual_cost_for_the_what_if(story):
    """Per decile over both provinces: charged households and their members, credit, bonuses in
    force, compensation; decile 8 (not charged, no money) is not kept."""
    refresh_figures(trigger="test")
    recorded = {
        row.decile: (
            row.households,
            row.members,
            row.credit_rial,
            row.bonus_rial,
            row.compensation_rial,
        )
        for row in CycleCost.objects.filter(cycle=story["cycle"])
    }
    assert recorded == {
        2: (1, 2, 4_000_000, 0, 0),
        4: (1, 1, 2_000_000, 1_200_000, 1_000_000),
    }


def test_only_provinces_and_deciles_with_households_get_a_row(story):
    refresh_figures(trigger="test")
    cells = set(
        CycleFigure.objects.filter(
            cycle=story["cycle"], province__in=[story["a"], story["b"]]
        ).values_list("province_id", "decile")
    )
    assert cells == {(story["a"].pk, 2), (story["a"].pk, 4), (story["b"].pk, 8)}


def test_the_stores_figures_count_the_stores_that_sold_and_rank_the_top_sellers(story):
    refresh_figures(trigger="test")
    store = story["terminal"].store
    figure = StoreFigure.objects.get(cycle=story["cycle"], province=store.province)
    top = TopStore.objects.get(cycle=story["cycle"], rank=1)
    assert (figure.connected, figure.selling, figure.paid_out) == (1, 1, 0)
    assert (top.store_id, top.purchases, top.basket_rial, top.owed_rial) == (
        store.pk,
        2,
        3_400_000,
        200_000 + 3_000_000,
    )


def test_a_refresh_replaces_a_cycles_rows_rather_than_adding_to_them(story):
    refresh_figures(trigger="test")
    refresh_figures(trigger="test")
    assert _row(story["cycle"], story["a"], 4)[1] == 1
    assert CycleFigure.objects.filter(cycle=story["cycle"], province=story["a"]).count() == 2


def test_a_refresh_is_recorded_with_its_cycles_and_time(story):
    record = refresh_figures(trigger="test")
    assert (record.status, record.cycles, record.trigger) == (
        RefreshStatus.COMPLETED,
        [story["cycle"].key],
        "test",
    )
    assert record.finished_at is not None and record.seconds is not None


def test_a_finished_credit_run_refreshes_the_figures(django_capture_on_commit_callbacks):
    HouseholdFactory(decile=3)
    with django_capture_on_commit_callbacks(execute=True):
        cycle = charge(this_month())
    assert FiguresRefresh.objects.filter(trigger="after:cycle_charge").exists()
    assert CycleFigure.objects.filter(cycle=cycle, charged=1).exists()


def test_cycles_closed_long_ago_are_left_alone_once_they_have_figures(story):
    cycle = story["cycle"]
    refresh_figures(trigger="test")
    type(cycle).objects.filter(pk=cycle.pk).update(status="closed")
    later = cycle.ends_on + dt.timedelta(days=100)
    assert cycle.pk not in [c.pk for c in cycles_to_refresh(today=later)]
    assert cycle.pk in [c.pk for c in cycles_to_refresh(today=cycle.ends_on)]


def test_the_refresh_is_on_the_beat_schedule():
    task = PeriodicTask.objects.get(task="kalabarg.figures.tasks.refresh_figures")
    assert task.enabled


def test_a_finished_store_settlement_refreshes_the_figures(
    story, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        settle()
    assert FiguresRefresh.objects.filter(trigger="after:store_settlement").exists()
