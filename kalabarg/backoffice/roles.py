"""The officers' roles as data, and ``sync_roles``, which makes the six groups hold exactly them.

A role is a Django group whose permissions follow from rules, not from a hand-kept list: "every
view permission of the households app", "add and change of stores and terminals". A model added
later falls into the roles its rules name (a new ``settlements`` model is seen by finance, the
supervisor and the auditor) as soon as ``sync_roles`` runs again — on every ``migrate`` (the
``post_migrate`` receiver in ``apps.py``) or by ``manage.py sync_roles``.

The groups are code: ``sync_roles`` *sets* each group's permissions, so a permission added to a
group by hand in the admin is taken away again by the next ``migrate``. ``NEVER`` is applied
after every role's rules, so no rule, however broad, grants what it names (the ledger's writes,
accounts and groups, the officers' second-factor secrets).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS, transaction

ANY = None  # a rule field that matches everything


@dataclass(frozen=True)
class Rule:
    """The permissions whose app, model and action match (``ANY`` matches every value).

    ``models`` are ``app_label.model_name`` (lower case, as in ``Permission.content_type``);
    an action is ``view``, ``add``, ``change``, ``delete`` or a custom permission's own word
    (``approve`` for ``approve_changerequest``).
    """

    apps: frozenset[str] | None = ANY
    models: frozenset[str] | None = ANY
    actions: frozenset[str] | None = ANY

    def matches(self, *, app_label: str, model: str, action: str) -> bool:
        return (
            (self.apps is ANY or app_label in self.apps)
            and (self.models is ANY or f"{app_label}.{model}" in self.models)
            and (self.actions is ANY or action in self.actions)
        )


def views(*app_labels: str) -> Rule:
    """Every view permission of these apps (of every app when none is named)."""
    return Rule(apps=frozenset(app_labels) or ANY, actions=frozenset({"view"}))


def may(actions: Iterable[str], *models: str) -> Rule:
    """These actions on these models (``app_label.model_name``)."""
    return Rule(models=frozenset(models), actions=frozenset(actions))


def everything_of(*models: str) -> Rule:
    return Rule(models=frozenset(models))


def whole_apps(*app_labels: str) -> Rule:
    return Rule(apps=frozenset(app_labels))


@dataclass(frozen=True)
class Role:
    label: str  # Persian, for people
    duties: str
    rules: tuple[Rule, ...] = field(default_factory=tuple)


# Every officer who asks for a four-eyes change sees the queue and files requests; deciding one
# is the supervisor's alone (``approvals.approve_changerequest``).
MAKES_REQUESTS = may({"view", "add"}, "approvals.changerequest")

LEDGER = (
    "settlements.account",
    "settlements.journalentry",
    "settlements.posting",
    "settlements.ledgerdigest",
    "settlements.balancerollup",
)

WELFARE_OFFICER = "welfare_officer"
PRICE_OFFICER = "price_officer"
STORE_OFFICER = "store_officer"
FINANCE_OFFICER = "finance_officer"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"

ROLES: dict[str, Role] = {
    WELFARE_OFFICER: Role(
        label="کارشناس رفاه",
        duties="households, members, bank cards, deciles, objections; the SMS to households",
        rules=(
            views("households", "notifications"),
            # change_household: the decile inline and the registry upload; change_bankcard:
            # a card's status and the banks' file; change_objection: deciding an objection.
            may(
                {"change"},
                "households.household",
                "households.person",
                "households.bankcard",
                "households.objection",
            ),
            may({"add"}, "households.decileassignment"),  # a new decile, never an edited one
            may({"change"}, "notifications.smstemplate"),
            may({"add"}, "notifications.smscampaign"),  # the decile notices
            # The household 360° lists its purchases; their detail is the purchases admin's page.
            may({"view"}, "stores.purchase", "stores.purchaseline"),
            MAKES_REQUESTS,
        ),
    ),
    PRICE_OFFICER: Role(
        label="کارشناس قیمت",
        duties="basket items and their prices",
        rules=(
            may({"view", "add", "change"}, "stores.basketitem"),
            may({"view", "add"}, "stores.itemprice"),  # prices are added, never edited
            MAKES_REQUESTS,
        ),
    ),
    STORE_OFFICER: Role(
        label="کارشناس فروشگاه‌ها",
        duties="stores and POS terminals (their keys through four-eyes requests); anomaly flags",
        rules=(
            views("stores"),
            may({"add", "change"}, "stores.store", "stores.terminal"),
            may({"change"}, "stores.storeflag"),  # closing an anomaly flag, with a reason
            # The store form picks its province and city from the registry's lists.
            may({"view"}, "households.province", "households.city"),
            MAKES_REQUESTS,
        ),
    ),
    FINANCE_OFFICER: Role(
        label="کارشناس مالی",
        duties="phases and bands, cycles and runs, settlements and payouts; the ledger read-only",
        rules=(
            views("settlements"),
            # Phases and their bands are the rules of the programme; read-only once money moved.
            may({"add", "change", "delete"}, "settlements.phase", "settlements.phaseband"),
            # Starting or resuming a run is adding one (``settlements.admin.runs.can_run``).
            may({"add"}, "settlements.creditrun"),
            # Settlements and payouts are per store, from its purchases.
            may({"view"}, "stores.store", "stores.purchase", "stores.purchaseline"),
            may({"view"}, "stores.storeflag"),  # a flagged store's settlement deserves a look
            # Store settlements (issue 16): settle now (add a run), approve drafts, release held
            # ones and apply the bank's results (change), export a payout file (add a batch).
            may({"add"}, "settlements.settlementrun", "settlements.payoutbatch"),
            may({"approve", "change"}, "settlements.storesettlement"),
            MAKES_REQUESTS,
        ),
    ),
    SUPERVISOR: Role(
        label="سرپرست",
        duties="sees everything; approves or rejects the officers' four-eyes requests and "
        "approves store settlements for payment",
        rules=(
            views(),
            may({"approve"}, "approvals.changerequest", "settlements.storesettlement"),
        ),
    ),
    AUDITOR: Role(
        label="حسابرس",
        duties="sees everything, the audit trail and every page's history included; changes nothing",
        rules=(views(),),
    ),
}

# Programme figures (issue 17), in one block so that other roles' edits merge cleanly: the
# dashboard is ``view_cyclefigure`` (every figures model's view comes with it: the refreshes'
# list, the stores'); "refresh now" adds a refresh (``add_figuresrefresh``): finance and the
# supervisor. Supervisors and auditors already see every view permission (``views()``).
_FIGURES_RULES = {
    WELFARE_OFFICER: (views("figures"),),
    FINANCE_OFFICER: (views("figures"), may({"add"}, "figures.figuresrefresh")),
    SUPERVISOR: (may({"add"}, "figures.figuresrefresh"),),
}
for _name, _rules in _FIGURES_RULES.items():
    ROLES[_name] = replace(ROLES[_name], rules=ROLES[_name].rules + _rules)

NEVER: tuple[Rule, ...] = (
    # Append-only money: no role writes the ledger, whatever its other rules say.
    may({"add", "change", "delete"}, *LEDGER),
    # Officers' accounts are managed by `add_officer` (a superuser), never by a role.
    Rule(apps=frozenset({"auth"}), actions=frozenset({"add", "change", "delete"})),
    # A decided request is history: it is never edited or deleted.
    may({"change", "delete"}, "approvals.changerequest"),
    # Second-factor secrets and sessions are credentials, not records to read.
    whole_apps("sessions", "otp_totp", "otp_static", "otp_hotp", "otp_email"),
    # Their admins let anyone who may view the list run actions that write (run, enable or
    # disable a scheduled task; clean up login attempts): superusers only.
    whole_apps("django_celery_beat"),
    everything_of("axes.accessattempt"),
)


def action_of(codename: str, model: str) -> str:
    """``view_household`` → ``view``; a custom permission → its first word (``approve``)."""
    suffix = f"_{model}"
    if codename.endswith(suffix):
        return codename[: -len(suffix)]
    return codename.split("_", 1)[0]


def granted(role: Role, *, app_label: str, model: str, codename: str) -> bool:
    """Whether ``role`` holds this permission: one of its rules matches and no ``NEVER`` rule does."""
    action = action_of(codename, model)
    key = {"app_label": app_label, "model": model, "action": action}
    if any(rule.matches(**key) for rule in NEVER):
        return False
    return any(rule.matches(**key) for rule in role.rules)


def ensure_permissions(*, apps: Apps = global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Every installed app's permissions and content types, as ``post_migrate`` makes them.

    A data migration runs before ``post_migrate``, so on a fresh database the permissions the
    roles name do not exist yet. With a migration's ``apps`` only the apps of that state get
    theirs (Django looks each app up in ``apps``; an app not migrated yet is skipped).
    """
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, interactive=False, using=using, apps=apps)


def sync_roles(*, apps: Apps = global_apps, using: str = DEFAULT_DB_ALIAS) -> dict[str, set[str]]:
    """Create the six groups and give each exactly its role's permissions (idempotent).

    Returns each group's permissions as ``app_label.codename``. Groups that are not roles, and
    the users in every group, are left alone.
    """
    with transaction.atomic(using=using):
        ensure_permissions(apps=apps, using=using)
        return _set_groups(apps=apps, using=using)


def _set_groups(*, apps: Apps, using: str) -> dict[str, set[str]]:
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = list(
        permission_model.objects.using(using)
        .select_related("content_type")
        .order_by("content_type__app_label", "content_type__model", "codename")
    )
    result: dict[str, set[str]] = {}
    for name, role in ROLES.items():
        chosen = [
            permission
            for permission in permissions
            if granted(
                role,
                app_label=permission.content_type.app_label,
                model=permission.content_type.model,
                codename=permission.codename,
            )
        ]
        group, _ = group_model.objects.using(using).get_or_create(name=name)
        group.permissions.set(chosen)
        result[name] = {f"{p.content_type.app_label}.{p.codename}" for p in chosen}
    return result
