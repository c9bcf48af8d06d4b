"""On PostgreSQL a card purchase is written by one call of ``checkout_record_purchase``
(``settlements/sql/``); everywhere else, and for payment codes, by the same steps in Python. The two
must agree to the rial: the same sequence of purchases through each path, on two households with
the same credit, gives the same answers, rows, ledger, balances, remembered answers and queued
bonus.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from households import services as household_services
from settlements.models import Account, AccountKind, EntryKind, JournalEntry, Posting
from settlements.services import checkout as checkout_service
from settlements.services.bonus import grant_bonus_if_earned
from settlements.services.checkout import LineRequest, checkout, reverse_purchase
from stores.models import IdempotencyRecord, Purchase, PurchaseLine
from tests.households.factories import make_household, next_card_number
from tests.settlements.factories import charge, seeded_phases, set_prices, this_month
from tests.stores.factories import make_terminal

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# Each step: (item, quantity) lines. Decile 4 holds 2,000,000 rial of credit with a bonus
# threshold of 2,000,000: the steps cross it, spend past the balance (compensation), buy at base
# prices (no entry), and go on with an empty wallet.
STEPS = [
    [("rice", "1")],  # difference 300,000
    [("rice", "0.001")],  # 300 rial, rounded per line
    [("cheese", "0.5"), ("rice", "0.333")],
    [("pasta", "2")],  # base = current: nothing posted
    [("rice", "4")],  # difference 1,200,000: crosses the threshold, part compensation
    [("rice", "1"), ("cheese", "0.25")],  # wallet empty: all compensation
]


def _household_with_card():
    household = make_household(decile=4)
    card = next_card_number()
    household_services.register_card(person=household.members.get(), card_number=card)
    return household, card


def _ledger_of(household) -> list:
    wallet = Account.objects.get(kind=AccountKind.WALLET, household=household)
    rows = []
    # Every entry naming the household or moving its wallet (a run's charge names no household),
    # with its legs on this wallet and the system accounts (a charge's on other wallets are theirs).
    entries = JournalEntry.objects.filter(Q(household=household) | Q(postings__account=wallet))
    for entry in entries.distinct().order_by("pk"):
        postings = [
            ("wallet" if account == wallet.pk else kind, amount)
            for account, kind, amount in Posting.objects.filter(entry=entry)
            .filter(Q(account=wallet) | ~Q(account__kind=AccountKind.WALLET))
            .order_by("pk")
            .values_list("account_id", "account__kind", "amount_rial")
        ]
        purchase_memo = entry.purchase_id is not None and entry.memo == f"خرید {entry.purchase_id}"
        rows.append((entry.kind, entry.cycle_id, entry.phase_id, purchase_memo, postings))
    return rows


def _purchases_of(household, card: str) -> list:
    rows = []
    for purchase in Purchase.objects.filter(household=household).order_by("pk"):
        lines = list(
            PurchaseLine.objects.filter(purchase=purchase)
            .order_by("item_id")
            .values_list(
                "item__code",
                "quantity",
                "unit_base_price_rial",
                "unit_current_price_rial",
                "base_amount_rial",
                "current_amount_rial",
            )
        )
        rows.append(
            (
                purchase.payer_id == household.members.get().pk,
                purchase.paid_with,
                (purchase.card_bin, purchase.card_last4) == (card[:6], card[-4:]),
                purchase.base_total_rial,
                purchase.current_total_rial,
                purchase.cash_rial,
                purchase.credit_rial,
                purchase.compensation_rial,
                purchase.status,
                lines,
            )
        )
    return rows


def _run(household, card, terminal, *, in_one_call: bool, capture) -> dict:
    answers, balances = [], []
    wallet = Account.objects.get(kind=AccountKind.WALLET, household=household)
    with capture() as callbacks:
        for index, step in enumerate(STEPS):
            lines = [{"item": item, "quantity": quantity} for item, quantity in step]
            result = checkout(
                terminal=terminal,
                idempotency_key=f"parity-{household.pk}-{index}",
                card_number=card,
                payment_code=None,
                lines=[LineRequest(item, Decimal(q)) for item, q in step],
                request_body={"card_number": card, "lines": lines},
                in_one_call=in_one_call,
            )
            assert (result.status, result.replayed) == (201, False)
            record = IdempotencyRecord.objects.get(
                terminal=terminal, key=f"parity-{household.pk}-{index}"
            )
            # What is remembered is the answer without its receipt (rendered on the way out).
            assert {**record.response_body, "receipt": result.body["receipt"]} == result.body
            assert result.body["receipt"] == checkout_service.purchase_receipt(answer=result.body)
            answer = {
                key: value
                for key, value in result.body.items()
                if key not in ("purchase_id", "created_at", "receipt")
            }
            answers.append(answer)
            wallet.refresh_from_db()
            balances.append(wallet.balance_rial)
    return {
        "answers": answers,
        "balances": balances,
        "purchases": _purchases_of(household, card),
        "ledger": _ledger_of(household),
        "bonus_tasks_queued": len(callbacks),
    }


def test_the_one_call_write_agrees_with_the_python_write(django_capture_on_commit_callbacks):
    assert connection.vendor == "postgresql"
    seeded_phases()
    first, first_card = _household_with_card()
    second, second_card = _household_with_card()
    charge(this_month())
    set_prices("rice", 500_000, 800_000)
    set_prices("cheese", 1_500_000, 2_300_000)
    set_prices("pasta", 1_000_000, 1_000_000)
    terminal = make_terminal()

    in_one_call = _run(
        first, first_card, terminal, in_one_call=True, capture=django_capture_on_commit_callbacks
    )
    in_python = _run(
        second, second_card, terminal, in_one_call=False, capture=django_capture_on_commit_callbacks
    )

    assert in_one_call == in_python
    # The sequence did what it is there for: a bonus queued once, compensation paid, a purchase
    # with no entry, and an empty wallet at the end.
    assert in_one_call["bonus_tasks_queued"] == 1
    assert in_one_call["balances"][-1] == 0
    assert sum(answer["compensation_rial"] for answer in in_one_call["answers"]) > 0
    assert [row[0] for row in in_one_call["ledger"]] == [EntryKind.CYCLE_CHARGE] + [
        EntryKind.PURCHASE
    ] * (len(STEPS) - 1)


def test_a_replay_of_a_one_call_purchase_returns_the_same_answer_with_its_receipt():
    seeded_phases()
    household, card = _household_with_card()
    charge(this_month())
    set_prices("rice", 500_000, 800_000)
    terminal = make_terminal()
    request = {
        "terminal": terminal,
        "idempotency_key": "replay-1",
        "card_number": card,
        "payment_code": None,
        "lines": [LineRequest("rice", Decimal("2"))],
        "request_body": {"card_number": card, "lines": [{"item": "rice", "quantity": "2"}]},
        "in_one_call": True,
    }
    original = checkout(**request)
    replay = checkout(**request)

    assert replay.replayed and not original.replayed
    assert replay.body == original.body
    assert Purchase.objects.filter(household=household).count() == 1
    assert original.body["credit_rial"] == 600_000


def test_both_writes_agree_for_a_household_the_credit_run_has_not_reached():
    """Eligible today but charged no wallet yet (registered after the run): no credit, the whole
    rise is compensation, and the bonus progress counts nothing."""
    seeded_phases()
    charge(this_month())
    set_prices("rice", 500_000, 800_000)
    terminal = make_terminal()
    answers, postings = [], []
    for in_one_call in (True, False):
        household, card = _household_with_card()
        assert not Account.objects.filter(kind=AccountKind.WALLET, household=household).exists()
        result = checkout(
            terminal=terminal,
            idempotency_key=f"no-wallet-{in_one_call}",
            card_number=card,
            payment_code=None,
            lines=[LineRequest("rice", Decimal("2"))],
            request_body={"card_number": card, "lines": [{"item": "rice", "quantity": "2"}]},
            in_one_call=in_one_call,
        )
        answers.append(
            {
                k: v
                for k, v in result.body.items()
                if k not in ("purchase_id", "created_at", "receipt")
            }
        )
        postings.append(
            sorted(
                Posting.objects.filter(entry__household=household).values_list(
                    "account__kind", "amount_rial"
                )
            )
        )

    assert answers[0] == answers[1]
    assert (answers[0]["credit_rial"], answers[0]["compensation_rial"]) == (0, 600_000)
    assert postings[0] == postings[1] == [("inflation_fund", -600_000), ("store_payable", 600_000)]


def test_a_refused_call_inside_a_transaction_leaves_the_transaction_usable():
    """Inside a caller's transaction (this test's own) the call gets a savepoint: a duplicate key
    rolls back only the call, and the replay look-up that follows still works."""
    from django.db import IntegrityError, transaction

    from settlements.services.payments import record_purchase_in_one_call
    from stores.models import PaymentMethod

    seeded_phases()
    household, card = _household_with_card()
    charge(this_month())
    terminal = make_terminal()
    assert transaction.get_connection().in_atomic_block

    def call() -> dict:
        return record_purchase_in_one_call(
            household_id=household.pk,
            payer_id=household.members.get().pk,
            store_id=terminal.store_id,
            terminal_id=terminal.pk,
            idempotency_key="same-key",
            fingerprint="f" * 64,
            paid_with=PaymentMethod.CARD,
            card_bin=card[:6],
            card_last4=card[-4:],
            base_total_rial=500_000,
            current_total_rial=500_000,
            lines=[],
            created_at=timezone.now(),
            cycle_id=None,
            cycle_key=this_month(),
            phase_id=None,
            wallet_id=None,
            inflation_fund_id=None,
            store_payable_id=None,
            bonus_threshold_rial=None,
            bonus_rial=None,
            known={},
        )

    first = call()
    with pytest.raises(IntegrityError):
        call()

    assert (
        IdempotencyRecord.objects.get(terminal=terminal, key="same-key").purchase_id
        == first["purchase_id"]
    )


def test_both_writes_agree_on_a_bonus_taken_back_and_earned_again():
    """Issue 13 §2: ``granted`` is a bonus in force (not reversed), in the function as in Python."""
    seeded_phases()
    households = {in_one_call: _household_with_card() for in_one_call in (True, False)}
    cycle = charge(this_month())
    set_prices("rice", 500_000, 800_000)
    terminal = make_terminal()
    runs = {}
    for in_one_call in (True, False):
        household, card = households[in_one_call]

        def buy(quantity: str, key: str, card=card, in_one_call=in_one_call) -> dict:
            return checkout(
                terminal=terminal,
                idempotency_key=f"again-{in_one_call}-{key}",
                card_number=card,
                payment_code=None,
                lines=[LineRequest("rice", Decimal(quantity))],
                request_body={
                    "card_number": card,
                    "lines": [{"item": "rice", "quantity": quantity}],
                },
                in_one_call=in_one_call,
            ).body

        answers = [buy("7", "cross")]  # 2,000,000 credit: the threshold
        grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
        reverse_purchase(
            terminal=terminal,
            purchase_id=answers[0]["purchase_id"],
            idempotency_key=f"r-{in_one_call}",
        )
        answers.append(buy("1", "below"))  # the bonus was taken back: not granted, not queued
        answers.append(buy("6", "again"))  # crosses again: queued
        grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
        answers.append(buy("1", "after"))  # the new bonus is in force
        runs[in_one_call] = [answer["bonus"] for answer in answers]

    assert runs[True] == runs[False]
    assert [(b["granted"], b["queued"]) for b in runs[True]] == [
        (False, True),
        (False, False),
        (False, True),
        (True, False),
    ]
