"""Every answer under ``/api/`` is JSON in the API's error shape, Django's own error pages too."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nowhere/",
        "/api/nowhere",
        "/api/v1/me/purchases/null,null/",
        "/api/v1/pos/purchases/abc/reversal/",
        "/api/v1/me/objections/%00/",
    ],
)
def test_an_unknown_api_path_is_a_json_404(path):
    response = Client().get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"
    assert response.json()["message"] == "پیدا نشد"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/stores/"),
        ("put", "/api/v1/stores/"),
        ("get", "/api/v1/auth/otp/"),
        ("get", "/api/v1/sms/delivery-reports/"),
    ],
)
def test_a_wrong_method_on_an_api_path_is_a_json_405_with_allow(method, path):
    response = getattr(Client(), method)(path)

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"]


def test_a_crash_under_api_is_a_json_500(monkeypatch):
    from stores import api

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "resolve_store_filters", crash)
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/stores/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "server_error"


def test_a_portal_404_stays_a_persian_html_page():
    response = Client().get("/nowhere/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_every_answer_carries_a_request_id_and_keeps_a_plain_one_from_the_proxy():
    given = Client().get("/api/v1/stores/", HTTP_X_REQUEST_ID="proxy-id-1234")
    made = Client().get("/api/v1/stores/")
    forged = Client().get("/api/v1/stores/", HTTP_X_REQUEST_ID="x\nfake log line")

    assert given["X-Request-ID"] == "proxy-id-1234"
    assert len(made["X-Request-ID"]) == 32
    assert "\n" not in forged["X-Request-ID"] and forged["X-Request-ID"] != "x\nfake log line"
