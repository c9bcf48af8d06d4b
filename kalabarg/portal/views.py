"""Household portal pages. Views are thin: forms validate, selectors read."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from households.models import Province
from kalabarg.portal.forms import StoreFinderForm, cities_for
from stores import selectors

STORES_PER_PAGE = 20


def home(request: HttpRequest) -> HttpResponse:
    """The public landing page."""
    return render(request, "portal/home.html")


@require_GET
def store_finder(request: HttpRequest) -> HttpResponse:
    """فروشگاه‌های متصل: connected stores by province, city and name, 20 a page, no full count."""
    form = StoreFinderForm(request.GET or None)
    stores: list = []
    page = 1
    has_next = False
    searched = form.is_bound and form.is_valid()
    if searched:
        data = form.cleaned_data
        page = data["page"] or 1
        province, city = data["province"], data["city"]
        queryset = selectors.connected_stores(
            province_id=province.pk if province else None,
            city_id=city.pk if city else None,
            query=data["q"].strip(),
        )
        offset = (page - 1) * STORES_PER_PAGE
        stores = list(queryset[offset : offset + STORES_PER_PAGE + 1])
        has_next = len(stores) > STORES_PER_PAGE
        stores = stores[:STORES_PER_PAGE]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "stores": stores,
        "searched": searched,
        "page": page,
        "next_page": page + 1 if has_next else None,
        "previous_page": page - 1 if page > 1 else None,
        "query_string": query.urlencode(),
    }
    return render(request, "portal/stores.html", context)


@require_GET
def city_options(request: HttpRequest) -> HttpResponse:
    """The city ``<option>``s of a province, swapped in by htmx when the province changes."""
    province = Province.objects.filter(code=request.GET.get("province", "")).first()
    return render(request, "portal/_city_options.html", {"cities": cities_for(province)})
