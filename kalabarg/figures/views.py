"""The programme dashboard (officers, ``/admin/programme/``) and the transparency page (everyone,
``/transparency/``): thin views over ``pages`` (what each shows) and ``selectors`` (the reads).

Both read the summary tables only, and both keep what they build in the cache, keyed by the last
completed refresh: a new refresh makes new keys, so nothing is ever invalidated by hand and a page
never shows figures older than the refresh it names. The public page also caches which refresh is
the last one (``LAST_REFRESH_SECONDS``), so a repeated request makes no query at all.
"""

import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.safestring import mark_safe

from kalabarg.figures import pages, public, selectors, tasks
from kalabarg.figures.models import FiguresRefresh
from kalabarg.figures.pages import Page
from kalabarg.figures.tables import Table
from kalabarg.lib.persian import format_jalali_datetime
from kalabarg.lib.replica import read_only_view
from settlements.models import Cycle

VIEW_PERMISSION = "figures.view_cyclefigure"
REFRESH_PERMISSION = "figures.add_figuresrefresh"

# Bump when what is cached changes shape, so a deploy never reads the old shape.
CACHE_VERSION = 1
CACHE_SECONDS = 24 * 60 * 60
# The public page asks the database for the last refresh at most this often (per cache).
LAST_REFRESH_SECONDS = 60
# Anonymous readers (and the proxies between) may keep the public page this long.
PUBLIC_MAX_AGE = 300
# A refresh started less than this long ago and not finished counts as running.
RUNNING_WINDOW = dt.timedelta(hours=1)


def _refreshed_line(refresh: FiguresRefresh | None) -> str:
    if refresh is None or refresh.finished_at is None:
        return "آمار هنوز محاسبه نشده است."
    why = pages.trigger_label(refresh.trigger)
    return f"آمار در {format_jalali_datetime(refresh.finished_at)} محاسبه شده است ({why})."


def _csv(page: Page, request: HttpRequest, prefix: str) -> HttpResponse:
    table: Table | None = page.table(request.GET.get("table", ""))
    if table is None:
        raise Http404("چنین جدولی نیست")
    response = HttpResponse(
        table.csv_text().encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    filename = f"{prefix}-{page.cycle_key}-{table.name}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- The officers' dashboard ---------------------------------------------------------------------


def _programme(*, refresh: FiguresRefresh | None, cycle: Cycle) -> dict[str, Any]:
    """A cycle's dashboard data and its rendered figures, built once per refresh."""
    key = f"figures:v{CACHE_VERSION}:programme:{refresh.pk if refresh else 0}:{cycle.pk}"
    built: dict[str, Any] | None = cache.get(key)
    if built is None:
        page = pages.programme_page(cycle=cycle)
        html = render_to_string("admin/figures/_programme_content.html", {"page": page})
        built = {"page": page, "html": str(html)}
        cache.set(key, built, CACHE_SECONDS)
    return built


@read_only_view  # GET reads the replica; the refresh (POST) runs on the primary
def programme(request: HttpRequest) -> HttpResponse:
    """The programme's figures for one cycle (the newest by default); POST: refresh them now."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("اجازه دیدن آمار طرح را ندارید")
    if request.method == "POST":
        return _refresh_now(request)
    refresh = selectors.last_refresh()
    cycles = selectors.cycles_with_figures()
    cycle = selectors.cycle_by_key(cycles, request.GET.get("cycle"))
    if cycle is None and request.GET.get("cycle"):
        raise Http404("برای این دوره آماری نیست")
    built = _programme(refresh=refresh, cycle=cycle) if cycle is not None else None
    if built is not None and request.GET.get("format") == "csv":
        return _csv(built["page"], request, "programme")
    return render(
        request,
        "admin/figures/programme.html",
        {
            **admin.site.each_context(request),
            "title": "آمار طرح",
            "page": built["page"] if built else None,
            "content": mark_safe(built["html"]) if built else "",  # noqa: S308 - our template's
            "cycles": [(c.key, pages.cycle_label(c)) for c in cycles],
            "refreshed": _refreshed_line(refresh),
            "running": selectors.running_refresh(since=timezone.now() - RUNNING_WINDOW),
            "may_refresh": request.user.has_perm(REFRESH_PERMISSION),
        },
    )


def _refresh_now(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(REFRESH_PERMISSION):
        raise PermissionDenied("اجازه به‌روزرسانی آمار را ندارید")
    if selectors.running_refresh(since=timezone.now() - RUNNING_WINDOW) is not None:
        messages.warning(request, "یک به‌روزرسانی آمار هم‌اکنون در حال اجراست؛ پایانش را صبر کنید.")
    else:
        # Queued for a worker (eager in the demo: it runs here, before the redirect).
        tasks.refresh.delay(trigger="officer")
        messages.success(
            request,
            "به‌روزرسانی آمار در صف قرار گرفت. چند دقیقه دیگر این صفحه را دوباره باز کنید.",
        )
    return redirect(request.get_full_path())


# --- The public transparency page ----------------------------------------------------------------


LAST_REFRESH_KEY = f"figures:v{CACHE_VERSION}:last-refresh"


def _last_refresh_id() -> int:
    """The last completed refresh's id (0 before the first), asked at most once a minute."""
    found = cache.get(LAST_REFRESH_KEY)
    if found is None:
        refresh = selectors.last_refresh()
        found = {"id": refresh.pk if refresh else 0}
        cache.set(LAST_REFRESH_KEY, found, LAST_REFRESH_SECONDS)
    return int(found["id"])


def _public_index(refresh_id: int) -> dict[str, Any]:
    """The cycles the page offers (the last closed ones) and the refresh's line, per refresh."""
    key = f"figures:v{CACHE_VERSION}:public:{refresh_id}"
    index: dict[str, Any] | None = cache.get(key)
    if index is None:
        refresh = FiguresRefresh.objects.filter(pk=refresh_id).first()
        index = {
            "cycles": [(c.key, pages.cycle_label(c), c.pk) for c in selectors.public_cycles()],
            "refreshed": _refreshed_line(refresh),
        }
        cache.set(key, index, CACHE_SECONDS)
    return index


def _public_cycle(refresh_id: int, cycle_key: str, cycle_id: int, index: dict[str, Any]) -> Any:
    """A cycle's page data and its rendered content, built once per refresh."""
    key = f"figures:v{CACHE_VERSION}:public:{refresh_id}:{cycle_key}"
    built: dict[str, Any] | None = cache.get(key)
    if built is None:
        page = public.transparency_page(cycle=Cycle.objects.get(pk=cycle_id))
        html = render_to_string(
            "figures/_transparency_content.html",
            {"page": page, "cycles": index["cycles"], "refreshed": index["refreshed"]},
        )
        built = {"page": page, "html": str(html)}
        cache.set(key, built, CACHE_SECONDS)
    return built


@read_only_view
def transparency(request: HttpRequest) -> HttpResponse:
    """The programme's figures for everyone: the last closed cycles, small cells suppressed."""
    refresh_id = _last_refresh_id()
    index = _public_index(refresh_id)
    wanted = request.GET.get("cycle") or (index["cycles"][0][0] if index["cycles"] else "")
    chosen = next((c for c in index["cycles"] if c[0] == wanted), None)
    if chosen is None and request.GET.get("cycle"):
        raise Http404("برای این دوره آماری منتشر نشده است")
    content = ""
    if chosen is not None:
        built = _public_cycle(refresh_id, chosen[0], chosen[2], index)
        if request.GET.get("format") == "csv":
            response = _csv(built["page"], request, "transparency")
            _cache_headers(request, response)
            return response
        content = mark_safe(built["html"])  # noqa: S308 - rendered from our own template, escaped there
    response = render(
        request,
        "figures/transparency.html",
        {"content": content, "refreshed": index["refreshed"], "has_figures": bool(content)},
    )
    _cache_headers(request, response)
    return response


def _cache_headers(request: HttpRequest, response: HttpResponse) -> None:
    """The page is the same for everyone (no form, no token, nothing of the reader's). A request
    without cookies may be kept by shared caches for a few minutes; one with cookies (a signed-in
    household, a message waiting in its session) only by the reader's own browser."""
    if request.COOKIES:
        patch_cache_control(response, private=True, max_age=PUBLIC_MAX_AGE)
    else:
        patch_cache_control(response, public=True, max_age=PUBLIC_MAX_AGE)
