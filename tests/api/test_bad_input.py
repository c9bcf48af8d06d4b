"""Bad input is a 400 in the API's error shape (or a Persian error on the portal page), never a
500: NUL bytes (PostgreSQL refuses them in text), digit-like characters that ``str.isdigit()``
accepts but ``int()`` refuses (``²``), over-long strings and wrong types. Runs on SQLite and on
PostgreSQL (where NUL used to reach the database)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from households.models import City, Province
from kalabarg.lib.persian import latin_number
from tests.portal.conftest import api_client
from tests.stores.factories import make_store

pytestmark = pytest.mark.django_db

FINDER_URL = "/api/v1/stores/"


def assert_error_shape(response, *, field: str) -> None:  # type: ignore[no-untyped-def]
    body = response.json()
    assert response.status_code == 400, body
    assert response["Content-Type"].startswith("application/json")
    assert isinstance(body["code"], str) and body["message"]
    assert body["errors"][0]["field"] == field
    assert set(body["errors"][0]) == {"field", "code", "message"}


@pytest.mark.parametrize("name", ["province", "city", "q"])
@pytest.mark.parametrize("value", ["\x00", "تهران\x00", "1\x00", "\x1b"])
def test_a_nul_or_control_character_in_a_store_finder_filter_is_a_400(name, value):
    response = APIClient().get(FINDER_URL, {name: value})

    assert_error_shape(response, field=name)
    assert response.json()["code"] == f"{name}_invalid"


@pytest.mark.parametrize("name", ["province", "city", "q"])
def test_an_over_long_store_finder_filter_is_a_400(name):
    response = APIClient().get(FINDER_URL, {name: "ب" * 5_000})

    assert_error_shape(response, field=name)


@pytest.mark.parametrize("name", ["page", "page_size"])
@pytest.mark.parametrize(
    "value", ["²", "۲²", "①", "٣.٥", "-1", "0", "abc", "9" * 5_000, "\x00", "", " "]
)
def test_a_page_that_is_not_a_positive_whole_number_is_a_400(name, value):
    response = APIClient().get(FINDER_URL, {name: value})

    assert_error_shape(response, field=name)
    assert response.json()["code"] == f"{name}_invalid"


def test_persian_and_arabic_digits_are_numbers_in_the_store_finder():
    for number in range(3):
        make_store(name=f"فروشگاه {number}")

    persian = APIClient().get(FINDER_URL, {"page": "۲", "page_size": "۲"}).json()
    arabic = APIClient().get(FINDER_URL, {"page": "٢", "page_size": "٢"}).json()

    assert (persian["page"], persian["page_size"], len(persian["results"])) == (2, 2, 1)
    assert (arabic["page"], arabic["page_size"]) == (2, 2)


def test_a_province_code_and_a_city_id_in_persian_digits_are_found():
    make_store(name="فروشگاه شیراز", province_name="فارس")
    fars = Province.objects.get(name="فارس")
    shiraz = City.objects.get(province=fars, name="شیراز")
    persian = str(shiraz.pk).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))

    response = APIClient().get(
        FINDER_URL,
        {
            "province": fars.code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
            "city": persian,
        },
    )

    assert [row["name"] for row in response.json()["results"]] == ["فروشگاه شیراز"]


@pytest.mark.parametrize("value", ["²", "99999999999999999999999", "9" * 5_000])
def test_a_city_id_that_is_no_id_is_an_unknown_city_not_a_500(value):
    response = APIClient().get(FINDER_URL, {"city": value})

    assert_error_shape(response, field="city")


def test_superscript_digits_are_not_numbers_but_persian_digits_are():
    assert latin_number("²") is None
    assert latin_number("۱۲") == 12
    assert latin_number("٣") == 3
    assert latin_number("1" * 19) is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"province": "\x00"}, "این استان در فهرست نیست"),
        ({"province": "08", "city": "\x00"}, "این شهر در استان انتخاب‌شده نیست"),
        ({"q": "\x00"}, "نام فروشگاه نویسه‌های نامعتبر دارد"),
        ({"q": "ب" * 65}, "نام فروشگاه حداکثر ۶۴ نویسه است"),
        ({"page": "²"}, "شماره صفحه باید عددی مثبت باشد"),
        ({"city": "9" * 5_000, "province": "08"}, "این شهر در استان انتخاب‌شده نیست"),
    ],
)
def test_the_store_page_explains_bad_input_in_persian_instead_of_a_500(client, params, message):
    response = client.get("/stores/", params)

    assert response.status_code == 200
    assert message in response.content.decode()


def test_the_city_options_of_a_province_with_a_nul_are_empty_not_a_500(client):
    response = client.get("/stores/cities/", {"province": "\x00"})

    assert response.status_code == 200


@pytest.mark.parametrize("value", ["²", "\x00", "9" * 5_000])
def test_a_bad_page_of_the_household_api_lists_is_a_400(value):
    from tests.households.factories import HouseholdFactory

    head = HouseholdFactory().members.get()

    response = api_client(head).get("/api/v1/me/purchases/", {"page": value})

    assert_error_shape(response, field="page")
    assert response.json()["code"] == "page_invalid"


def test_a_bad_page_of_the_portal_purchases_is_not_found_not_a_500():
    from tests.households.factories import HouseholdFactory
    from tests.portal.conftest import signed_in_client

    head = HouseholdFactory().members.get()
    client: Client = signed_in_client(head)

    response = client.get("/me/purchases/", {"page": "²"})

    assert response.status_code == 404
