import pytest

from households.models import City, Province
from stores.models import StoreStatus
from tests.stores.factories import make_store

pytestmark = pytest.mark.django_db


def test_the_store_page_shows_connected_stores_of_the_chosen_city(client):
    make_store(name="فروشگاه بهار", province_name="فارس")
    make_store(name="فروشگاه بسته", province_name="فارس", status=StoreStatus.SUSPENDED)
    fars = Province.objects.get(name="فارس")
    shiraz = City.objects.get(province=fars, name="شیراز")

    response = client.get("/stores/", {"province": fars.code, "city": shiraz.pk})

    content = response.content.decode()
    assert response.status_code == 200
    assert "فروشگاه بهار" in content
    assert "فروشگاه بسته" not in content
    assert 'lang="fa" dir="rtl"' in content


def test_the_store_page_explains_a_city_outside_the_province_next_to_the_field(client):
    tehran = Province.objects.get(name="تهران")
    isfahan_city = City.objects.get(name="اصفهان")

    response = client.get("/stores/", {"province": tehran.code, "city": isfahan_city.pk})

    assert response.status_code == 200
    assert "این شهر در استان انتخاب‌شده نیست" in response.content.decode()


def test_the_city_list_follows_the_chosen_province(client):
    fars = Province.objects.get(name="فارس")

    response = client.get("/stores/cities/", {"province": fars.code})

    assert "شیراز" in response.content.decode()
    assert "تبریز" not in response.content.decode()


def test_an_empty_result_says_so_in_plain_persian(client):
    response = client.get("/stores/", {"q": "ناموجود"})

    assert "فروشگاه متصلی با این مشخصات پیدا نشد" in response.content.decode()
