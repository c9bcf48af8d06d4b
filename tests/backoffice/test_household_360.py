"""The household 360° page: found from any member's national code or a mobile, every section with
the right (masked) data, the wallet's ledger paged by keyset, and only for officers who may view
households."""

import pytest
from django.urls import reverse

from households.models import Relation
from kalabarg.backoffice import selectors
from kalabarg.lib.identifiers import mask_mobile, mask_national_code
from kalabarg.lib.persian import to_persian_digits
from settlements.models import Account, EntryKind, JournalEntry
from settlements.services.bonus import grant_bonus_if_earned
from tests.backoffice.factories import BONUS, household_with_story, officer_with
from tests.households.factories import HouseholdFactory, MemberDataFactory, make_household
from tests.lib.factories import PERSIAN
from tests.settlements.factories import buy, charge, charge_entry_of, this_month
from tests.settlements.factories import reverse as reverse_purchase

pytestmark = pytest.mark.django_db

SEARCH = "backoffice:household_search"


@pytest.fixture
def story(admin_user):  # type: ignore[no-untyped-def]
    return household_with_story(officer=admin_user)


def page_of(admin_client, story) -> str:  # type: ignore[no-untyped-def]
    response = admin_client.get(reverse("backoffice:household", args=[story.household.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_childs_national_code_in_persian_digits_opens_the_households_page(admin_client, story):
    response = admin_client.get(
        reverse(SEARCH), {"q": story.child.national_code.translate(PERSIAN)}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:household", args=[story.household.pk])


def test_the_heads_mobile_opens_the_households_page(admin_client, story):
    response = admin_client.get(reverse(SEARCH), {"q": story.head.mobile}, follow=True)

    assert response.redirect_chain[-1][0] == reverse(
        "backoffice:household", args=[story.household.pk]
    )
    assert story.household.registry_code in response.content.decode()


def test_a_mobile_shared_by_two_households_lists_both_to_pick_from(admin_client):
    first = make_household()
    mobile = first.members.get().mobile
    second = HouseholdFactory(head=MemberDataFactory(head=True, mobile=mobile))

    response = admin_client.get(reverse(SEARCH), {"q": mobile})

    content = response.content.decode()
    assert response.status_code == 200
    for household in (first, second):
        assert reverse("backoffice:household", args=[household.pk]) in content
    assert first.members.get().national_code not in content  # masked


def test_an_unknown_code_says_nothing_was_found(admin_client):
    make_household()

    response = admin_client.get(reverse(SEARCH), {"q": "0012345679"})

    assert response.status_code == 200
    assert "خانواری با این کد ملی، شماره همراه یا شناسه پیدا نشد" in response.content.decode()


def test_members_are_shown_with_masked_national_codes_and_mobiles(admin_client, story):
    content = page_of(admin_client, story)

    for person in (story.head, story.child):
        assert person.national_code not in content
        assert mask_national_code(person.national_code) in content
        assert person.full_name in content
    assert story.head.mobile not in content
    assert mask_mobile(story.head.mobile) in content
    assert dict(Relation.choices)[Relation.CHILD] in content


def test_the_card_is_shown_by_bin_and_last_four_with_its_status(admin_client, story):
    card = story.head.cards.get()

    content = page_of(admin_client, story)

    assert card.masked in content
    assert "فعال" in content


def test_the_decile_history_shows_each_row_with_source_reason_and_author(admin_client, story):
    content = page_of(admin_client, story)

    assert "بارگذاری از سامانه رفاه" in content  # the registry's row
    assert "بازدید میدانی" in content and "کارشناس" in content  # the officer's row
    assert "admin" in content  # its author
    assert "دهک کنونی" in content


def test_the_wallet_shows_its_balance_and_every_posting_with_the_balance_after(admin_client, story):
    content = page_of(admin_client, story)

    # charge 4,000,000; purchases −500,000 and −3,500,000; bonus +2,400,000
    assert "۲٬۴۰۰٬۰۰۰ ریال" in content
    assert "−۵۰۰٬۰۰۰ ریال" in content and "−۳٬۵۰۰٬۰۰۰ ریال" in content
    assert "۳٬۵۰۰٬۰۰۰ ریال" in content  # the balance after the first purchase
    charge_entry = charge_entry_of(story.household)
    assert reverse("admin:settlements_journalentry_change", args=[charge_entry.pk]) in content


def test_purchases_show_their_split_and_link_to_their_page(admin_client, story):
    content = page_of(admin_client, story)

    big = story.big
    assert reverse("admin:stores_purchase_change", args=[big.pk]) in content
    for amount in (2_000_000, 5_500_000, 3_500_000):
        assert f"{to_persian_digits(f'{amount:,}').replace(',', '٬')} ریال" in content
    assert big.terminal.terminal_id.translate(PERSIAN) in content
    assert "انجام‌شده" in content


def test_the_bonus_in_force_is_shown_with_its_amount(admin_client, story):
    content = page_of(admin_client, story)

    bonus = JournalEntry.objects.get(household=story.household, kind=EntryKind.BONUS)
    assert reverse("admin:settlements_journalentry_change", args=[bonus.pk]) in content
    assert "برقرار" in content
    assert f"{to_persian_digits(f'{BONUS:,}').replace(',', '٬')} ریال" in content


def test_a_bonus_taken_back_by_a_reversal_is_shown_with_the_entry_that_took_it(admin_client):
    household = make_household(decile=1)  # one member: 2,000,000 credit and threshold
    cycle = charge(this_month())
    purchase = buy(household, cycle=cycle, base=1_000_000, current=3_000_000)
    grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    reverse_purchase(purchase)
    bonus = JournalEntry.objects.get(household=household, kind=EntryKind.BONUS)
    taken_back = JournalEntry.objects.get(reverses=bonus)

    response = admin_client.get(reverse("backoffice:household", args=[household.pk]))

    content = response.content.decode()
    assert "پس گرفته شد" in content
    assert reverse("admin:settlements_journalentry_change", args=[taken_back.pk]) in content
    assert "برگشت‌خورده" in content  # the purchase itself


def test_the_objection_is_shown_with_its_decision(admin_client, story):
    content = page_of(admin_client, story)

    assert reverse("admin:households_objection_change", args=[story.objection.pk]) in content
    assert "از دست دادن کار" in content
    assert "رد شد" in content and "درآمد ثبت شده درست است" in content


def test_sms_to_the_members_are_shown_with_masked_mobiles(admin_client, story):
    content = page_of(admin_client, story)

    for message in (story.personal_sms, story.campaign_sms):
        assert reverse("admin:notifications_smsmessage_change", args=[message.pk]) in content
    assert "دهک شما ۱ است" in content
    assert story.head.mobile not in content


def test_another_households_rows_are_not_shown(admin_client, story):
    other = household_with_story()

    content = page_of(admin_client, story)

    assert other.household.registry_code not in content
    assert reverse("admin:stores_purchase_change", args=[other.big.pk]) not in content
    assert reverse("admin:households_objection_change", args=[other.objection.pk]) not in content


def test_the_ledger_pages_by_keyset_from_newest_to_oldest_and_back(
    admin_client, story, monkeypatch
):
    monkeypatch.setattr(selectors, "LEDGER_PAGE", 3)
    wallet = Account.objects.get(household=story.household)
    postings = list(wallet.postings.order_by("-id"))  # bonus, big, small, charge
    url = reverse("backoffice:household", args=[story.household.pk])

    first = admin_client.get(url).context["sections"].wallet
    older = admin_client.get(url, {"ledger_before": postings[2].pk}).context["sections"].wallet
    back = admin_client.get(url, {"ledger_after": postings[3].pk}).context["sections"].wallet

    assert [row["entry"] for row in first["rows"]] == [
        row["entry"] for row in back["rows"]
    ]  # the newer page from the oldest row is the first page again
    assert len(first["rows"]) == 3 and first["older_url"].endswith(
        f"ledger_before={postings[2].pk}"
    )
    assert first["newer_url"] == ""
    assert len(older["rows"]) == 1 and older["older_url"] == ""
    assert older["newer_url"].endswith(f"ledger_after={postings[3].pk}")
    assert older["rows"][0]["balance_after"] == "۴٬۰۰۰٬۰۰۰ ریال"  # after the charge
    assert first["rows"][0]["balance_after"] == "۲٬۴۰۰٬۰۰۰ ریال"  # the balance now


def test_an_officer_without_view_household_is_refused(client, story):
    client.force_login(officer_with("stores.view_purchase"))

    page = client.get(reverse("backoffice:household", args=[story.household.pk]))
    search = client.get(reverse(SEARCH), {"q": story.head.national_code})

    assert (page.status_code, search.status_code) == (403, 403)


def test_an_officer_with_view_household_sees_the_page(client, story):
    client.force_login(officer_with("households.view_household"))

    response = client.get(reverse("backoffice:household", args=[story.household.pk]))

    assert response.status_code == 200


def test_someone_not_signed_in_is_sent_to_the_login_page(client, story):
    response = client.get(reverse("backoffice:household", args=[story.household.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_household_admin_links_to_the_360_page_from_its_list_and_its_page(admin_client):
    household = make_household()
    url = reverse("backoffice:household", args=[household.pk])

    listing = admin_client.get(reverse("admin:households_household_changelist"))
    page = admin_client.get(reverse("admin:households_household_change", args=[household.pk]))

    assert url in listing.content.decode()
    assert url in page.content.decode()
