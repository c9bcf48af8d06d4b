import pytest
from django.core.cache import cache


@pytest.mark.django_db
def test_healthz_reports_every_service_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_failed_check(client, monkeypatch):
    def broken_set(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "set", broken_set)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["cache"].startswith("error")
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_reaches_the_real_redis_cache_and_broker(client, settings):
    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()

    response = client.get("/healthz")

    assert response.json()["checks"]["cache"] == "ok"
