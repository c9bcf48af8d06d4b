"""Household portal pages. Views are thin: forms validate, selectors read."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from households.models import ObjectionStatus, Person
from households.objections import file_objection
from households.services import create_payment_code
from kalabarg.lib.identifiers import mask_mobile
from kalabarg.lib.persian import latin_number
from kalabarg.lib.replica import read_only_view
from kalabarg.portal import login as login_service
from kalabarg.portal import selectors as portal_selectors
from kalabarg.portal.api.errors import ME_ERROR_CODES
from kalabarg.portal.auth import (
    SESSION_PENDING,
    household_login_required,
    log_in,
    log_out,
    signed_in_person,
)
from kalabarg.portal.forms import (
    CodeForm,
    LoginForm,
    ObjectionForm,
    PurchaseSmsForm,
    StoreFinderForm,
    cities_for,
    province_by_code,
)
from kalabarg.portal.login import LoginRefused, client_ip
from kalabarg.portal.preferences import set_purchase_sms
from stores import selectors

STORES_PER_PAGE = 20
PURCHASES_PER_PAGE = 20


def home(request: HttpRequest) -> HttpResponse:
    """The public landing page."""
    return render(request, "portal/home.html")


@read_only_view
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
    province = province_by_code(request.GET.get("province", ""))
    return render(request, "portal/_city_options.html", {"cities": cities_for(province)})


# --- Login ------------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, target: str | None) -> str | None:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _apply_errors(form: Any, error: ValidationError) -> None:
    for field, errors in error.error_dict.items():
        for item in errors:
            form.add_error(field if field in form.fields else None, item.messages[0])
    form.describe_fields()


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """ورود: national code and mobile; a code goes by SMS if they belong together."""
    if signed_in_person(request) is not None:
        return redirect("portal:dashboard")
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        national_code, mobile = form.cleaned_data["national_code"], form.cleaned_data["mobile"]
        pending = {"next": _safe_next(request, request.GET.get("next"))}
        try:
            login_service.request_login_code(
                national_code=national_code, mobile=mobile, ip=client_ip(meta=request.META)
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
            status = 400
        except LoginRefused as refusal:
            if refusal.code != "resend_too_soon":
                form.add_error(None, refusal.message)
                status = ME_ERROR_CODES[refusal.code]
            else:  # a code went to this pair less than a minute ago: go and type it
                pending.update(
                    national_code=login_service.clean_national_code(value=national_code),
                    mobile=login_service.clean_mobile(value=mobile),
                )
                request.session[SESSION_PENDING] = pending
                messages.info(request, refusal.message)
                return redirect("portal:login-code")
        else:
            pending.update(
                national_code=login_service.clean_national_code(value=national_code),
                mobile=login_service.clean_mobile(value=mobile),
            )
            request.session[SESSION_PENDING] = pending
            return redirect("portal:login-code")
    elif form.is_bound:
        status = 400
    return render(request, "portal/login.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """کد ورود: the 6-digit code from the SMS."""
    pending = request.session.get(SESSION_PENDING)
    if not pending or not pending.get("national_code"):
        return redirect("portal:login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            person = login_service.verify_login_code(
                national_code=pending["national_code"],
                code=form.cleaned_data["code"],
                ip=client_ip(meta=request.META),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
            status = 400
        except LoginRefused as refusal:
            form.add_error("code", refusal.message)
            form.describe_fields()
            status = ME_ERROR_CODES[refusal.code]
        else:
            target = pending.get("next")
            log_in(request, person)
            return redirect(target or "portal:dashboard")
    elif form.is_bound:
        status = 400
    context = {
        "form": form,
        "mobile": mask_mobile(pending["mobile"]),
        "code_sent_message": login_service.CODE_SENT_MESSAGE,
        "resend_after": login_service.RESEND_WAIT_SECONDS,
    }
    return render(request, "portal/login_code.html", context, status=status)


@require_POST
def login_resend(request: HttpRequest) -> HttpResponse:
    """A new code for the pending login (after the 60-second wait)."""
    pending = request.session.get(SESSION_PENDING)
    if not pending or not pending.get("national_code"):
        return redirect("portal:login")
    try:
        login_service.request_login_code(
            national_code=pending["national_code"],
            mobile=pending["mobile"],
            ip=client_ip(meta=request.META),
        )
    except LoginRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "کد تازه فرستاده شد؛ کد پیشین دیگر کار نمی‌کند.")
    return redirect("portal:login-code")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    log_out(request)
    messages.success(request, "از درگاه خارج شدید.")
    return redirect("portal:home")


# --- Signed-in pages --------------------------------------------------------------------------


def _person(request: HttpRequest) -> Person:
    person: Person = request.person  # type: ignore[attr-defined]
    return person


def _page_number(request: HttpRequest) -> int:
    number = latin_number(request.GET.get("page", "1"))
    if number is None or not 1 <= number <= 10_000:
        raise Http404("صفحه پیدا نشد")
    return number


@household_login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """پیشخوان: decile and coverage first, then credit, bonus progress and recent purchases."""
    data = portal_selectors.dashboard(person=_person(request))
    return render(request, "portal/dashboard.html", {"d": data, "nav": "dashboard"})


def _household_page(
    request: HttpRequest, person: Person, form: PurchaseSmsForm, status: int = 200
) -> HttpResponse:
    context = {
        "household": person.household,
        "members": portal_selectors.household_members(household_id=person.household_id),
        "history": portal_selectors.decile_history(household_id=person.household_id),
        "today": timezone.localdate(),
        "purchase_sms_form": form,
        "is_head": person.is_head,
        "nav": "household",
    }
    return render(request, "portal/household.html", context, status=status)


@household_login_required
@require_GET
def household(request: HttpRequest) -> HttpResponse:
    """خانوار: members with masked national codes, the decile history, and (for the head) the
    choice of a message after each purchase."""
    person = _person(request)
    choice = "on" if person.household.purchase_sms else "off"
    return _household_page(request, person, PurchaseSmsForm(initial={"purchase_sms": choice}))


@household_login_required
@require_POST
def purchase_sms(request: HttpRequest) -> HttpResponse:
    """The head turns the message after each purchase on or off; back to the household page."""
    person = _person(request)
    form = PurchaseSmsForm(request.POST)
    if not form.is_valid():
        return _household_page(request, person, form, status=400)
    enabled = form.cleaned_data["purchase_sms"] == "on"
    if not set_purchase_sms(person=person, enabled=enabled):
        messages.error(request, "فقط سرپرست خانوار می‌تواند پیامک خرید را روشن یا خاموش کند.")
    elif enabled:
        messages.success(
            request, "ذخیره شد: پس از هر خرید و برگشت خرید به سرپرست خانوار پیامک می‌فرستیم."
        )
    else:
        messages.success(request, "ذخیره شد: دیگر پس از خرید پیامک نمی‌فرستیم.")
    return redirect("portal:household")


@household_login_required
@require_GET
def purchases(request: HttpRequest) -> HttpResponse:
    """خریدها: the household's purchases, newest first, 20 a page, no full count."""
    person = _person(request)
    page = _page_number(request)
    offset = (page - 1) * PURCHASES_PER_PAGE
    rows = list(
        portal_selectors.household_purchases(household_id=person.household_id)[
            offset : offset + PURCHASES_PER_PAGE + 1
        ]
    )
    context = {
        "purchases": rows[:PURCHASES_PER_PAGE],
        "page": page,
        "next_page": page + 1 if len(rows) > PURCHASES_PER_PAGE else None,
        "previous_page": page - 1 if page > 1 else None,
        "nav": "purchases",
    }
    return render(request, "portal/purchases.html", context)


@household_login_required
@require_GET
def purchase_detail(request: HttpRequest, purchase_id: int) -> HttpResponse:
    person = _person(request)
    purchase = portal_selectors.household_purchase(
        household_id=person.household_id, purchase_id=purchase_id
    )
    if purchase is None:
        raise Http404("خرید پیدا نشد")
    return render(request, "portal/purchase.html", {"purchase": purchase, "nav": "purchases"})


@household_login_required
@require_GET
def objections(request: HttpRequest) -> HttpResponse:
    """درخواست بازبینی دهک: the household's requests and their decisions."""
    person = _person(request)
    rows = list(portal_selectors.household_objections(household_id=person.household_id)[:20])
    context = {
        "objections": rows,
        "has_open": any(row.is_open for row in rows),
        "nav": "objections",
    }
    return render(request, "portal/objections.html", context)


@household_login_required
@require_http_methods(["GET", "POST"])
def objection_new(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    open_one = (
        portal_selectors.household_objections(household_id=person.household_id)
        .filter(status=ObjectionStatus.OPEN)
        .first()
    )
    if open_one is not None:
        messages.info(request, "درخواست قبلی شما هنوز در حال بررسی است.")
        return redirect("portal:objection", objection_id=open_one.pk)
    form = ObjectionForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            objection = file_objection(
                person=person,
                category=form.cleaned_data["category"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                _apply_errors(form, exc)
            else:
                form.add_error(None, exc.messages[0])
            status = 400
        else:
            messages.success(request, "درخواست بازبینی دهک ثبت شد. نتیجه را پیامک می‌کنیم.")
            return redirect("portal:objection", objection_id=objection.pk)
    elif form.is_bound:
        status = 400
    return render(
        request,
        "portal/objection_new.html",
        {"form": form, "nav": "objections"},
        status=status,
    )


@household_login_required
@require_GET
def objection_detail(request: HttpRequest, objection_id: int) -> HttpResponse:
    person = _person(request)
    objection = portal_selectors.household_objection(
        household_id=person.household_id, objection_id=objection_id
    )
    if objection is None:
        raise Http404("درخواست پیدا نشد")
    return render(request, "portal/objection.html", {"objection": objection, "nav": "objections"})


@household_login_required
@require_http_methods(["GET", "POST"])
def payment_code(request: HttpRequest) -> HttpResponse:
    """کد خرید: a one-time 8-digit code for a purchase without a card (heads only)."""
    person = _person(request)
    context: dict[str, Any] = {"nav": "payment-code", "valid_minutes": 10}
    status = 200
    if request.method == "POST":
        try:
            code, record = create_payment_code(person=person)
        except ValidationError as exc:
            context["error"] = exc.messages[0]
            status = 403
        else:
            context.update(code=code, record=record)
    return render(request, "portal/payment_code.html", context, status=status)
