"""The web process as production runs it — gunicorn (not runserver), DEBUG off, the static files
collected under hashed, compressed names and served by WhiteNoise — behind a stand-in for the TLS
proxy (every request carries ``X-Forwarded-Proto: https``), in Debian's Chromium:

- the portal's and the admin's stylesheets (and the portal's font and script) apply;
- no page of the portal, the admin or the API docs breaks the Content-Security-Policy.

Skips only when Chromium (or the playwright package) or PostgreSQL is missing and
REQUIRE_SERVICES is unset.
"""

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import CHROMIUM_ARGS
from tests.households.factories import make_household
from tests.portal.factories import this_month, with_purchases
from tests.worker import worker_database_url

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[2]
HASHED_CSS = re.compile(r"/static/css/portal\.[0-9a-f]{12}\.css$")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _production_env(static_root: Path) -> dict[str, str]:
    """The test's own environment with production's switches: DEBUG off, the test database."""
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "DEBUG": "0"}
    for variable in ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE"):
        env.pop(variable, None)  # production's defaults, whatever the caller's shell has
    env.update(
        STATIC_ROOT=str(static_root),
        CELERY_TASK_ALWAYS_EAGER="1",
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    return env


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[str]:
    """``collectstatic`` (as ``make up`` runs it), then gunicorn on a free port; yields its URL."""
    from django.conf import settings

    static_root = tmp_path / "static"
    env = _production_env(static_root)
    # The server must read the sessions and card hashes this process writes: the same keys.
    env["SECRET_KEY"] = settings.SECRET_KEY
    env["CARD_HASH_KEY"] = settings.CARD_HASH_KEY
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert collected.returncode == 0, collected.stderr
    assert (static_root / "staticfiles.json").exists()

    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "kalabarg.wsgi", "--config", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        for _ in range(300):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.1)
        yield f"http://localhost:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def browser_context():  # type: ignore[no-untyped-def]
    """A Chromium context behind the "proxy": every request says it arrived over HTTPS.

    CSP violations are collected twice over: the console's "Refused to …" messages and the
    page's ``securitypolicyviolation`` events (reported through a binding, which the CSP cannot
    block)."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900},
            locale="fa-IR",
            extra_http_headers={"X-Forwarded-Proto": "https"},
        )
        violations: list[str] = []
        context.expose_binding(
            "reportCspViolation",
            lambda source, text: violations.append(f"{source['page'].url}: {text}"),
        )
        context.add_init_script(
            """document.addEventListener('securitypolicyviolation', (e) => window.reportCspViolation(
                 `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));"""
        )
        context.violations = violations  # type: ignore[attr-defined]
        yield context
        # The test's ORM calls ran while Playwright's event loop was running, so Django gave them
        # connections of that context: close them here, or the test database cannot be dropped.
        from django.db import connections

        connections.close_all()
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _open(context, url: str):  # type: ignore[no-untyped-def]
    """Open ``url`` in a fresh page that records every console message about the CSP."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.console_violations = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and page.console_violations.append(f"{url}: {message.text}")
        ),
    )
    response = page.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200, (url, response and response.status)
    return page, response


def _sign_in(context, base: str, cookie_name: str, session_key: str) -> None:  # type: ignore[no-untyped-def]
    context.add_cookies(
        [{"name": cookie_name, "value": session_key, "url": base, "secure": True, "httpOnly": True}]
    )


def _portal_session(person) -> str:  # type: ignore[no-untyped-def]
    from tests.portal.conftest import signed_in_client

    return signed_in_client(person).cookies["sessionid"].value


def _admin_session() -> str:
    from django.contrib.auth import get_user_model

    from tests.conftest import OfficerClient

    user = get_user_model().objects.create_superuser("prod-admin", "a@example.org", "x" * 20)
    client = OfficerClient()  # a whole officer login: password and TOTP device
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_gunicorn_serves_hashed_compressed_static_files_and_the_stylesheets_apply(
    gunicorn, browser_context
):
    page, response = _open(browser_context, gunicorn + "/login/")
    stylesheet = page.evaluate("document.querySelector('link[rel=stylesheet]').href")
    assert HASHED_CSS.search(stylesheet), stylesheet
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("Vazirmatn")
    assert page.evaluate(
        """async () => { await document.fonts.ready;
             return [...document.fonts].some(f => f.family.includes('Vazirmatn') && f.status === 'loaded'); }"""
    ), "the self-hosted font loaded"
    assert page.evaluate("typeof htmx") == "object", "htmx loaded"
    # The headers the proxy's clients get: HSTS (the request came "over HTTPS") and the CSP.
    headers = response.all_headers()
    assert "includesubdomains" in headers["strict-transport-security"].lower()
    assert "script-src 'self'" in headers["content-security-policy"]

    css = page.request.get(stylesheet, headers={"Accept-Encoding": "gzip"})
    assert css.status == 200
    assert css.headers.get("content-encoding") == "gzip"
    assert "immutable" in css.headers["cache-control"]

    admin, _ = _open(browser_context, gunicorn + "/admin/login/")
    assert re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", admin.evaluate(
        "document.querySelector('link[rel=stylesheet]').href"))  # fmt: skip
    # Django's admin header is #417690 (its --secondary) only when admin/css/base.css applied.
    assert admin.evaluate(
        "getComputedStyle(document.getElementById('header')).backgroundColor"
    ) == ("rgb(65, 118, 144)")


def test_every_portal_admin_and_api_docs_page_keeps_the_content_security_policy(
    gunicorn, browser_context
):
    household = make_household(members=2, decile=3)
    with_purchases(household, count=2, cycle=this_month())
    head = household.members.get(is_head=True)
    portal_pages = ["/", "/stores/", "/me/", "/me/purchases/", "/me/household/",
                    "/me/objections/", "/me/objections/new/", "/me/payment-code/"]  # fmt: skip
    from settlements.models import CreditRun, JournalEntry, Phase

    admin_pages = ["/admin/", "/admin/households/household/", "/admin/stores/store/",
                   "/admin/settlements/cycle/", "/admin/settlements/journalentry/",
                   f"/admin/households/household/{household.pk}/change/",
                   # the change forms whose inline <style> became a stylesheet
                   f"/admin/settlements/phase/{Phase.objects.order_by('pk').first().pk}/change/",
                   f"/admin/settlements/journalentry/{JournalEntry.objects.order_by('pk').first().pk}/change/"]  # fmt: skip
    if run := CreditRun.objects.order_by("pk").first():
        admin_pages.append(f"/admin/settlements/creditrun/{run.pk}/change/")
    # The back office (issue 15): the household 360°, purchases, the objection queue and decision.
    from stores.models import Purchase

    admin_pages += [f"/admin/backoffice/household/{household.pk}/", "/admin/stores/purchase/",
                    f"/admin/stores/purchase/{Purchase.objects.order_by('pk').first().pk}/change/",
                    "/admin/households/objection/"]  # fmt: skip

    # The detector works: an inline style attribute added to a page is reported.
    probe, _ = _open(browser_context, gunicorn + "/")
    probe.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    probe.wait_for_timeout(200)
    assert browser_context.violations and probe.console_violations, "violations are detected"
    browser_context.violations.clear()
    probe.close()

    console: list[str] = []
    for path in ["/login/", "/admin/login/", "/api/docs/"]:  # signed out
        page, _ = _open(browser_context, gunicorn + path)
        if path == "/api/docs/":  # Swagger UI's start-up script (a file, not inline) ran
            page.wait_for_selector(".swagger-ui .information-container")
        console += page.console_violations
        page.close()

    _sign_in(browser_context, gunicorn, "sessionid", _portal_session(head))
    for path in portal_pages:
        page, _ = _open(browser_context, gunicorn + path)
        assert page.url == gunicorn + path, f"{path}: signed in, not sent to the login page"
        if path == "/me/":
            assert page.get_by_role("progressbar").count() == 1
        console += page.console_violations
        page.close()

    from households.objections import file_objection  # after /me/objections/new/ was seen

    objection = file_objection(person=head, category="other", description="بازبینی")
    admin_pages.append(f"/admin/households/objection/{objection.pk}/change/")
    _sign_in(browser_context, gunicorn, "sessionid", _admin_session())
    for path in admin_pages:
        page, _ = _open(browser_context, gunicorn + path)
        assert page.url == gunicorn + path, f"{path}: signed in, not sent to the login page"
        console += page.console_violations
        page.close()

    assert browser_context.violations == []
    assert console == []
