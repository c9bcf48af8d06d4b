# The README's commands. Everything runs through uv; `make demo` and `make test` install uv
# themselves when it is missing (pip from PyPI), so a fresh machine needs only Python, make, git.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/kalabarg
REDIS ?= redis://127.0.0.1:6379/0

.PHONY: uv sync demo test lint format up bench migrate

# Throwaway keys for the test suite, lint and the benchmarks: with DEBUG off on PostgreSQL the
# settings refuse to start without SECRET_KEY and CARD_HASH_KEY of their own (docs/operations.md).
# Fresh random ones on every run unless set, so no usable key is ever committed.
NEW_KEY := python3 -c 'import secrets; print(secrets.token_urlsafe(50))'
TEST_KEYS = SECRET_KEY="$${SECRET_KEY:-$$($(NEW_KEY))}" CARD_HASH_KEY="$${CARD_HASH_KEY:-$$($(NEW_KEY))}"

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet uv || python3 -m pip install --quiet --user uv

sync: uv
	$(UV) sync --frozen

migrate: sync
	$(UV) run python manage.py migrate --noinput

## The portal on the embedded default: SQLite, eager Celery, console SMS.
demo: migrate
	$(UV) run python manage.py seed_demo
	DEBUG=1 $(UV) run python manage.py runserver $(HOST):$(PORT)

## The whole test suite (SQLite by default; CI sets DATABASE_URL, REDIS_URL, REQUIRE_SERVICES=1).
test: sync
	$(TEST_KEYS) $(UV) run pytest

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(TEST_KEYS) $(UV) run mypy .
	$(UV) run lint-imports
	$(TEST_KEYS) $(UV) run python manage.py makemigrations --check --dry-run

format: sync
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

## Web + Celery worker + beat against real PostgreSQL and Redis (see Procfile): production
## settings, so SECRET_KEY and CARD_HASH_KEY must be set (environment or .env). The static files
## are collected first (hashed, compressed names that WhiteNoise serves from STATIC_ROOT).
up: sync
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} REDIS_URL=$${REDIS_URL:-$(REDIS)} $(UV) run python manage.py migrate --noinput
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} REDIS_URL=$${REDIS_URL:-$(REDIS)} $(UV) run python manage.py collectstatic --noinput
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} REDIS_URL=$${REDIS_URL:-$(REDIS)} $(UV) run honcho start

## Benchmarks against PostgreSQL (figures printed; see docs/benchmarks.md). They use a database
## of their own: the dashboard benchmark loads 6 million rows into it and keeps them.
BENCH_PG_URL ?= postgres://postgres@127.0.0.1:5432/kalabarg_bench
bench: sync
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'kalabarg_bench'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE kalabarg_bench"
	$(TEST_KEYS) DATABASE_URL=$${DATABASE_URL:-$(BENCH_PG_URL)} REDIS_URL=$${REDIS_URL:-$(REDIS)} \
		$(UV) run pytest tests/benchmarks -p no:randomly -s -o addopts="" $(BENCH_ARGS)
