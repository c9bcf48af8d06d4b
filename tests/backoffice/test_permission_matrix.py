"""The permission matrix (issue 15): every admin page, for every role, against a table written here.

For each role a staff user in that group alone (not a superuser, logged in with a verified TOTP
session) opens, for every model on ``admin.site``, the list, the add page, one row's page, its
history and its delete page; the admin index and each app's index; and every extra URL an admin
adds (``get_urls``). Each must answer what ``EXPECTED`` / ``EXTRA_URLS`` say — a table written
by hand, never derived from the groups, so a role that gains a permission it should not have
fails here. A new admin (or a new admin URL) fails ``test_every_admin_*_has_a_row`` until someone
decides its row.
"""

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Model
from django.test import RequestFactory
from django.urls import URLPattern, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from approvals.models import ChangeRequest, RequestStatus
from households.models import ImportReport, Objection, ObjectionCategory
from kalabarg.backoffice import urls as backoffice_urls
from kalabarg.figures import urls as figures_urls
from kalabarg.figures.refresh import refresh_figures
from notifications.models import SmsCampaign, SmsKind, SmsTemplate
from settlements.models import LedgerDigest
from tests.backoffice.factories import household_with_story
from tests.conftest import OfficerClient
from tests.households.factories import BankCardFactory, HouseholdFactory
from tests.notifications.factories import SmsMessageFactory
from tests.settlements.factories import PhaseFactory, charge, exported_settlements
from tests.stores.factories import ItemPriceFactory, StoreFlagFactory, TerminalFactory

pytestmark = pytest.mark.django_db

WELFARE, PRICE, STORE, FINANCE = (
    "welfare_officer",
    "price_officer",
    "store_officer",
    "finance_officer",
)
SUPERVISOR, AUDITOR = "supervisor", "auditor"
ROLES = (WELFARE, PRICE, STORE, FINANCE, SUPERVISOR, AUDITOR)

# What a role may do with a model's admin pages:
#   v  the list, a row's page (read-only) and its history answer 200
#   c  as v, and a row's page is a form that saves (the page's has_change_permission)
#   a  the add page answers 200
#   d  a row's delete page answers 200
# A role not named gets 403 on every page of the model.
SEES = {SUPERVISOR: "v", AUDITOR: "v"}
NOBODY: dict[str, str] = {}

EXPECTED: dict[str, dict[str, str]] = {
    # Accounts are managed by `add_officer` (a superuser); who holds which role is for the
    # supervisor and the auditor to see.
    "auth.group": SEES,
    "auth.user": SEES,
    # The scheduler's admin lets whoever sees the list run, enable or disable a task: superuser.
    "django_celery_beat.periodictask": NOBODY,
    "django_celery_beat.clockedschedule": NOBODY,
    "django_celery_beat.crontabschedule": NOBODY,
    "django_celery_beat.solarschedule": NOBODY,
    "django_celery_beat.intervalschedule": NOBODY,
    # Requests are filed from the other admins (`approvals.proposing`), never on an add page, and
    # never edited: every role sees the queue, only the supervisor decides (EXTRA_POSTS).
    "approvals.changerequest": {role: "v" for role in ROLES},
    "households.province": {WELFARE: "v", STORE: "v", **SEES},
    "households.city": {WELFARE: "v", STORE: "v", **SEES},
    # Households, members and cards arrive from the registry and the banks (no add, no delete).
    "households.household": {WELFARE: "c", **SEES},
    "households.person": {WELFARE: "c", **SEES},
    "households.bankcard": {WELFARE: "c", **SEES},
    "households.objection": {WELFARE: "c", **SEES},
    "stores.basketitem": {PRICE: "ac", STORE: "v", **SEES},
    "stores.itemprice": {PRICE: "av", STORE: "v", **SEES},  # added, never edited
    "stores.store": {STORE: "ac", FINANCE: "v", **SEES},
    "stores.terminal": {STORE: "ac", **SEES},
    # Raised by the nightly job only (no add, no delete); the store officer closes an open one
    # (its page is then a form), finance sees them beside the stores it settles.
    "stores.storeflag": {STORE: "c", FINANCE: "v", **SEES},
    # Read-only for everyone (written only by the checkout); welfare officers reach a purchase
    # from the household 360°, finance officers settle stores from them.
    "stores.purchase": {WELFARE: "v", STORE: "v", FINANCE: "v", **SEES},
    # The audit trail's search page (its only page): supervisors and auditors.
    "audit.trail": SEES,
    "settlements.phase": {FINANCE: "acd", **SEES},  # until money moves under it
    "settlements.cycle": {FINANCE: "v", **SEES},
    "settlements.creditrun": {FINANCE: "v", **SEES},  # started from the cycles (EXTRA_URLS)
    "settlements.account": {FINANCE: "v", **SEES},
    "settlements.journalentry": {FINANCE: "v", **SEES},
    "settlements.ledgerdigest": {FINANCE: "v", **SEES},
    # Store settlements (issue 16) are written only by services: finance starts runs, approves,
    # releases and exports from the lists' buttons and actions (EXTRA_URLS), never a form.
    "settlements.settlementrun": {FINANCE: "v", **SEES},
    "settlements.storesettlement": {FINANCE: "v", **SEES},
    "settlements.payoutbatch": {FINANCE: "v", **SEES},
    "notifications.smstemplate": {WELFARE: "c", **SEES},
    "notifications.smscampaign": {WELFARE: "av", **SEES},
    "notifications.smsmessage": {WELFARE: "v", **SEES},
    # Second-factor secrets: superusers only.
    "otp_totp.totpdevice": NOBODY,
    # Its list offers "clean up expired attempts" to anyone who sees it: superusers only.
    "axes.accessattempt": NOBODY,
    "axes.accesslog": SEES,
    "axes.accessfailurelog": SEES,
    # The figures' refreshes, written only by the task: whoever sees the programme dashboard.
    "figures.figuresrefresh": {WELFARE: "v", FINANCE: "v", **SEES},
}

# Answers other than 200 and 403, each for a reason.
# (none today: every admin answers 403 to a role that may not open a page)
REFUSED_ADD_ANSWERS: dict[str, int] = {}

# The URLs an admin adds (get_urls), opened with GET on the row of its model: the answer per
# role; a role not named gets 403.
EXTRA_URLS: dict[str, dict[str, int]] = {
    "households_household_import": {WELFARE: 200},  # needs change_household
    "households_bankcard_import": {WELFARE: 200},  # needs change_bankcard
    # An upload's file and report name households: the queue's view and the registry's view.
    "households_household_import_file": {WELFARE: 200, SUPERVISOR: 200, AUDITOR: 200},
    "households_household_import_report": {WELFARE: 200, SUPERVISOR: 200, AUDITOR: 200},
    "settlements_cycle_charge": {FINANCE: 200},  # the run permission (add_creditrun)
    # The what-if of a rule (counts and sums, no household): whoever sees the phases.
    "settlements_phase_what_if": {FINANCE: 200, SUPERVISOR: 200, AUDITOR: 200},
    "settlements_settlementrun_start": {FINANCE: 200},  # add_settlementrun
    # approve_storesettlement; the download is a view of the file's rows (view_payoutbatch);
    # export is add_payoutbatch; the bank's results change settlements (change_storesettlement).
    "settlements_storesettlement_approve_drafts": {FINANCE: 200, SUPERVISOR: 200},
    "settlements_payoutbatch_download": {FINANCE: 200, SUPERVISOR: 200, AUDITOR: 200},
    "settlements_payoutbatch_export": {FINANCE: 200},
    "settlements_payoutbatch_results": {FINANCE: 200},
    # A GET never decides: whoever may see the request is sent back to its page (302); the
    # decision is a POST, refused to all but the supervisor (EXTRA_POSTS).
    "approvals_changerequest_approve": {role: 302 for role in ROLES},
    "approvals_changerequest_reject": {role: 302 for role in ROLES},
    "auth_user_password_change": {},
    "otp_totp_totpdevice_config": {},
    "otp_totp_totpdevice_qrcode": {},
}

# The back office's own pages (kalabarg/backoffice/urls.py, under /admin/backoffice/): they show
# a household's registry, wallet and purchases, so they need the registry's view permission.
BACKOFFICE_URLS: dict[str, dict[str, int]] = {
    "household_search": {WELFARE: 200, SUPERVISOR: 200, AUDITOR: 200},
    "household": {WELFARE: 200, SUPERVISOR: 200, AUDITOR: 200},
}

# The programme dashboard (kalabarg/figures/urls.py, /admin/programme/): figures.view_cyclefigure.
# Its "refresh now" is a POST (figures.add_figuresrefresh): finance and the supervisor are sent
# back to the page (302), anyone else is refused.
PROGRAMME_URLS: dict[str, dict[str, int]] = {
    "programme": {WELFARE: 200, FINANCE: 200, SUPERVISOR: 200, AUDITOR: 200},
}
PROGRAMME_POSTS: dict[str, dict[str, int]] = {"programme": {FINANCE: 302, SUPERVISOR: 302}}

# Rejecting a request without a reason: the supervisor is sent back to the request with the
# error (302, nothing decided); anyone else is refused (403).
EXTRA_POSTS = {"approvals_changerequest_reject": {SUPERVISOR: 302}}

STANDARD_PAGES = ("changelist", "add", "change", "history", "delete")

# Extra URLs whose id is not a row of their admin's model: the key in ``one_of_each()``'s
# answer of the row they are opened on.
EXTRA_URL_ROWS = {
    "households_household_import_file": "upload",
    "households_household_import_report": "upload",
}


# --- The rows the pages are opened on --------------------------------------------------------


def one_of_each() -> dict[str, Model]:
    """At least one row of every model on the admin site; the rows to open where it matters."""
    household = HouseholdFactory()
    head = household.members.get(is_head=True)
    BankCardFactory(person=head)
    Objection.objects.create(
        household=household,
        filed_by=head,
        category=ObjectionCategory.INCOME_FELL,
        description="درآمد خانوار کم شده است",
        decile_at_filing=3,
    )  # open: its page is the decision form
    ItemPriceFactory()  # and its basket item
    TerminalFactory()  # and its store
    StoreFlagFactory()  # open: its page is the closing form
    charge()  # a cycle, its run, wallets and journal entries
    editable_phase = PhaseFactory(starts_on=dt.date(2031, 3, 21))  # no money moved under it
    LedgerDigest.objects.create(day=dt.date(2023, 8, 23), entries=0, digest="0" * 64)
    SmsTemplate.objects.get_or_create(kind=SmsKind.DECILE_NOTICE, defaults={"body": "دهک {decile}"})
    SmsCampaign.objects.create(kind=SmsKind.DECILE_NOTICE, label="آزمایشی")
    SmsMessageFactory(person=head)
    maker = get_user_model().objects.create_user("maker", is_staff=True)
    change_request = ChangeRequest.objects.create(
        kind="test_change", summary="تغییر آزمایشی", payload={}, maker=maker
    )
    interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    CrontabSchedule.objects.create(minute="0", hour="4")
    SolarSchedule.objects.create(event="sunrise", latitude="35.69", longitude="51.39")
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    PeriodicTask.objects.create(name="آزمایشی", task="kalabarg.test", interval=interval)
    access = {"user_agent": "test", "ip_address": "10.0.0.9", "http_accept": "*/*"}
    AccessAttempt.objects.create(
        username="x", path_info="/admin/login/", failures_since_start=1, **access
    )
    AccessLog.objects.create(username="maker", path_info="/admin/login/", **access)
    AccessFailureLog.objects.create(username="x", path_info="/admin/login/", **access)
    upload = ChangeRequest.objects.create(
        kind="registry_upload",
        summary="بارگذاری آزمایشی",
        payload={},
        maker=maker,
        status=RequestStatus.REJECTED,
        checker=get_user_model().objects.create_user("checker", is_staff=True),
        decided_at=timezone.now(),
        decision_reason="آزمایشی",
        attachment="registry_code\n",
    )
    ImportReport.objects.create(change_request=upload, file_name="report.csv")
    refresh_figures(trigger="test")  # the dashboard's figures and a refresh's row
    story = household_with_story()  # purchases, a bonus, objections, SMS: the 360° page's sections
    with tempfile.TemporaryDirectory() as directory:  # a settlement run, its settlements, a file
        exported_settlements(directory=Path(directory))
    return {
        "backoffice.household": story.household,
        "upload": upload,
        "settlements.phase": editable_phase,
        "approvals.changerequest": change_request,
        "auth.user": maker,
    }


def officer_in(role: str) -> Any:
    user = get_user_model().objects.create_user(f"officer-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def row_of(model: type[Model], chosen: dict[str, Model]) -> Model:
    row = chosen.get(model._meta.label_lower) or model._default_manager.order_by("pk").first()
    assert row is not None, f"one_of_each() makes no {model._meta.label_lower}: add one"
    return row


def extra_patterns(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    """The URLs the admin adds to Django's five pages (the bare ``<id>/`` redirect has no name)."""
    opts = model_admin.model._meta
    standard = {f"{opts.app_label}_{opts.model_name}_{page}" for page in STANDARD_PAGES}
    return [
        pattern
        for pattern in model_admin.get_urls()
        if isinstance(pattern, URLPattern) and pattern.name and pattern.name not in standard
    ]


def extra_url(pattern: URLPattern, row: Model) -> str:
    converters = pattern.pattern.converters
    return reverse(f"admin:{pattern.name}", kwargs={name: row.pk for name in converters})


# --- What each page must answer --------------------------------------------------------------


def expected_status(label: str, role: str, page: str) -> int:
    allowed = EXPECTED[label].get(role, "")
    if page in ("changelist", "change", "history"):
        return 200 if {"v", "c"} & set(allowed) else 403
    if page == "add":
        return 200 if "a" in allowed else REFUSED_ADD_ANSWERS.get(label, 403)
    return 200 if "d" in allowed else 403


def app_index_status(app_label: str, role: str) -> int:
    """Django lists an app to a user who may do anything with one of its models, else 404."""
    seen = any(EXPECTED[label].get(role) for label in EXPECTED if label.split(".")[0] == app_label)
    return 200 if seen else 404


def walk(
    client: OfficerClient, role: str, chosen: dict[str, Model], *, only: set[str] | None = None
) -> list[str]:
    """Every page for ``role`` (of the models ``only`` names, if given): the differences from
    the tables, as readable lines."""
    wrong: list[str] = []

    def check(what: str, response: Any, status: int) -> None:
        if response.status_code != status:
            where = f" → {response['Location']}" if response.status_code == 302 else ""
            wrong.append(f"{what}: expected {status}, got {response.status_code}{where}")

    check("admin index", client.get(reverse("admin:index")), 200)
    apps = sorted({model._meta.app_label for model in admin.site._registry})
    for app_label in apps if only is None else []:
        url = reverse("admin:app_list", kwargs={"app_label": app_label})
        check(f"{app_label} index", client.get(url), app_index_status(app_label, role))

    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        if only is not None and label not in only:
            continue
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        # An admin may serve fewer than the five pages (the audit trail is one search page).
        served = {
            pattern.name for pattern in model_admin.get_urls() if isinstance(pattern, URLPattern)
        }
        row = row_of(model, chosen) if f"{info}_change" in served else None
        urls = {
            page: reverse(
                f"admin:{info}_{page}", args=[] if page in ("changelist", "add") else [row.pk]
            )
            for page in STANDARD_PAGES
            if f"{info}_{page}" in served
        }
        for page, url in urls.items():
            response = client.get(url)
            status = expected_status(label, role, page)
            check(f"{label} {page}", response, status)
            if page == "change" and response.status_code == status == 200:
                editable = response.context_data["has_change_permission"]
                if editable != ("c" in EXPECTED[label].get(role, "")):
                    wrong.append(f"{label} change: editable={editable}, the table says otherwise")

        for pattern in extra_patterns(model_admin):
            name = str(pattern.name)
            opened_on = chosen[EXTRA_URL_ROWS[name]] if name in EXTRA_URL_ROWS else row
            url = extra_url(pattern, opened_on)
            check(name, client.get(url), EXTRA_URLS[name].get(role, 403))
            if name in EXTRA_POSTS:
                check(f"{name} POST", client.post(url, {}), EXTRA_POSTS[name].get(role, 403))
    for pattern in backoffice_urls.urlpatterns:
        name = str(pattern.name)
        converters = pattern.pattern.converters
        url = reverse(
            f"backoffice:{name}",
            kwargs={key: chosen["backoffice.household"].pk for key in converters},
        )
        check(f"backoffice {name}", client.get(url), BACKOFFICE_URLS[name].get(role, 403))
    for pattern in figures_urls.officer_urlpatterns if only is None else []:
        name = str(pattern.name)
        url = reverse(f"figures:{name}")
        check(f"figures {name}", client.get(url), PROGRAMME_URLS[name].get(role, 403))
        if name in PROGRAMME_POSTS:
            check(
                f"figures {name} POST", client.post(url, {}), PROGRAMME_POSTS[name].get(role, 403)
            )
    return wrong


# --- The tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_the_admin_pages_of_the_table(role):
    chosen = one_of_each()
    client = OfficerClient()
    client.force_login(officer_in(role))

    wrong = walk(client, role, chosen)

    assert wrong == []
    pending = ChangeRequest.objects.filter(status=RequestStatus.PENDING)
    assert pending.count() == 1, "a POST of the walk decided a request"


def test_every_admin_model_has_a_row_in_the_table():
    registered = {model._meta.label_lower for model in admin.site._registry}

    assert registered == set(EXPECTED)


def test_every_admin_url_beyond_the_five_pages_has_a_row_in_the_table():
    added = {
        str(pattern.name)
        for model_admin in admin.site._registry.values()
        for pattern in extra_patterns(model_admin)
    }

    assert added == set(EXTRA_URLS)


def test_every_back_office_page_has_a_row_in_the_table():
    assert {str(pattern.name) for pattern in backoffice_urls.urlpatterns} == set(BACKOFFICE_URLS)


def test_every_programme_page_has_a_row_in_the_table():
    names = {str(pattern.name) for pattern in figures_urls.officer_urlpatterns}

    assert names == set(PROGRAMME_URLS)


def test_the_tables_name_only_the_six_roles():
    named = {role for row in (*EXPECTED.values(), *EXTRA_URLS.values()) for role in row}

    assert named <= set(ROLES)
    assert all(set(letters) <= set("vcad") for row in EXPECTED.values() for letters in row.values())


# Actions a role that otherwise only looks is offered although they write: the supervisor's
# approval of store settlements (approve_storesettlement); every other writing action names a
# permission these roles lack.
VIEW_ONLY_WRITES: dict[str, dict[str, set[str]]] = {
    SUPERVISOR: {"settlements.storesettlement": {"approve_selected"}},
}


@pytest.mark.parametrize("role", [SUPERVISOR, AUDITOR])
def test_a_role_that_only_looks_is_offered_no_admin_action(role):
    request = RequestFactory().get("/admin/")
    request.user = officer_in(role)

    offered = {
        model._meta.label_lower: set(names)
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_view_permission(request) and (names := model_admin.get_actions(request))
    }

    assert offered == VIEW_ONLY_WRITES.get(role, {})


def test_the_walk_sees_a_role_that_holds_more_than_its_row():
    chosen = one_of_each()
    officer = officer_in(AUDITOR)
    officer.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_phase", "change_household"])
    )
    client = OfficerClient()
    client.force_login(officer)

    wrong = walk(client, AUDITOR, chosen, only={"settlements.phase", "households.household"})

    assert wrong == [
        "households.household change: editable=True, the table says otherwise",
        "households_household_import: expected 403, got 200",  # the upload needs the change
        "settlements.phase add: expected 403, got 200",
    ]
