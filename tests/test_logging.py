"""Structured logs: one JSON object a line when DEBUG is off, each with the request id (from the
proxy's X-Request-ID or made here) and, in a Celery task, the task id."""

import copy
import io
import json
import logging
from logging.config import DictConfigurator

import pytest
from django.conf import settings
from django.test import Client

from kalabarg.celery import app


@pytest.fixture
def json_lines():  # type: ignore[no-untyped-def]
    """The production console handler of settings.LOGGING, writing to a buffer."""
    stream = io.StringIO()
    logging_settings = copy.deepcopy(settings.LOGGING)  # the configurator pops keys it reads
    config = DictConfigurator(logging_settings)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(config.configure_formatter(logging_settings["formatters"]["json"]))
    handler.addFilter(config.configure_filter(logging_settings["filters"]["context"]))
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    root.removeHandler(handler)


def test_logs_are_json_when_debug_is_off():
    assert settings.DEBUG is False
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "json"
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["context"]


@pytest.mark.django_db
def test_a_request_log_line_carries_the_proxys_request_id(json_lines):
    Client().get("/api/v1/nowhere/?secret=1", HTTP_X_REQUEST_ID="req-abc-12345")

    [line] = [entry for entry in json_lines() if entry["logger"] == "django.request"]
    assert line["request_id"] == "req-abc-12345"
    assert line["level"] == "WARNING" and line["message"].startswith("Not Found")
    assert line["request"] == "GET /api/v1/nowhere/"  # no query string


@app.task(name="tests.log_something")
def log_something() -> None:
    logging.getLogger("tests.task").warning("inside the task")


def test_a_task_log_line_carries_the_task_id_and_it_is_cleared_after(json_lines):
    result = log_something.apply()
    logging.getLogger("tests.task").warning("after the task")

    inside, after = [entry for entry in json_lines() if entry["logger"] == "tests.task"]
    assert inside["task_id"] == result.id
    assert after["task_id"] == "-"
