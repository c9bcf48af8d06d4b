import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_home_page_is_persian_right_to_left_and_every_link_on_it_works(client):
    response = client.get("/")

    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fa" dir="rtl">' in page
    for href in set(re.findall(r'href="(/[^"]*)"', page)):
        if href.startswith("/static/"):
            continue
        assert client.get(href).status_code == 200, href
