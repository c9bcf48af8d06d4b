"""Test data for the registry (factory-boy). Households are made through the service, head first,
in one transaction, so PostgreSQL's exactly-one-head trigger holds at commit; cards and deciles go
through the services too. National codes, mobiles and cards are unique and valid (check digits)."""

import datetime as dt
import itertools
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.urls import reverse
from factory.django import DjangoModelFactory

from approvals.models import ChangeRequest, RequestStatus
from households import services
from households.importer import COLUMNS
from households.models import (
    BankCard,
    City,
    DecileAssignment,
    DecileSource,
    Gender,
    Household,
    Person,
    Province,
    Relation,
)
from households.services import MemberData
from kalabarg.lib.identifiers import luhn_check_digit, national_code_check_digit
from tests.approvals.factories import checker
from tests.conftest import OfficerClient

PROGRAMME_START = dt.date(2022, 3, 21)  # 1401/01/01


# --- Identifiers: every factory draws from its own range, so none collides with another -------


def national_code(serial: int) -> str:
    """A valid national code (its check digit computed) for a 9-digit serial."""
    nine = f"{serial:09d}"
    return nine + str(national_code_check_digit(nine))


def mobile(serial: int) -> str:
    return f"09{serial:09d}"


def card_number(serial: int, bin_: str = "603799") -> str:
    """A 16-digit card number of the bank ``bin_`` whose last digit passes Luhn."""
    stem = f"{bin_}{serial:09d}"
    return stem + str(luhn_check_digit(stem))


_national_codes = itertools.count(100_000_001)
_mobiles = itertools.count(100_000_000)
_cards = itertools.count(1)


def next_national_code() -> str:
    return national_code(next(_national_codes))


def next_mobile() -> str:
    return mobile(next(_mobiles))


def next_card_number(bin_: str = "603799") -> str:
    return card_number(next(_cards), bin_)


def place(province_name: str = "تهران", city_name: str | None = None) -> tuple[Province, City]:
    province = Province.objects.get(name=province_name)
    return province, City.objects.get(province=province, name=city_name or province_name)


# --- Factories ---------------------------------------------------------------------------------


class ProvinceFactory(DjangoModelFactory):
    """A province of the seeded list (the migration loads all 31): found by name, not made."""

    class Meta:
        model = Province
        django_get_or_create = ("name",)

    name = "تهران"


class CityFactory(DjangoModelFactory):
    """A seeded city, by default the one named after its province."""

    class Meta:
        model = City
        django_get_or_create = ("province", "name")

    province = factory.SubFactory(ProvinceFactory)
    name = factory.LazyAttribute(lambda city: city.province.name)


class MemberDataFactory(factory.Factory):
    """One person as the registry sends them (before validation): a child unless ``head=True``."""

    class Meta:
        model = MemberData

    class Params:
        head = factory.Trait(
            relation=Relation.HEAD,
            first_name="مریم",
            birth_date=dt.date(1980, 1, 1),
            mobile=factory.Sequence(lambda n: mobile(200_000_000 + n)),
        )

    national_code = factory.Sequence(lambda n: national_code(200_000_001 + n))
    first_name = "سارا"
    last_name = "احمدی"
    relation = Relation.CHILD
    birth_date = dt.date(2012, 1, 1)
    gender = Gender.FEMALE
    mobile = ""


class HouseholdFactory(DjangoModelFactory):
    """A household with a head (with a mobile), ``members`` children and one decile assignment,
    registered through ``households.services.register_household`` (one transaction, head first)."""

    class Meta:
        model = Household

    registry_code = factory.Sequence(lambda n: f"HH{n + 1:08d}")
    province = factory.SubFactory(ProvinceFactory)
    city = factory.SubFactory(CityFactory, province=factory.SelfAttribute("..province"))
    head = factory.SubFactory(MemberDataFactory, head=True)
    members = 0
    decile = 3
    decile_from = PROGRAMME_START
    decile_source = DecileSource.IMPORT

    @classmethod
    def _create(cls, model_class: type[Household], *args: Any, **kwargs: Any) -> Household:
        members = kwargs.pop("members")
        children = (
            members if isinstance(members, list) else [MemberDataFactory() for _ in range(members)]
        )
        return services.register_household(
            registry_code=kwargs["registry_code"],
            province=kwargs["province"],
            city=kwargs["city"],
            head=kwargs["head"],
            members=children,
            decile=kwargs["decile"],
            decile_effective_from=kwargs["decile_from"],
            decile_source=kwargs["decile_source"],
        )


class PersonFactory(DjangoModelFactory):
    """A member added to an existing household (never a head: the household already has one)."""

    class Meta:
        model = Person

    household = factory.SubFactory(HouseholdFactory)
    national_code = factory.Sequence(lambda n: national_code(300_000_001 + n))
    first_name = "علی"
    last_name = "احمدی"
    relation = Relation.CHILD
    birth_date = dt.date(2010, 1, 1)
    gender = Gender.MALE
    is_head = False
    mobile = ""


class BankCardFactory(DjangoModelFactory):
    """A card registered for a person through the service; the plain number (stored nowhere) is
    left on the instance as ``number`` for the test to pay with."""

    class Meta:
        model = BankCard

    person = factory.LazyAttribute(
        lambda card: HouseholdFactory().members.get(is_head=True)  # the head of a new household
    )
    number = factory.Sequence(lambda n: card_number(100_000_000 + n))

    @classmethod
    def _create(cls, model_class: type[BankCard], *args: Any, **kwargs: Any) -> BankCard:
        card = services.register_card(person=kwargs["person"], card_number=kwargs["number"])
        card.number = kwargs["number"]  # type: ignore[attr-defined]
        return card


class DecileAssignmentFactory(DjangoModelFactory):
    """A decile from a date, added to the household's history through the service."""

    class Meta:
        model = DecileAssignment

    household = factory.SubFactory(HouseholdFactory)
    decile = 3
    effective_from = PROGRAMME_START
    source = DecileSource.OFFICER
    reason = "بازبینی"
    created_by = None

    @classmethod
    def _create(
        cls, model_class: type[DecileAssignment], *args: Any, **kwargs: Any
    ) -> DecileAssignment:
        return services.assign_decile(**kwargs)


# --- Thin helpers the tests call -----------------------------------------------------------------


def make_household(
    *,
    members: int = 0,
    decile: int = 3,
    decile_from: dt.date = PROGRAMME_START,
    province_name: str = "تهران",
    registry_code: str | None = None,
) -> Household:
    """A household with a head (with a mobile), ``members`` children and one decile assignment."""
    fields: dict[str, Any] = {"members": members, "decile": decile, "decile_from": decile_from}
    if province_name != "تهران":
        fields["province__name"] = province_name
    if registry_code is not None:
        fields["registry_code"] = registry_code
    return HouseholdFactory(**fields)


# --- Registry import files (rows as the welfare ministry sends them) ---------------------------

HEADER = ",".join(COLUMNS)


def row(**values: str) -> str:
    """One CSV row of a head of household, with fresh codes; ``values`` override columns."""
    defaults = {
        "household_id": "H1",
        "national_code": next_national_code(),
        "first_name": "مریم",
        "last_name": "احمدی",
        "birth_date": "1360/05/12",
        "relation": "head",
        "is_head": "1",
        "mobile": next_mobile(),
        "province": "تهران",
        "city": "تهران",
        "decile": "3",
        "decile_effective_from": "1401/01/01",
    }
    defaults.update(values)
    return ",".join(defaults[name] for name in COLUMNS)


def member(**values: str) -> str:
    """One CSV row of a child of the household in the row before."""
    return row(**{"relation": "child", "is_head": "0", "mobile": "", **values})


# --- Four-eyes: a second officer decides the registry's requests (households.approvals) ---------


def second_officer(username: str = "checker") -> Any:
    """An officer who may approve others' requests, see the queue and the registry (an upload's
    file and report name households), made once per name."""
    existing = get_user_model().objects.filter(username=username).first()
    return existing if existing is not None else checker(username, "households.view_household")


def officer_client(user: Any) -> Any:
    """The admin, signed in as ``user`` (password and second factor, as ``OfficerClient`` does)."""
    client = OfficerClient()
    client.force_login(user)
    return client


def pending_request(kind: str) -> ChangeRequest:
    """The one pending request of ``kind``."""
    return ChangeRequest.objects.get(kind=kind, status=RequestStatus.PENDING)


def decide_in_admin(change: Any, *, by: Any | None = None, reject: str = "") -> Any:
    """A second officer approves ``change`` on its admin page (or rejects it with ``reject``);
    returns the page's answer."""
    client = officer_client(by or second_officer())
    if reject:
        url = reverse("admin:approvals_changerequest_reject", args=[change.pk])
        return client.post(url, {"reason": reject})
    return client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))
