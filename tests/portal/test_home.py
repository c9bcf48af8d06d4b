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


def test_the_footer_shows_the_configured_support_number_as_text_and_nothing_made_up(
    client, settings
):
    settings.SUPPORT_PHONE = ""
    page = client.get("/").content.decode()
    assert "تلفن پشتیبانی" not in page and "[" not in page.split("site-footer")[1]

    settings.SUPPORT_PHONE = "021-1234"
    footer = client.get("/").content.decode().split("site-footer")[1]
    assert "تلفن پشتیبانی" in footer and "۰۲۱-۱۲۳۴" in footer
    assert "tel:" not in footer and "href" not in footer
