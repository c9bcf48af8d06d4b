import datetime as dt

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from households import selectors, services
from households.models import (
    BankCard,
    DecileAssignment,
    DecileSource,
    Household,
    Person,
    Province,
    Relation,
)
from households.services import MemberData
from tests.households.factories import (
    make_household,
    next_card_number,
    next_mobile,
    next_national_code,
    place,
)

pytestmark = pytest.mark.django_db


def test_reference_data_has_all_31_provinces_each_with_its_capital():
    assert Province.objects.count() == 31
    tehran = Province.objects.get(name="تهران")
    assert tehran.cities.filter(name="تهران", is_center=True).exists()


def test_a_national_code_cannot_belong_to_two_households():
    first = make_household()
    second = make_household()
    code = first.members.get().national_code

    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(
            household=second,
            national_code=code,
            first_name="x",
            last_name="y",
            relation=Relation.CHILD,
        )


def test_the_database_refuses_a_second_head_in_one_household():
    household = make_household()

    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(
            household=household,
            national_code=next_national_code(),
            first_name="x",
            last_name="y",
            relation=Relation.HEAD,
            is_head=True,
            mobile=next_mobile(),
        )


def test_the_database_refuses_a_head_flag_that_contradicts_the_relation():
    household = make_household()

    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(
            household=household,
            national_code=next_national_code(),
            first_name="x",
            last_name="y",
            relation=Relation.CHILD,
            is_head=True,
            mobile=next_mobile(),
        )


@pytest.mark.parametrize("decile", [0, 11])
def test_the_database_refuses_a_decile_outside_1_to_10(decile):
    household = make_household()

    with pytest.raises(IntegrityError), transaction.atomic():
        DecileAssignment.objects.create(
            household=household,
            decile=decile,
            effective_from=dt.date(2023, 1, 1),
            source=DecileSource.OFFICER,
        )


def test_decile_on_a_date_is_the_latest_assignment_not_after_that_date():
    household = make_household(decile=6, decile_from=dt.date(2022, 3, 21))
    services.assign_decile(
        household=household,
        decile=4,
        effective_from=dt.date(2023, 8, 23),
        source=DecileSource.OFFICER,
        reason="اصلاح درآمد",
        created_by=None,
    )

    assert selectors.decile_on(household_id=household.pk, on_date=dt.date(2022, 3, 20)) is None
    assert selectors.decile_on(household_id=household.pk, on_date=dt.date(2023, 8, 22)) == 6
    assert selectors.decile_on(household_id=household.pk, on_date=dt.date(2023, 8, 23)) == 4
    assert selectors.decile_on(household_id=household.pk, on_date=dt.date(2030, 1, 1)) == 4


def test_decile_on_a_date_is_one_query(django_assert_num_queries):
    household = make_household()

    with django_assert_num_queries(1):
        selectors.decile_on(household_id=household.pk, on_date=dt.date(2024, 1, 1))


def test_changing_a_decile_keeps_the_old_assignment_in_the_history():
    household = make_household(decile=6)

    services.assign_decile(
        household=household,
        decile=2,
        effective_from=dt.date(2024, 1, 1),
        source=DecileSource.OFFICER,
        reason="بیماری سرپرست",
        created_by=None,
    )

    history = list(
        selectors.decile_history(household_id=household.pk).values_list("decile", flat=True)
    )
    assert history == [2, 6]


def test_an_officer_decile_change_without_a_reason_is_refused():
    household = make_household()

    with pytest.raises(ValidationError) as error:
        services.assign_decile(
            household=household,
            decile=2,
            effective_from=dt.date(2024, 1, 1),
            source=DecileSource.OFFICER,
            reason="  ",
            created_by=None,
        )

    assert error.value.error_dict["reason"][0].code == "reason_required"


def test_register_household_refuses_a_city_of_another_province_and_writes_nothing():
    province, _ = place("تهران")
    _, isfahan = place("اصفهان")

    with pytest.raises(ValidationError) as error:
        services.register_household(
            registry_code="X1",
            province=province,
            city=isfahan,
            head=MemberData(next_national_code(), "a", "b", Relation.HEAD, mobile=next_mobile()),
            decile=3,
            decile_effective_from=dt.date(2022, 3, 21),
        )

    assert error.value.error_dict["city"][0].code == "city_not_in_province"
    assert not Household.objects.filter(registry_code="X1").exists()


def test_register_household_refuses_a_head_without_mobile():
    province, city = place()

    with pytest.raises(ValidationError) as error:
        services.register_household(
            registry_code="X2",
            province=province,
            city=city,
            head=MemberData(next_national_code(), "a", "b", Relation.HEAD),
            decile=3,
            decile_effective_from=dt.date(2022, 3, 21),
        )

    assert error.value.error_dict["mobile"][0].code == "head_mobile_required"


def test_a_card_is_stored_only_as_keyed_hash_bin_and_last_four_digits():
    head = make_household().members.get(is_head=True)
    number = next_card_number()

    card = services.register_card(person=head, card_number=number)

    stored = BankCard.objects.filter(pk=card.pk).values().get()
    assert number not in " ".join(str(value) for value in stored.values())
    assert (card.bin, card.last4) == (number[:6], number[-4:])
    assert card.bank == "بانک ملی ایران"
    assert selectors.card_by_number(card_number=number) == card


def test_a_card_hash_depends_on_the_card_hash_key():
    head = make_household().members.get(is_head=True)
    number = next_card_number()
    card = services.register_card(person=head, card_number=number)
    key = settings.CARD_HASH_KEY  # its own key since issue 14, no longer SECRET_KEY
    settings.CARD_HASH_KEY = "another-key"
    try:
        assert selectors.card_by_number(card_number=number) is None
    finally:
        settings.CARD_HASH_KEY = key
    assert selectors.card_by_number(card_number=number) == card


def test_a_card_registered_to_one_person_cannot_be_registered_to_another():
    first = make_household().members.get(is_head=True)
    second = make_household().members.get(is_head=True)
    number = next_card_number()
    services.register_card(person=first, card_number=number)

    with pytest.raises(ValidationError) as error:
        services.register_card(person=second, card_number=number)

    assert error.value.error_dict["card_number"][0].code == "card_registered_to_other"


def test_an_invalid_card_number_is_refused_naming_the_field():
    head = make_household().members.get(is_head=True)

    with pytest.raises(ValidationError) as error:
        services.register_card(person=head, card_number="6037991234567890")

    assert error.value.error_dict["card_number"][0].code == "card_invalid"


def test_search_finds_a_household_by_any_members_national_code_or_mobile():
    household = make_household(members=2)
    child = household.members.filter(is_head=False).first()
    head = household.members.get(is_head=True)
    make_household()

    assert selectors.household_ids_matching(term=child.national_code) == [household.pk]
    assert selectors.household_ids_matching(term="+98" + head.mobile[1:]) == [household.pk]
    assert selectors.household_ids_matching(term="nothing") == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres_refuses_at_commit_a_household_without_a_head():
    province, city = place()

    with pytest.raises(IntegrityError, match="exactly one head"), transaction.atomic():
        household = Household.objects.create(registry_code="NOHEAD", province=province, city=city)
        Person.objects.create(
            household=household,
            national_code=next_national_code(),
            first_name="a",
            last_name="b",
            relation=Relation.CHILD,
        )

    assert not Household.objects.filter(registry_code="NOHEAD").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres_refuses_at_commit_removing_a_households_only_head():
    household = make_household(members=1)
    head = household.members.get(is_head=True)
    head_pk = head.pk

    with pytest.raises(IntegrityError, match="exactly one head"), transaction.atomic():
        head.delete()

    assert Person.objects.filter(pk=head_pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_postgres_allows_swapping_the_head_within_one_transaction():
    household = make_household(members=1)
    old_head = household.members.get(is_head=True)
    new_head = household.members.get(is_head=False)

    with transaction.atomic():
        Person.objects.filter(pk=old_head.pk).update(is_head=False, relation=Relation.SPOUSE)
        Person.objects.filter(pk=new_head.pk).update(
            is_head=True, relation=Relation.HEAD, mobile=next_mobile()
        )

    assert household.members.get(is_head=True).pk == new_head.pk
    assert connection.vendor == "postgresql"


def test_a_decision_on_a_date_that_already_has_a_decile_becomes_the_decile_in_force():
    household = make_household(decile=6, decile_from=dt.date(2024, 1, 1))

    services.assign_decile(
        household=household,
        decile=3,
        effective_from=dt.date(2024, 1, 1),
        source=DecileSource.OFFICER,
        reason="اصلاح درآمد",
        created_by=None,
    )

    assert selectors.decile_on(household_id=household.pk, on_date=dt.date(2024, 1, 1)) == 3


def test_a_decision_that_would_change_nothing_is_refused_not_silently_dropped():
    # Given decile 6 from a date, then an officer's 3 from the same date (3 is in force)
    household = make_household(decile=6, decile_from=dt.date(2024, 1, 1))
    services.assign_decile(
        household=household,
        decile=3,
        effective_from=dt.date(2024, 1, 1),
        source=DecileSource.OFFICER,
        reason="اصلاح درآمد",
        created_by=None,
    )
    # When an objection's decision sets 6 from that date again (the same row as the first)
    with pytest.raises(ValidationError) as refused:
        services.assign_decile(
            household=household,
            decile=6,
            effective_from=dt.date(2024, 1, 1),
            source=DecileSource.OBJECTION,
            reason="درخواست بازبینی پذیرفته شد",
            created_by=None,
        )
    # Then it is refused with a clear reason, and the history is as it was
    assert refused.value.error_dict["effective_from"][0].code == "decile_date_taken"
    assert selectors.decile_on(household_id=household.pk, on_date=dt.date(2024, 1, 1)) == 3
    assert household.deciles.count() == 2
