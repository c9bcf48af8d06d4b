"""The synthetic population generator (devdata/population.py, devdata/households.py) and its management command."""

import random
import re
from collections import Counter
from datetime import date
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from devdata.households import generate_households
from devdata.population import (
    FEMALE_FIRST_NAMES,
    HOUSEHOLD_SIZE_WEIGHTS,
    MALE_FIRST_NAMES,
    NATIONAL_CODE_CAPACITY,
    REFERENCE_DATE,
    GenerationConflict,
    PopulationSynthesizer,
    card_number_for,
    load_places,
    national_code_for,
)
from households.models import (
    BankCard,
    City,
    DecileAssignment,
    Household,
    Person,
    Province,
    Relation,
)
from kalabarg.lib.identifiers import (
    BANKS_BY_BIN,
    card_hash,
    is_valid_national_code,
    luhn_is_valid,
    national_code_check_digit,
)

SEED = 7
HOUSEHOLDS = 200


def _generate(households: int = HOUSEHOLDS, seed: int = SEED, chunk_size: int = 64):
    return generate_households(households=households, seed=seed, chunk_size=chunk_size)


def _age_on_reference_day(birth: date) -> int:
    ref = REFERENCE_DATE
    return ref.year - birth.year - ((ref.month, ref.day) < (birth.month, birth.day))


def _synth(seed: int = SEED) -> PopulationSynthesizer:
    return PopulationSynthesizer(
        seed=seed, places=load_places(), card_hash_key=settings.CARD_HASH_KEY
    )


# --- Pure identifier helpers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "ordinal", [0, 1, 999_998, 999_999, 1_000_000, 123_456_789, NATIONAL_CODE_CAPACITY - 1]
)
def test_generated_national_code_is_valid_at_range_edges(ordinal):
    code = national_code_for(ordinal=ordinal)

    assert is_valid_national_code(code)
    assert int(code[9]) == national_code_check_digit(code[:9])


def test_generated_national_codes_never_repeat_across_a_block_boundary():
    codes = [national_code_for(ordinal=o) for o in range(999_000, 1_001_000)]

    assert len(set(codes)) == len(codes)
    assert all(is_valid_national_code(code) for code in codes)


def test_generated_card_numbers_are_luhn_valid_on_known_bins():
    numbers = [
        card_number_for(bin_=bin_, ordinal=ordinal)
        for bin_ in BANKS_BY_BIN
        for ordinal in range(50)
    ]

    assert all(len(n) == 16 and n.isdigit() and luhn_is_valid(n) for n in numbers)
    assert len(set(numbers)) == len(numbers)


def test_generated_codes_and_cards_are_valid_across_the_whole_range():
    # Given ordinals spread over every digit position of the codes and card bodies
    rng = random.Random(11)
    ordinals = [rng.randrange(NATIONAL_CODE_CAPACITY) for _ in range(5_000)]

    # When codes and cards are generated from them (by per-group look-up tables)
    codes = [national_code_for(ordinal=o) for o in ordinals]
    cards = [card_number_for(bin_=rng.choice(list(BANKS_BY_BIN)), ordinal=o) for o in ordinals]

    # Then each check digit is the one the library's digit-by-digit rules compute
    assert all(int(c[9]) == national_code_check_digit(c[:9]) for c in codes)
    assert all(luhn_is_valid(n) for n in cards)


# --- Synthesis (no database writes) --------------------------------------------------------------


@pytest.mark.django_db
def test_same_seed_synthesizes_the_same_rows():
    first, second = _synth().next_chunk(300), _synth().next_chunk(300)

    assert first == second


@pytest.mark.django_db
def test_rows_do_not_depend_on_the_chunk_size():
    whole = _synth().next_chunk(100)
    split = _synth()
    head_part, tail_part = split.next_chunk(37), split.next_chunk(63)

    assert head_part.households + tail_part.households == whole.households
    assert [p[1:] for p in head_part.persons + tail_part.persons] == [p[1:] for p in whole.persons]
    assert [c[1:] for c in head_part.cards + tail_part.cards] == [c[1:] for c in whole.cards]


@pytest.mark.django_db
def test_different_seeds_synthesize_different_people():
    one, other = _synth(1).next_chunk(50), _synth(2).next_chunk(50)

    assert {p[1] for p in one.persons}.isdisjoint(p[1] for p in other.persons)
    assert [p[2:4] for p in one.persons] != [p[2:4] for p in other.persons]


@pytest.mark.django_db
def test_household_sizes_follow_the_requested_spread():
    rows = _synth().next_chunk(20_000)
    sizes = Counter(Counter(p[0] for p in rows.persons).values())
    total_weight = sum(HOUSEHOLD_SIZE_WEIGHTS.values())

    assert set(sizes) <= set(range(1, 9))
    for size, weight in HOUSEHOLD_SIZE_WEIGHTS.items():
        assert sizes[size] / 20_000 == pytest.approx(weight / total_weight, abs=0.02)


@pytest.mark.django_db
def test_households_cover_all_provinces_with_tehran_the_largest():
    rows = _synth().next_chunk(20_000)
    per_province = Counter(h[2] for h in rows.households)
    tehran = Province.objects.get(code="08").id

    assert len(per_province) == 31
    assert per_province.most_common(1)[0][0] == tehran


# --- Generated into the database ------------------------------------------------------------------


@pytest.mark.django_db
def test_every_national_code_is_valid_and_unique():
    _generate()
    codes = list(Person.objects.values_list("national_code", flat=True))

    assert codes
    assert len(codes) == len(set(codes))
    assert all(is_valid_national_code(code) for code in codes)


@pytest.mark.django_db
def test_every_household_has_exactly_one_head_with_a_mobile():
    _generate()
    heads = Counter(Person.objects.filter(is_head=True).values_list("household_id", flat=True))
    head_mobiles = Person.objects.filter(is_head=True).values_list("mobile", flat=True)

    assert Household.objects.count() == HOUSEHOLDS
    assert set(heads) == set(Household.objects.values_list("id", flat=True))
    assert set(heads.values()) == {1}
    assert all(re.fullmatch(r"09\d{9}", mobile) for mobile in head_mobiles)


@pytest.mark.django_db
def test_household_sizes_are_between_one_and_eight():
    _generate()
    sizes = Counter(Person.objects.values_list("household_id", flat=True))

    assert len(sizes) == HOUSEHOLDS
    assert min(sizes.values()) >= 1
    assert max(sizes.values()) <= 8


@pytest.mark.django_db
def test_mobiles_are_valid_where_present():
    _generate()
    mobiles = [m for m in Person.objects.values_list("mobile", flat=True) if m]

    assert all(re.fullmatch(r"09\d{9}", mobile) for mobile in mobiles)
    assert Person.objects.filter(is_head=False).exclude(mobile="").exists()


@pytest.mark.django_db
def test_gender_matches_the_first_name():
    _generate()

    for first_name, gender in Person.objects.values_list("first_name", "gender"):
        expected = MALE_FIRST_NAMES if gender == "M" else FEMALE_FIRST_NAMES
        assert first_name in expected


@pytest.mark.django_db
def test_ages_are_plausible_for_the_relation():
    _generate()
    head_birth: dict[int, date] = {}
    for household_id, birth in Person.objects.filter(is_head=True).values_list(
        "household_id", "birth_date"
    ):
        assert birth is not None
        head_birth[household_id] = birth

    for household_id, relation, birth in Person.objects.values_list(
        "household_id", "relation", "birth_date"
    ):
        assert birth is not None
        age = _age_on_reference_day(birth)
        if relation == Relation.HEAD:
            assert 18 <= age <= 80
        elif relation == Relation.SPOUSE:
            assert age >= 18
        elif relation == Relation.CHILD:
            assert birth > head_birth[household_id]
        elif relation == Relation.PARENT:
            assert birth < head_birth[household_id]


@pytest.mark.django_db
def test_every_household_has_a_generated_decile_from_1401():
    _generate()
    deciles = list(DecileAssignment.objects.values("household_id", "decile", "effective_from"))

    assert len(deciles) == HOUSEHOLDS
    assert {d["household_id"] for d in deciles} == set(
        Household.objects.values_list("id", flat=True)
    )
    assert all(1 <= d["decile"] <= 10 for d in deciles)
    assert {d["effective_from"] for d in deciles} == {date(2022, 3, 21)}  # 1401/01/01
    assert set(DecileAssignment.objects.values_list("source", flat=True)) == {"generated"}


@pytest.mark.django_db
def test_city_belongs_to_the_household_province():
    _generate()
    city_province = dict(City.objects.values_list("id", "province_id"))

    for province_id, city_id in Household.objects.values_list("province_id", "city_id"):
        assert city_province[city_id] == province_id


@pytest.mark.django_db
def test_cards_belong_to_heads_and_keep_only_bin_last4_and_hash():
    _generate()
    cards = list(BankCard.objects.values("person__is_head", "bin", "last4", "card_hash"))
    per_head = Counter(BankCard.objects.values_list("person_id", flat=True))

    assert all(card["person__is_head"] for card in cards)
    assert set(per_head.values()) <= {1, 2}
    assert all(card["bin"] in BANKS_BY_BIN for card in cards)
    assert all(re.fullmatch(r"\d{4}", card["last4"]) for card in cards)
    assert all(re.fullmatch(r"[0-9a-f]{64}", card["card_hash"]) for card in cards)


@pytest.mark.django_db
def test_no_full_card_number_is_stored_anywhere():
    _generate()
    stored = {c.card_hash: c for c in BankCard.objects.all()}
    first = _synth().next_card
    numbers = {}
    for ordinal in range(first, first + len(stored)):
        for bin_ in BANKS_BY_BIN:
            number = card_number_for(bin_=bin_, ordinal=ordinal)
            digest = card_hash(number, key=settings.CARD_HASH_KEY)
            if digest in stored:
                numbers[digest] = number
    every_text = "\n".join(
        str(value)
        for model in (Household, Person, DecileAssignment, BankCard)
        for row in model.objects.values_list()
        for value in row
    )

    assert set(numbers) == set(stored)  # each hash is a real, Luhn-valid card of its bin/last4
    for digest, number in numbers.items():
        assert luhn_is_valid(number)
        assert (stored[digest].bin, stored[digest].last4) == (number[:6], number[-4:])
        assert number not in every_text


@pytest.mark.django_db
def test_same_seed_generates_the_same_people_into_a_fresh_state():
    def people():
        return sorted(
            Person.objects.values_list(
                "household__registry_code",
                "national_code",
                "first_name",
                "last_name",
                "birth_date",
                "relation",
                "mobile",
            )
        )

    _generate(chunk_size=64)
    first_run = people()
    Household.objects.all().delete()
    _generate(chunk_size=200)

    assert people() == first_run


@pytest.mark.django_db
def test_running_twice_adds_nothing_and_does_not_crash():
    _generate()
    counts = (Household.objects.count(), Person.objects.count(), BankCard.objects.count())

    again = _generate(chunk_size=50)

    assert again.households == 0
    assert again.households_skipped == HOUSEHOLDS
    assert (Household.objects.count(), Person.objects.count(), BankCard.objects.count()) == counts
    assert DecileAssignment.objects.count() == HOUSEHOLDS


@pytest.mark.django_db
def test_a_larger_rerun_adds_only_the_missing_households():
    _generate(households=120)

    result = _generate(households=HOUSEHOLDS, chunk_size=50)

    assert (result.households, result.households_skipped) == (HOUSEHOLDS - 120, 120)
    assert Household.objects.count() == HOUSEHOLDS
    heads = Person.objects.filter(is_head=True).values_list("household_id", flat=True)
    assert len(set(heads)) == len(heads) == HOUSEHOLDS


@pytest.mark.django_db
def test_a_national_code_taken_by_other_data_stops_generation_clearly():
    first_code = national_code_for(ordinal=_synth().next_person)
    household = Household.objects.create(
        registry_code="OTHER-1",
        province=Province.objects.get(code="08"),
        city=City.objects.get(province__code="08", is_center=True),
    )
    Person.objects.create(
        household=household,
        national_code=first_code,
        first_name="علی",
        last_name="کریمی",
        relation=Relation.HEAD,
        is_head=True,
        mobile="09120000000",
    )

    with pytest.raises(GenerationConflict, match="national code"):
        _generate()
    assert not Household.objects.filter(registry_code__startswith=f"GEN-{SEED}-").exists()


@pytest.mark.django_db
def test_parallel_writers_are_refused_inside_a_transaction():
    with pytest.raises(ValueError, match="inside a transaction"):
        generate_households(households=10, seed=SEED, writers=2)


@pytest.mark.django_db
def test_zero_households_writes_nothing():
    result = generate_households(households=0, seed=SEED)

    assert (result.households, result.persons, result.cards, result.chunks) == (0, 0, 0, 0)
    assert not Household.objects.exists()


# --- The management command ------------------------------------------------------------------


@pytest.mark.django_db
def test_command_prints_progress_and_a_summary():
    out = StringIO()

    call_command(
        "generate_households", "--households", "30", "--seed", "3", "--chunk-size", "20", stdout=out
    )

    text = out.getvalue()
    assert "chunk 1/2" in text
    assert "chunk 2/2" in text
    assert re.search(r"Generated 30 households, [\d,]+ persons, 30 deciles, [\d,]+ cards in", text)
    assert Household.objects.count() == 30


@pytest.mark.django_db
def test_command_rerun_reports_existing_households():
    call_command("generate_households", "--households", "10", "--seed", "3", stdout=StringIO())
    out = StringIO()

    call_command("generate_households", "--households", "10", "--seed", "3", stdout=out)

    assert "10 households of seed 3 already existed" in out.getvalue()
    assert Household.objects.count() == 10


@pytest.mark.django_db
def test_command_rejects_a_negative_count():
    with pytest.raises(CommandError, match="must not be negative"):
        call_command("generate_households", "--households", "-1", "--seed", "3")


# --- PostgreSQL: the COPY path and the deferred "exactly one head" trigger ------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_copy_path_commits_past_the_one_head_trigger():
    result = generate_households(households=500, seed=SEED, chunk_size=200)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM households_household h WHERE h.registry_code LIKE %s AND"
            " (SELECT count(*) FROM households_person p WHERE p.household_id = h.id AND p.is_head)"
            " <> 1",
            [f"GEN-{SEED}-%"],
        )
        households_without_one_head = cursor.fetchone()[0]
    assert (result.households, result.chunks) == (500, 3)
    assert Household.objects.filter(registry_code__startswith=f"GEN-{SEED}-").count() == 500
    assert Person.objects.count() == result.persons
    assert BankCard.objects.count() == result.cards
    assert households_without_one_head == 0
    # The trigger is live in this database: a headless household cannot commit.
    with pytest.raises(IntegrityError, match="exactly one head"), transaction.atomic():
        Household.objects.create(
            registry_code="HEADLESS",
            province=Province.objects.get(code="08"),
            city=City.objects.get(province__code="08", is_center=True),
        )
    # A re-run on committed data skips everything.
    assert generate_households(households=500, seed=SEED, chunk_size=200).households == 0
