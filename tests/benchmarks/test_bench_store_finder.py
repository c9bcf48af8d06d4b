"""Store finder over 260,000 connected stores (BENCH_STORES): server time per request by filter.

make bench BENCH_ARGS="-k store_finder"
"""

import os
import statistics
import time

import pytest
from django.db import connection
from django.test import Client

from devdata.stores import generate_stores
from households.models import City, Province
from tests.benchmarks.conftest import report

REQUESTS_PER_CASE = 200


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_store_finder():
    count = int(os.environ.get("BENCH_STORES", "260000"))
    started = time.perf_counter()
    generate_stores(count=count, seed=7)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE stores_store")
    load_s = time.perf_counter() - started

    tehran = Province.objects.get(name="تهران")
    fars = Province.objects.get(name="فارس")
    shiraz = City.objects.get(province=fars, name="شیراز")
    cases = {
        "all": {},
        "province": {"province": tehran.code},
        "province_city": {"province": fars.code, "city": shiraz.pk},
        "name_fragment": {"q": "کوثر"},
        "city_and_name": {"province": fars.code, "city": shiraz.pk, "q": "بهار"},
        "deep_page": {"province": tehran.code, "page": 50},
    }
    client = Client()
    figures = {"stores": count, "load_s": round(load_s, 1)}
    for name, params in cases.items():
        timings = []
        for _ in range(REQUESTS_PER_CASE):
            t0 = time.perf_counter()
            response = client.get("/api/v1/stores/", params)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        timings.sort()
        figures[f"{name}_p50_ms"] = round(statistics.median(timings), 1)
        figures[f"{name}_p95_ms"] = round(timings[int(len(timings) * 0.95) - 1], 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM stores_store WHERE status = 'connected' AND UPPER(name::text) LIKE UPPER(%s) "
            "ORDER BY name LIMIT 21",
            ["%کوثر%"],
        )
        plan = " | ".join(row[0] for row in cursor.fetchall())
    report("store_finder", **figures)
    print(f"plan for q: {plan}")
