"""The nightly anomaly job (settlements.services.anomalies): each of the five patterns flags the
store that shows it, with its figures, and not the ordinary store beside it; only completed
purchases count; an open flag is never raised twice; days and hours are Tehran's.

Purchases are made by the real checkout at chosen Tehran moments; thresholds are lowered with
the ``settings`` fixture so that a handful of purchases shows each pattern."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from households.models import Household
from kalabarg.celery import app as celery_app
from settlements import tasks
from settlements.services.anomalies import flag_store_anomalies, tehran_yesterday
from stores.models import FlagKind, FlagStatus, Purchase, Store, StoreFlag, Terminal
from stores.services import close_flag
from tests.households.factories import make_household
from tests.settlements.factories import (
    card_of,
    checkout_purchase,
    payment_code_purchase,
    priced_item,
    reverse,
)
from tests.stores.factories import make_store, make_terminal

pytestmark = pytest.mark.django_db

TEHRAN = ZoneInfo("Asia/Tehran")
DAY = dt.date(2024, 5, 14)


def at(hour: int, minute: int = 0, *, day: dt.date = DAY) -> dt.datetime:
    """A moment of ``day``, Tehran time."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TEHRAN)


def till(province_name: str = "تهران") -> Terminal:
    """A connected store's POS terminal."""
    return make_terminal(make_store(province_name=province_name))


def purchase(
    terminal: Terminal,
    *,
    household: Household | None = None,
    current: int = 1_000_000,
    when: dt.datetime | None = None,
) -> Purchase:
    """One basket worth ``current`` rials (half of it at base prices), by the real checkout."""
    item = priced_item(base=current // 2, current=current)
    return checkout_purchase(
        household or make_household(), lines={item.code: 1}, terminal=terminal, at=when or at(12)
    )


def flags_of(store: Store, kind: str) -> list[StoreFlag]:
    return list(StoreFlag.objects.filter(store=store, kind=kind).order_by("id"))


def run(day_from: dt.date = DAY, day_to: dt.date | None = None):  # type: ignore[no-untyped-def]
    return flag_store_anomalies(day_from=day_from, day_to=day_to or day_from)


# --- The five patterns ---------------------------------------------------------------------------


def test_a_store_whose_average_basket_is_far_above_its_provinces_is_flagged(settings):
    # Given two stores of one province: one sells baskets of 3,000,000 rials, the other 500,000
    settings.ANOMALY_BASKET_MIN_PURCHASES = 3
    settings.ANOMALY_BASKET_FACTOR = 3
    dear, ordinary = till(), till()
    for minute in range(3):
        purchase(dear, current=3_000_000, when=at(10, minute))
        purchase(ordinary, current=500_000, when=at(11, minute))

    # When the job runs over the day
    report = run()

    # Then the dear store is flagged with its figures and the province's, the other is not
    assert report.basket_above_province == 1
    [flag] = flags_of(dear.store, FlagKind.BASKET_ABOVE_PROVINCE)
    assert (flag.status, flag.period_from, flag.period_to) == (FlagStatus.OPEN, DAY, DAY)
    assert flag.evidence == {
        "purchases": 3,
        "store_average_rial": 3_000_000,
        "province_average_rial": 500_000,
        "province_purchases": 3,
        "ratio_percent": 600,
        "factor": 3,
    }
    assert flags_of(ordinary.store, FlagKind.BASKET_ABOVE_PROVINCE) == []


def test_a_store_is_compared_with_its_own_province_only(settings):
    # Given a store selling dear baskets in Fars, and cheap baskets sold only in Tehran
    settings.ANOMALY_BASKET_MIN_PURCHASES = 2
    dear = till("فارس")
    for minute in range(2):
        purchase(dear, current=3_000_000, when=at(10, minute))
        purchase(till(), current=500_000, when=at(11, minute))
        purchase(till(), current=500_000, when=at(12, minute))

    # When the job runs
    report = run()

    # Then nothing is flagged: no other store of Fars sold, so there is nothing to compare with
    assert report.basket_above_province == 0


def test_a_card_used_for_many_purchases_in_one_tehran_day_flags_the_store(settings):
    # Given a card paying 3 purchases on one Tehran day at one store, and at another store a card
    # paying 3 in one UTC day that spans two Tehran days (23:10, 23:50 and 00:10 Tehran)
    settings.ANOMALY_CARD_PURCHASES_PER_DAY = 3
    busy, ordinary = till(), till()
    regular = make_household()
    for hour in (9, 13, 18):
        purchase(busy, household=regular, when=at(hour))
    night_owl = make_household()
    purchase(ordinary, household=night_owl, when=at(23, 10))
    purchase(ordinary, household=night_owl, when=at(23, 50))
    purchase(ordinary, household=night_owl, when=at(0, 10, day=DAY + dt.timedelta(days=1)))

    # When the job runs over both days
    report = run(DAY, DAY + dt.timedelta(days=1))

    # Then the busy store is flagged with the card, its payer, the day and the count
    assert report.card_repeated == 1
    [flag] = flags_of(busy.store, FlagKind.CARD_REPEATED)
    card = card_of(regular.members.get(is_head=True))
    assert flag.evidence == {
        "day": DAY.isoformat(),
        "purchases": 3,
        "card_bin": card[:6],
        "card_last4": card[-4:],
        "payer_id": regular.members.get(is_head=True).pk,
        "card_days": 1,
        "threshold": 3,
    }
    assert (flag.period_from, flag.period_to) == (DAY, DAY + dt.timedelta(days=1))
    assert flags_of(ordinary.store, FlagKind.CARD_REPEATED) == []


def test_a_persons_payment_codes_count_as_one_card_of_theirs(settings):
    # Given a head paying 3 purchases in a day with payment codes (no card) at one store
    settings.ANOMALY_CARD_PURCHASES_PER_DAY = 3
    terminal = till()
    household = make_household()
    item = priced_item(base=500_000, current=1_000_000)
    for hour in (9, 13, 18):
        payment_code_purchase(household, lines={item.code: 1}, terminal=terminal, at=at(hour))

    # When the job runs
    run()

    # Then the store is flagged, the "card" being the payer's payment code
    [flag] = flags_of(terminal.store, FlagKind.CARD_REPEATED)
    assert (flag.evidence["card_last4"], flag.evidence["purchases"]) == ("", 3)
    assert flag.evidence["payer_id"] == household.members.get(is_head=True).pk


def test_a_store_whose_sales_come_mostly_from_few_cards_is_flagged(settings):
    # Given a store where one card paid 3,000,000 of 3,100,000 rials, and a store where four
    # cards paid equal shares
    settings.ANOMALY_FEW_CARDS_COUNT = 1
    settings.ANOMALY_FEW_CARDS_SHARE_PERCENT = 50
    settings.ANOMALY_FEW_CARDS_MIN_PURCHASES = 4
    captive, ordinary = till(), till()
    regular = make_household()
    for hour in (9, 13, 18):
        purchase(captive, household=regular, current=1_000_000, when=at(hour))
    purchase(captive, current=100_000, when=at(19))
    for hour in (9, 10, 11, 12):
        purchase(ordinary, current=1_000_000, when=at(hour))

    # When the job runs
    report = run()

    # Then the first store is flagged with the share and the card's last four
    assert report.few_cards == 1
    [flag] = flags_of(captive.store, FlagKind.FEW_CARDS)
    assert flag.evidence == {
        "purchases": 4,
        "cards": 2,
        "top_cards": 1,
        "top_purchases": 3,
        "top_total_rial": 3_000_000,
        "total_rial": 3_100_000,
        "share_percent": 96,
        "card_last4s": [card_of(regular.members.get(is_head=True))[-4:]],
        "threshold_percent": 50,
    }
    assert flags_of(ordinary.store, FlagKind.FEW_CARDS) == []


def test_a_store_selling_mostly_at_night_in_tehran_is_flagged(settings):
    # Given a store selling at 00:30 and 02:00 Tehran (21:00 and 22:30 UTC the evening before)
    # and at noon; and a store selling at 05:00 and 06:30 Tehran (01:30 and 03:00 UTC) and noon
    settings.ANOMALY_NIGHT_FROM_HOUR = 23
    settings.ANOMALY_NIGHT_TO_HOUR = 5
    settings.ANOMALY_NIGHT_MIN_PURCHASES = 2
    settings.ANOMALY_NIGHT_SHARE_PERCENT = 50
    nocturnal, early = till(), till()
    for hour, minute in ((0, 30), (2, 0), (12, 0)):
        purchase(nocturnal, when=at(hour, minute))
    for hour, minute in ((5, 0), (6, 30), (12, 0)):
        purchase(early, when=at(hour, minute))

    # When the job runs
    report = run()

    # Then night is read in Tehran time: the first store is flagged, the second (night in UTC
    # only, and 05:00 is the end of the night) is not
    assert report.night_sales == 1
    [flag] = flags_of(nocturnal.store, FlagKind.NIGHT_SALES)
    assert flag.evidence == {
        "purchases": 3,
        "night_purchases": 2,
        "share_percent": 66,
        "from_hour": 23,
        "to_hour": 5,
        "threshold_percent": 50,
    }
    assert flags_of(early.store, FlagKind.NIGHT_SALES) == []


def test_a_store_with_many_lines_just_under_the_per_line_limit_is_flagged(settings):
    # Given a store whose lines are 95 and 99.5 units (the limit is 100) and one at the limit,
    # and a store whose lines are at the limit, just under 90 units, and 50 units
    settings.ANOMALY_UNDER_LIMIT_PERCENT = 90
    settings.ANOMALY_UNDER_LIMIT_MIN_LINES = 2
    rice, beans = priced_item(base=1_000, current=1_200), priced_item(base=2_000, current=2_500)
    splitter, ordinary = till(), till()
    checkout_purchase(
        make_household(), lines={rice.code: 95, beans.code: "99.5"}, terminal=splitter, at=at(10)
    )
    checkout_purchase(make_household(), lines={rice.code: 100}, terminal=splitter, at=at(11))
    checkout_purchase(
        make_household(), lines={rice.code: 100, beans.code: "89.999"}, terminal=ordinary, at=at(10)
    )
    checkout_purchase(make_household(), lines={rice.code: 50}, terminal=ordinary, at=at(11))

    # When the job runs
    report = run()

    # Then the first store is flagged with its lines; the limit itself does not count
    assert report.under_line_limit == 1
    [flag] = flags_of(splitter.store, FlagKind.UNDER_LINE_LIMIT)
    assert flag.evidence == {
        "lines": 3,
        "near_lines": 2,
        "near_purchases": 1,
        "from_quantity": "90",
        "limit_quantity": "100",
        "threshold_lines": 2,
    }
    assert flags_of(ordinary.store, FlagKind.UNDER_LINE_LIMIT) == []


# --- What counts, and how often a flag is raised ---------------------------------------------------


def test_reversed_purchases_do_not_count(settings):
    # Given a card paying 3 purchases in a day at a store, one of them reversed
    settings.ANOMALY_CARD_PURCHASES_PER_DAY = 3
    terminal = till()
    household = make_household()
    made = [purchase(terminal, household=household, when=at(hour)) for hour in (9, 13, 18)]
    reverse(made[0])

    # When the job runs
    report = run()

    # Then the two completed purchases are not enough
    assert report.card_repeated == 0
    assert flags_of(terminal.store, FlagKind.CARD_REPEATED) == []


def test_purchases_outside_the_period_do_not_count(settings):
    # Given a card paying 3 purchases on the day before the period and 1 in it
    settings.ANOMALY_CARD_PURCHASES_PER_DAY = 3
    terminal = till()
    household = make_household()
    before = DAY - dt.timedelta(days=1)
    for hour in (9, 13, 23):
        purchase(terminal, household=household, when=at(hour, 59, day=before))
    purchase(terminal, household=household, when=at(0, 5))

    # When the job runs over DAY only
    report = run()

    # Then nothing is flagged
    assert report.total == 0


def test_a_second_run_does_not_raise_an_open_flag_again(settings):
    # Given a store flagged for a card's repeated purchases
    settings.ANOMALY_CARD_PURCHASES_PER_DAY = 3
    terminal = till()
    household = make_household()
    for hour in (9, 13, 18):
        purchase(terminal, household=household, when=at(hour))
    run()

    # When the job runs again over the same day, and over the next day with more of the same
    again = run()
    for hour in (9, 13, 18):
        purchase(terminal, household=household, when=at(hour, day=DAY + dt.timedelta(days=1)))
    next_day = run(DAY + dt.timedelta(days=1))

    # Then the store keeps its one open flag
    assert again.total == 0
    assert next_day.card_repeated == 0
    assert len(flags_of(terminal.store, FlagKind.CARD_REPEATED)) == 1


def test_the_pattern_seen_again_after_a_flag_was_closed_opens_a_new_flag(settings, admin_user):
    # Given a store flagged for a card's repeated purchases, and the flag closed after review
    settings.ANOMALY_CARD_PURCHASES_PER_DAY = 3
    terminal = till()
    household = make_household()
    for hour in (9, 13, 18):
        purchase(terminal, household=household, when=at(hour))
    run()
    [first] = flags_of(terminal.store, FlagKind.CARD_REPEATED)
    close_flag(flag=first, by=admin_user, reason="خرید خانوار پرجمعیت؛ بررسی شد")

    # When the job runs again
    report = run()

    # Then a new open flag stands beside the closed one
    assert report.card_repeated == 1
    statuses = [flag.status for flag in flags_of(terminal.store, FlagKind.CARD_REPEATED)]
    assert statuses == [FlagStatus.CLOSED, FlagStatus.OPEN]


def test_a_period_ending_before_it_starts_is_refused_naming_the_last_day():
    with pytest.raises(ValidationError) as refused:
        flag_store_anomalies(day_from=DAY, day_to=DAY - dt.timedelta(days=1))

    assert refused.value.error_dict["day_to"][0].code == "period_reversed"


# --- The nightly task and the command --------------------------------------------------------------


def test_the_nightly_task_flags_the_purchases_of_yesterday_in_tehran(settings):
    # Given a card paying 3 purchases at one store yesterday (Tehran)
    settings.ANOMALY_CARD_PURCHASES_PER_DAY = 3
    yesterday = tehran_yesterday()
    terminal = till()
    household = make_household()
    for hour in (9, 13, 18):
        purchase(terminal, household=household, when=at(hour, day=yesterday))

    # When the beat's task runs
    result = tasks.flag_store_anomalies.apply().get()

    # Then it flagged the store for yesterday and reports the counts per kind
    assert result == {kind: int(kind == FlagKind.CARD_REPEATED) for kind in FlagKind.values}
    [flag] = flags_of(terminal.store, FlagKind.CARD_REPEATED)
    assert (flag.period_from, flag.period_to) == (yesterday, yesterday)


def test_the_beat_runs_the_job_nightly_at_half_past_three_tehran():
    scheduled = PeriodicTask.objects.get(task="settlements.tasks.flag_store_anomalies")

    crontab = scheduled.crontab
    assert (crontab.hour, crontab.minute, crontab.day_of_week) == ("3", "30", "*")
    assert str(crontab.timezone) == "Asia/Tehran"


def test_the_task_runs_on_the_batch_queue_with_late_acks():
    task = tasks.flag_store_anomalies

    route = celery_app.amqp.router.route({}, task.name)

    assert route["queue"].name == "batch"
    assert (task.acks_late, task.reject_on_worker_lost) == (True, True)


def test_the_command_flags_a_period_and_prints_the_counts(settings):
    # Given a card paying 3 purchases at one store on the second day of a period
    settings.ANOMALY_CARD_PURCHASES_PER_DAY = 3
    terminal = till()
    household = make_household()
    for hour in (9, 13, 18):
        purchase(terminal, household=household, when=at(hour, day=DAY + dt.timedelta(days=1)))
    out = io.StringIO()

    # When the command runs over the period
    call_command(
        "flag_store_anomalies",
        "--from",
        DAY.isoformat(),
        "--to",
        (DAY + dt.timedelta(days=1)).isoformat(),
        stdout=out,
    )

    # Then it printed the counts per kind
    printed = out.getvalue()
    assert "1 new flags" in printed
    assert "card_repeated (خریدهای پرشمار با یک کارت در یک روز): 1" in printed
    assert "night_sales (فروش در ساعات شب): 0" in printed
