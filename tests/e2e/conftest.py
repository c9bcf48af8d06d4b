"""Shared by the browser tests: how Debian's Chromium is launched, a 360 px page, and the check
every page passes (a screenshot, no sideways scrolling, Persian right to left, no serious axe
violation)."""

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
def browser_context():  # type: ignore[no-untyped-def]
    """A Chromium context with a 360 × 760 px viewport, in Persian."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself (set-up, reading the SMS outbox) are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 360, "height": 760}, locale="fa-IR", device_scale_factor=1
        )
        yield context
        # The test's own ORM calls ran while Playwright's event loop was running, so Django gave
        # them connections of that context: close them here, or the test database cannot be
        # dropped at the end of the run ("being accessed by other users").
        from django.db import connections

        connections.close_all()
        context.close()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def browser_page(browser_context):  # type: ignore[no-untyped-def]
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    return page


def check_page(page: Any, name: str, *, directory: Path = ARTIFACTS) -> None:
    """Screenshot at 360 px, no sideways scrolling, Persian RTL, and no serious axe violation."""
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.lang") == "fa", name
    assert page.evaluate("document.documentElement.dir") == "rtl", name
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: {overflow}px of sideways scrolling at 360 px"
    # Evaluated through the debugging protocol: a <script> tag would be refused by the page's CSP.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {serious}"
