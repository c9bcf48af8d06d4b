import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_openapi_schema_generates_without_warnings_and_lists_the_pos_error_codes(tmp_path):
    out = tmp_path / "schema.yaml"

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    schema = out.read_text(encoding="utf-8")
    for path in (
        "/api/v1/pos/purchases/",
        "/api/v1/pos/purchases/{purchase_id}/reversal/",
        "/api/v1/pos/basket/",
        "/api/v1/auth/otp/",
        "/api/v1/auth/token/",
        "/api/v1/auth/logout/",
        "/api/v1/me/",
        "/api/v1/me/purchases/",
        "/api/v1/me/purchases/{purchase_id}/",
        "/api/v1/me/objections/",
        "/api/v1/me/objections/{objection_id}/",
        "/api/v1/me/payment-codes/",
        "/api/v1/me/preferences/",
        "/api/v1/stores/",
    ):
        assert path in schema
    for code in (
        "idempotency_key_reused",
        "card_not_head",
        "card_closed",
        "household_not_eligible",
        "reversal_bonus_spent",
        "login_code_invalid",
        "resend_too_soon",
        "objection_already_open",
        "payment_code_attempts_exceeded",
    ):
        assert code in schema


@pytest.mark.django_db
def test_swagger_ui_is_served_from_our_own_static_files_not_a_cdn(client):
    response = client.get("/api/docs/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "drf_spectacular_sidecar" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()


@pytest.mark.django_db
def test_the_schema_endpoint_answers(client):
    assert client.get("/api/schema/").status_code == 200


@pytest.mark.django_db
def test_the_served_document_links_a_purchase_to_its_reversal_and_a_list_to_its_items(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]

    def links(path: str, method: str, status: str) -> dict:
        return paths[path][method]["responses"][status]["links"]

    assert links("/api/v1/pos/purchases/", "post", "201")["ReverseThePurchase"] == {
        "operationId": "pos_purchase_reversal",
        "parameters": {"purchase_id": "$response.body#/purchase_id"},
    }
    assert links("/api/v1/me/objections/", "post", "201")["GetTheObjection"] == {
        "operationId": "me_objection",
        "parameters": {"objection_id": "$response.body#/id"},
    }
    assert links("/api/v1/me/purchases/", "get", "200")["GetTheNewestPurchase"] == {
        "operationId": "me_purchase",
        "parameters": {"purchase_id": "$response.body#/results/0/id"},
    }
