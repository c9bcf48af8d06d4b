"""Programme rules as data, monthly cycles, and the double-entry ledger.

The ledger follows TigerBeetle's rules in PostgreSQL: every journal entry's postings sum to zero
(checked per statement by a trigger), postings and entries are append-only (triggers refuse
UPDATE and DELETE), a correction is a new reversing entry, and every movement has a unique
idempotency key. Only wallets keep a running balance (under a row lock, with ``CHECK >= 0``);
the funds' and store payables' balances are derived from postings, with a periodic roll-up, so
purchases at different stores never queue on one hot row.

One module on purpose (about 650 lines): the rules, cycles, runs and ledger tables reference one
another and their database constraints are read together; the ledger's guards are in
``docs/ledger.md``. A cycle's recorded cost and baskets (``CycleCost``, ``CycleBasket``) sit
beside ``Cycle``, the only table they name; store settlements have their own module (``payouts``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When

from households.models import Household
from stores.models import Purchase, Store


class CreditBasis(models.TextChoices):
    PER_MEMBER = "per_member", "به ازای هر عضو خانوار"
    PER_HOUSEHOLD = "per_household", "به ازای هر خانوار"


class UnspentPolicy(models.TextChoices):
    CARRY_OVER = "carry_over", "انتقال به دوره بعد"
    EXPIRE = "expire", "ابطال در پایان مرحله"


class Phase(models.Model):
    """A phase of the programme, with its rules per decile band. Money that moved under a phase
    pins it: its rules can no longer change in place (a new phase from a date instead)."""

    name = models.CharField("نام", max_length=128)
    starts_on = models.DateField("از تاریخ")
    ends_on = models.DateField("تا تاریخ", null=True, blank=True)
    basis = models.CharField(
        "مبنای اعتبار", max_length=16, choices=CreditBasis.choices, default=CreditBasis.PER_MEMBER
    )
    unspent_policy = models.CharField(
        "اعتبار خرج‌نشده",
        max_length=16,
        choices=UnspentPolicy.choices,
        default=UnspentPolicy.CARRY_OVER,
    )
    min_distinct_items = models.PositiveSmallIntegerField(
        "حداقل تعداد اقلام متفاوت در هر خرید", default=0
    )
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "مرحله طرح"
        verbose_name_plural = "مراحل طرح"
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="phase_dates_ordered",
            ),
            models.UniqueConstraint(fields=["starts_on"], name="phase_unique_start"),
        ]

    def __str__(self) -> str:
        return self.name


class PhaseBand(models.Model):
    """The amounts of a phase for a range of deciles. Amounts are per member or per household (the phase's basis)."""

    phase = models.ForeignKey(
        Phase, on_delete=models.CASCADE, related_name="bands", verbose_name="مرحله"
    )
    min_decile = models.PositiveSmallIntegerField("از دهک")
    max_decile = models.PositiveSmallIntegerField("تا دهک")
    credit_per_cycle_rial = models.BigIntegerField("اعتبار کالابرگ در هر دوره (ریال)")
    bonus_threshold_rial = models.BigIntegerField("آستانه اعتبار مضاعف (ریال)")
    bonus_amount_rial = models.BigIntegerField("اعتبار مضاعف (ریال)")
    cash_subsidy_rial = models.BigIntegerField("یارانه نقدی نمایشی (ریال)", default=0)

    class Meta:
        verbose_name = "بازه دهک"
        verbose_name_plural = "بازه‌های دهک"
        ordering = ["min_decile"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    min_decile__gte=1, max_decile__lte=10, min_decile__lte=models.F("max_decile")
                ),
                name="band_deciles_in_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    credit_per_cycle_rial__gte=0,
                    bonus_threshold_rial__gt=0,
                    bonus_amount_rial__gte=0,
                    cash_subsidy_rial__gte=0,
                ),
                name="band_amounts_sane",
            ),
        ]

    def __str__(self) -> str:
        return f"دهک {self.min_decile} تا {self.max_decile}"


class CycleStatus(models.TextChoices):
    PLANNED = "planned", "برنامه‌ریزی‌شده"
    CHARGING = "charging", "در حال شارژ"
    OPEN = "open", "باز"
    CLOSED = "closed", "بسته"


class Cycle(models.Model):
    """One Jalali month of the programme (``1402-06``): credit is charged at its start."""

    key = models.CharField("دوره", max_length=7, unique=True)
    starts_on = models.DateField("آغاز")
    ends_on = models.DateField("پایان")
    phase = models.ForeignKey(
        Phase, on_delete=models.PROTECT, related_name="cycles", verbose_name="مرحله"
    )
    status = models.CharField(
        "وضعیت", max_length=10, choices=CycleStatus.choices, default=CycleStatus.PLANNED
    )

    class Meta:
        verbose_name = "دوره"
        verbose_name_plural = "دوره‌ها"
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=Q(key__regex=r"^1[34][0-9]{2}-(0[1-9]|1[0-2])$"), name="cycle_key_format"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="cycle_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class CycleCost(models.Model):
    """What a cycle actually cost, for the households of one decile (their decile on the cycle's
    first day; ``decile`` 0: none): charged households and their members, credit charged, bonuses
    in force, and the inflation compensation of purchases net of reversals.

    Recorded by the programme figures' refresh (``kalabarg.figures.refresh``, on the beat and
    after every run and settlement) through ``services.cycle_cost.record_cycle_cost``, so that a
    what-if sets a rule beside a cycle's cost without scanning its ledger (docs/decisions.md,
    "What-if of a phase")."""

    # No index of its own: cycle_cost_one_per_decile leads with it.
    cycle = models.ForeignKey(
        Cycle,
        on_delete=models.CASCADE,
        related_name="costs",
        verbose_name="دوره",
        db_index=False,
    )
    decile = models.PositiveSmallIntegerField("دهک")
    households = models.BigIntegerField("خانوارهای شارژشده")
    members = models.BigIntegerField("افراد خانوارهای شارژشده")
    credit_rial = models.BigIntegerField("اعتبار شارژشده (ریال)")
    bonus_rial = models.BigIntegerField("اعتبار مضاعف (ریال)")
    compensation_rial = models.BigIntegerField("جبران تورم (ریال)")
    recorded_at = models.DateTimeField("زمان ثبت")

    class Meta:
        verbose_name = "هزینه واقعی دوره"
        verbose_name_plural = "هزینه‌های واقعی دوره‌ها"
        constraints = [
            models.UniqueConstraint(fields=["cycle", "decile"], name="cycle_cost_one_per_decile"),
            models.CheckConstraint(
                condition=Q(decile__gte=0, decile__lte=10), name="cycle_cost_decile_range"
            ),
            models.CheckConstraint(
                condition=Q(households__gte=0, members__gte=0, credit_rial__gte=0),
                name="cycle_cost_counts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.decile}"


class CycleBasket(models.Model):
    """The basket difference of one household charged in the last closed cycle: Σ (credit +
    compensation) of its purchases in that cycle, net of reversals (0 if it bought nothing).

    Only the latest closed cycle is kept (the what-if of a phase goes by its behaviour): the
    programme figures' refresh replaces the rows when it refreshes that cycle
    (``services.cycle_cost.record_cycle_baskets``), so a projection joins one row per household
    instead of grouping the month's purchases and probing its charges."""

    pk = models.CompositePrimaryKey("cycle", "household")
    # The primary key's index serves both (one cycle is kept); no index of their own. The
    # household's foreign key is not checked row by row: the rows are copied from that cycle's
    # charges, whose households the ledger's own key already checked (21 million at once).
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+", db_index=False)
    household = models.ForeignKey(
        "households.Household",
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    difference_rial = models.BigIntegerField("تفاوت سبد (ریال)")

    class Meta:
        verbose_name = "سبد خانوار در آخرین دوره بسته"
        verbose_name_plural = "سبدهای خانوارها در آخرین دوره بسته"
        constraints = [
            models.CheckConstraint(
                condition=Q(difference_rial__gte=0), name="cycle_basket_difference_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.household_id}"


class AccountKind(models.TextChoices):
    WALLET = "wallet", "کیف اعتبار خانوار"
    PROGRAMME_FUND = "programme_fund", "منابع طرح"
    INFLATION_FUND = "inflation_fund", "جبران تورم"
    STORE_PAYABLE = "store_payable", "بدهی به فروشگاه"
    SETTLEMENT_CLEARING = "settlement_clearing", "تسویه"


class Account(models.Model):
    """A ledger account. Only wallets keep ``balance_rial`` (checked ``>= 0``); the others' balances
    are derived from their postings (see ``selectors.account_balance``)."""

    kind = models.CharField("نوع", max_length=20, choices=AccountKind.choices)
    # The household is checked per statement by the ledger's trigger (settlements/sql/
    # household_references.sql), not by a foreign key's look-up and row lock per wallet.
    household = models.OneToOneField(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wallet",
        verbose_name="خانوار",
        db_constraint=False,
    )
    store = models.OneToOneField(
        Store,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payable",
        verbose_name="فروشگاه",
    )
    balance_rial = models.BigIntegerField("مانده (ریال)", default=0)

    class Meta:
        verbose_name = "حساب"
        verbose_name_plural = "حساب‌ها"
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_rial__gte=0), name="account_wallet_not_negative"
            ),
            models.CheckConstraint(
                condition=(Q(kind="wallet") & Q(household__isnull=False) & Q(store__isnull=True))
                | (Q(kind="store_payable") & Q(store__isnull=False) & Q(household__isnull=True))
                | (
                    Q(kind__in=["programme_fund", "inflation_fund", "settlement_clearing"])
                    & Q(household__isnull=True, store__isnull=True)
                ),
                name="account_owner_matches_kind",
            ),
            # Non-wallet balances are derived; their column stays 0 so nobody mistakes it for one.
            models.CheckConstraint(
                condition=Q(kind="wallet") | Q(balance_rial=0),
                name="account_only_wallets_keep_balance",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind__in=["programme_fund", "inflation_fund", "settlement_clearing"]),
                name="account_one_of_each_fund",
            ),
        ]

    def __str__(self) -> str:
        owner = self.household_id or self.store_id or ""
        return f"{self.get_kind_display()} {owner}".strip()


class EntryKind(models.TextChoices):
    CYCLE_CHARGE = "cycle_charge", "شارژ دوره"
    BONUS = "bonus", "اعتبار مضاعف"
    PURCHASE = "purchase", "خرید"
    REVERSAL = "reversal", "برگشت"
    EXPIRY = "expiry", "ابطال اعتبار"
    SETTLEMENT = "settlement", "تسویه فروشگاه"
    PAYOUT_RETURNED = "payout_returned", "بازگشت پرداخت ناموفق"


class JournalEntry(models.Model):
    """One money movement: its postings sum to zero. Append-only; corrected by a reversing entry."""

    kind = models.CharField("نوع", max_length=16, choices=EntryKind.choices)
    # Indexes are chosen by hand (every national run inserts millions of entries, and each index
    # costs on every insert): no pattern-ops twin for the key, partial indexes for the columns
    # that are mostly empty, and none where a composite index already leads with the column.
    # The references to configuration rows (cycle, phase, run: never deleted) carry no database
    # foreign key, which would cost a check per inserted entry at commit; reconcile_ledger
    # proves every one of them points at an existing row. The household is checked per statement
    # by a trigger (settlements/sql/household_references.sql), which also keeps a household the
    # ledger names from being deleted: a foreign key's look-up and row lock per entry cost a
    # national run a tenth of its time.
    idempotency_key = models.CharField("کلید یکتایی", max_length=96)
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="خانوار",
        db_index=False,
        db_constraint=False,
    )
    cycle = models.ForeignKey(
        Cycle,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="دوره",
        db_constraint=False,
        db_index=False,
    )
    phase = models.ForeignKey(
        Phase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="مرحله",
        db_constraint=False,
    )
    # The purchase and the entry reversed are checked per statement (settlements/sql/
    # money_partitions.sql), not by foreign keys: both tables are partitioned by month.
    purchase = models.ForeignKey(
        Purchase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="خرید",
        db_index=False,
        db_constraint=False,
    )
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="برگشتِ",
        db_index=False,
        db_constraint=False,
    )
    run = models.ForeignKey(
        "CreditRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="اجرا",
        db_constraint=False,
        db_index=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="کاربر",
        db_index=False,
    )
    created_by_process = models.CharField("فرایند", max_length=64, blank=True)
    memo = models.CharField("شرح", max_length=200, blank=True)
    created_at = models.DateTimeField("زمان", db_index=True)
    # The ledger month (a Jalali month's first day) the entry is filed under; on PostgreSQL the
    # table is partitioned by it. A charge or bonus is filed under its cycle's month and a purchase
    # entry under its purchase's, so each such key can only ever land in one month and the keys
    # below, unique per month, are unique outright; any other entry under the month it was
    # posted in, its key serialised by a lock (services.ledger.post_entry). See
    # settlements.services.partitions.
    period = models.DateField("ماه دفتر", editable=False)

    class Meta:
        verbose_name = "سند حسابداری"
        verbose_name_plural = "اسناد حسابداری"
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key", "period"], name="entry_unique_idempotency_key"
            ),
            # The index of every look-up by household (and cycle, and kind). Its last column is 0
            # for a charge, so a second charge entry naming the same household, cycle and month
            # collides: the one-charge rule of the charges posted an entry a household, before
            # ``Charge`` rows took it over (a run's entry now names no household); and the entry's
            # own id for any other kind, which never collides. A run
            # writes one index entry a charge instead of two (docs/benchmarks.md). A bonus may be
            # posted again after a reversal took it back (at most one IN FORCE, which no unique
            # index can express: the bonus run keys and locks it, reconcile checks it).
            models.UniqueConstraint(
                F("household"),
                F("cycle"),
                F("kind"),
                F("period"),
                Case(
                    When(kind="cycle_charge", then=Value(0)),
                    default=F("id"),
                    output_field=models.BigIntegerField(),
                ),
                name="entry_household_cycle_one_charge",
            ),
            # A charge names its cycle and phase; its households are its ``Charge`` rows (a
            # run's entry charges a chunk of them). A bonus names its one household too.
            models.CheckConstraint(
                condition=~Q(kind__in=["cycle_charge", "bonus"])
                | Q(cycle__isnull=False, phase__isnull=False),
                name="entry_charge_and_bonus_name_cycle_phase",
            ),
            models.CheckConstraint(
                condition=~Q(kind="bonus") | Q(household__isnull=False),
                name="entry_bonus_names_household",
            ),
            models.CheckConstraint(
                condition=~Q(kind="reversal") | Q(reverses__isnull=False),
                name="entry_reversal_names_original",
            ),
        ]
        indexes = [
            models.Index(
                fields=["purchase"], condition=Q(purchase__isnull=False), name="entry_purchase_idx"
            ),
            models.Index(
                fields=["reverses"], condition=Q(reverses__isnull=False), name="entry_reverses_idx"
            ),
            models.Index(
                fields=["created_by"],
                condition=Q(created_by__isnull=False),
                name="entry_created_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Posting(models.Model):
    """One leg of a journal entry: a signed amount on one account (+ credit to it, − debit). Append-only."""

    # Both references are checked by the statement-level ledger trigger (settlements/sql/
    # ledger_triggers.sql) for each inserting statement at once, not by a foreign key's look-up
    # and row lock per posting; entries and accounts refuse DELETE, so what a posting names stays.
    # On PostgreSQL the primary key is (entry, id, period): it serves every look-up of an entry's
    # legs, so no separate index on the entry (two index entries fewer a charge; settlements
    # 0024). SQLite keeps its plain index on the entry.
    entry = models.ForeignKey(
        JournalEntry,
        on_delete=models.PROTECT,
        related_name="postings",
        verbose_name="سند",
        db_constraint=False,
        db_index=False,
    )
    # posting_account_idx (account, id) serves every look-up by account.
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="postings",
        verbose_name="حساب",
        db_index=False,
        db_constraint=False,
    )
    amount_rial = models.BigIntegerField("مبلغ (ریال)")
    # Its entry's month: a posting lives in the same month's partition as its entry, and the
    # ledger trigger refuses one whose (entry, period) names no entry.
    period = models.DateField("ماه دفتر", editable=False)

    class Meta:
        verbose_name = "ردیف سند"
        verbose_name_plural = "ردیف‌های سند"
        constraints = [models.CheckConstraint(condition=~Q(amount_rial=0), name="posting_not_zero")]
        indexes = [models.Index(fields=["account", "id"], name="posting_account_idx")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount_rial}"


class BalanceRollup(models.Model):
    """The balance of a derived-balance account over its postings up to ``up_to_posting_id``.

    A balance is then this figure plus the postings after it: a short index range, not the whole
    history. ``reconcile_ledger`` proves each roll-up equals the postings it covers."""

    account = models.OneToOneField(
        Account, on_delete=models.PROTECT, related_name="rollup", verbose_name="حساب"
    )
    up_to_posting_id = models.BigIntegerField("تا ردیف")
    balance_rial = models.BigIntegerField("مانده (ریال)")
    updated_at = models.DateTimeField("به‌روزرسانی", auto_now=True)

    class Meta:
        verbose_name = "جمع‌بندی مانده"
        verbose_name_plural = "جمع‌بندی مانده‌ها"

    def __str__(self) -> str:
        return f"{self.account}: {self.balance_rial}"


class RunKind(models.TextChoices):
    CYCLE_CHARGE = "cycle_charge", "شارژ دوره"
    BONUS_SWEEP = "bonus_sweep", "بررسی شبانه اعتبار مضاعف"
    EXPIRY = "expiry", "ابطال اعتبار پایان مرحله"


class RunStatus(models.TextChoices):
    PENDING = "pending", "در صف"
    RUNNING = "running", "در حال اجرا"
    COMPLETED = "completed", "پایان‌یافته"
    FAILED = "failed", "ناموفق"


class CreditRun(models.Model):
    """A national batch run (charge, bonus sweep, expiry) with its progress, done in idempotent chunks."""

    kind = models.CharField("نوع", max_length=16, choices=RunKind.choices)
    cycle = models.ForeignKey(
        Cycle,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name="دوره",
    )
    phase = models.ForeignKey(
        Phase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name="مرحله",
    )
    status = models.CharField(
        "وضعیت", max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING
    )
    chunk_size = models.PositiveIntegerField("اندازه هر بخش", default=50_000)
    first_household_id = models.BigIntegerField("نخستین شناسه خانوار", default=0)
    last_household_id = models.BigIntegerField("آخرین شناسه خانوار", default=0)
    chunks_total = models.PositiveIntegerField("تعداد بخش‌ها", default=0)
    chunks_done = models.PositiveIntegerField("بخش‌های انجام‌شده", default=0)
    households_total = models.BigIntegerField("خانوارهای بررسی‌شده", default=0)
    # The households the run credited or debited: one each (a charge chunk is one entry for all
    # of its households, a bonus or an expiry an entry each). The name is the column's.
    entries_created = models.BigIntegerField("خانوارهای ثبت‌شده", default=0)
    amount_rial = models.BigIntegerField("جمع مبلغ (ریال)", default=0)
    failures = models.PositiveIntegerField("خطاها", default=0)
    last_error = models.TextField("آخرین خطا", blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="آغازکننده",
    )
    created_at = models.DateTimeField("ثبت", auto_now_add=True)
    started_at = models.DateTimeField("آغاز", null=True, blank=True)
    finished_at = models.DateTimeField("پایان", null=True, blank=True)
    # The run's last sign of life: its chunks queued (a start or a resume) or one of them done.
    # A running run quiet for RUN_STALL_SECONDS lost its chunks with a dead worker node and is
    # resumed by the beat (``runs.resume_stalled_runs``).
    progress_at = models.DateTimeField("آخرین پیشرفت", null=True, blank=True)

    class Meta:
        verbose_name = "اجرای دسته‌ای"
        verbose_name_plural = "اجراهای دسته‌ای"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.cycle or self.phase or ''}".strip()

    @property
    def progress_percent(self) -> int:
        return 100 if not self.chunks_total else int(100 * self.chunks_done / self.chunks_total)


class RunChunk(models.Model):
    """One primary-key range of a run. Done chunks are skipped on a re-run; the money itself is
    protected by the entries' unique keys, so even a chunk done twice posts nothing twice."""

    # No index of its own: run_chunk_unique_index leads with it.
    run = models.ForeignKey(
        CreditRun,
        on_delete=models.CASCADE,
        related_name="chunks",
        verbose_name="اجرا",
        db_index=False,
    )
    index = models.PositiveIntegerField("شماره")
    from_household_id = models.BigIntegerField("از خانوار")
    to_household_id = models.BigIntegerField("تا خانوار (بدون خودش)")
    done = models.BooleanField("انجام‌شده", default=False)
    households = models.PositiveIntegerField("خانوارها", default=0)
    entries_created = models.PositiveIntegerField("اسناد", default=0)
    amount_rial = models.BigIntegerField("مبلغ (ریال)", default=0)
    attempts = models.PositiveSmallIntegerField("تلاش‌ها", default=0)
    last_error = models.TextField("آخرین خطا", blank=True)
    finished_at = models.DateTimeField("پایان", null=True, blank=True)

    class Meta:
        verbose_name = "بخش اجرا"
        verbose_name_plural = "بخش‌های اجرا"
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="run_chunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.index}"


class LedgerDigest(models.Model):
    """A hash over one day's journal entries and postings in id order, to catch silent edits of history."""

    day = models.DateField("روز", unique=True)
    entries = models.BigIntegerField("تعداد اسناد")
    digest = models.CharField("درهم‌سازی", max_length=64)
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "چکیده روزانه دفتر"
        verbose_name_plural = "چکیده‌های روزانه دفتر"

    def __str__(self) -> str:
        return f"{self.day}: {self.digest[:12]}"
