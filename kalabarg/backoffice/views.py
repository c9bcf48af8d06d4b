"""The household 360° page and its search: admin views (``admin.site.admin_view`` in ``urls``),
for officers who may view households (403 otherwise)."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from kalabarg.backoffice import selectors
from kalabarg.backoffice.household360 import household_sections
from kalabarg.lib.identifiers import mask_national_code
from kalabarg.lib.persian import latin_number

VIEW_PERMISSION = "households.view_household"
SEARCH_HELP = "کد ملی یا شماره همراه یکی از اعضای خانوار، یا شناسه خانوار"


def _require_view(request: HttpRequest) -> None:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied("اجازه دیدن خانوارها را ندارید")


def _context(request: HttpRequest, **values: Any) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "search_help": SEARCH_HELP,
        "term": request.GET.get("q", ""),
        **values,
    }


def household_search(request: HttpRequest) -> HttpResponse:
    """A national code or mobile (any digits) or registry code: one household opens its page,
    several are listed to pick from."""
    _require_view(request)
    term = request.GET.get("q", "").strip()
    found = selectors.households_matching(term=term) if term else []
    if len(found) == 1:
        return redirect("backoffice:household", household_id=found[0].pk)
    rows = []
    for household in found:
        head = next((m for m in household.members.all() if m.is_head), None)
        rows.append(
            {
                "household": household,
                "head": head.full_name if head else "—",
                "head_code": mask_national_code(head.national_code) if head else "—",
                "members": len(household.members.all()),
            }
        )
    return render(
        request,
        "admin/backoffice/household_search.html",
        _context(request, title="نمای ۳۶۰° خانوار", rows=rows, searched=bool(term)),
    )


def household_360(request: HttpRequest, household_id: int) -> HttpResponse:
    """Everything about one household on one page, each list bounded, the ledger paged."""
    _require_view(request)
    household = selectors.household(household_id=household_id)
    if household is None:
        raise Http404("چنین خانواری نیست")
    shown = household_sections(
        household=household,
        ledger_before=latin_number(request.GET.get("ledger_before", "")),
        ledger_after=latin_number(request.GET.get("ledger_after", "")),
    )
    return render(
        request,
        "admin/backoffice/household_360.html",
        _context(
            request,
            title=f"نمای ۳۶۰° {household}",
            sections=shown,
            term="",
        ),
    )
