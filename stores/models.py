"""The basket, its effective-dated prices, connected stores, their POS terminals, and purchases.

One module on purpose (about 550 lines): a purchase's constraints name its store, terminal,
payer and lines, and the basket's prices are what its lines are checked against; split, each
file would import the others' models to say one rule."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from households.models import City, Household, Person, Province


class ItemUnit(models.TextChoices):
    KILOGRAM = "kg", "کیلوگرم"
    LITRE = "litre", "لیتر"
    EACH = "each", "عدد"
    PACK = "pack", "بسته"


class ItemGroup(models.TextChoices):
    DAIRY = "dairy", "لبنیات"
    PROTEIN = "protein", "پروتئین"
    GROCERIES = "groceries", "خواربار"


class BasketItem(models.Model):
    """One item of the kalabarg basket. Officers add or retire items without a deploy."""

    code = models.SlugField("کد", max_length=32, unique=True)
    name = models.CharField("نام", max_length=64)
    unit = models.CharField("واحد", max_length=8, choices=ItemUnit.choices)
    group = models.CharField("گروه", max_length=16, choices=ItemGroup.choices)
    is_active = models.BooleanField("فعال", default=True)
    display_order = models.PositiveSmallIntegerField("ترتیب نمایش", default=0)

    class Meta:
        verbose_name = "قلم سبد کالا"
        verbose_name_plural = "اقلام سبد کالا"
        ordering = ["display_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[a-z][a-z0-9_]*$"), name="basket_item_code_format"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriceKind(models.TextChoices):
    BASE = "base", "قیمت پایه (۱۴۰۱)"
    CURRENT = "current", "قیمت روز"


class ItemPrice(models.Model):
    """A price of an item from a moment on. Rows are never edited: a change is a new row.

    "The base and current price of X at time T" is the latest row of each kind with
    ``effective_from <= T``, one scan of ``item_price_lookup_idx``.
    """

    # No index of its own: item_price_unique_moment leads with it.
    item = models.ForeignKey(
        BasketItem,
        on_delete=models.PROTECT,
        related_name="prices",
        verbose_name="قلم",
        db_index=False,
    )
    kind = models.CharField("نوع", max_length=8, choices=PriceKind.choices)
    price_rial = models.BigIntegerField("قیمت هر واحد (ریال)")
    effective_from = models.DateTimeField("از")
    reason = models.CharField("دلیل", max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name="ثبت‌کننده",
    )
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "قیمت"
        verbose_name_plural = "قیمت‌ها"
        constraints = [
            models.CheckConstraint(condition=Q(price_rial__gt=0), name="item_price_positive"),
            models.UniqueConstraint(
                fields=["item", "kind", "effective_from"], name="item_price_unique_moment"
            ),
        ]
        indexes = [
            models.Index(fields=["item", "kind", "-effective_from"], name="item_price_lookup_idx")
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.get_kind_display()}: {self.price_rial} ریال از {self.effective_from}"


class StoreStatus(models.TextChoices):
    PENDING = "pending", "در انتظار اتصال"
    CONNECTED = "connected", "متصل"
    SUSPENDED = "suspended", "تعلیق‌شده"


class Store(models.Model):
    """A store connected to the programme; only connected stores can sell basket items."""

    name = models.CharField("نام فروشگاه", max_length=128)
    owner_national_code = models.CharField("کد ملی مالک", max_length=10, db_index=True)
    # The holder of the Sheba account, as the bank's payout file names the payee.
    owner_name = models.CharField("نام صاحب حساب", max_length=128)
    licence_number = models.CharField("شماره پروانه کسب", max_length=32, unique=True)
    tax_code = models.CharField("کد اقتصادی", max_length=16)
    sheba = models.CharField("شماره شبا", max_length=26, db_index=True)
    mobile = models.CharField("تلفن همراه", max_length=11, db_index=True)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, verbose_name="استان")
    city = models.ForeignKey(City, on_delete=models.PROTECT, verbose_name="شهر")
    address = models.CharField("نشانی", max_length=300)
    latitude = models.DecimalField(
        "عرض جغرافیایی", max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        "طول جغرافیایی", max_digits=9, decimal_places=6, null=True, blank=True
    )
    status = models.CharField(
        "وضعیت", max_length=10, choices=StoreStatus.choices, default=StoreStatus.PENDING
    )
    status_reason = models.CharField("دلیل وضعیت", max_length=500, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="تغییر وضعیت توسط",
    )
    status_changed_at = models.DateTimeField("زمان تغییر وضعیت", null=True, blank=True)
    connected_at = models.DateTimeField("تاریخ اتصال", null=True, blank=True)
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "فروشگاه"
        verbose_name_plural = "فروشگاه‌ها"
        constraints = [
            models.CheckConstraint(
                condition=Q(owner_national_code__regex=r"^[0-9]{10}$"),
                name="store_owner_code_10_digits",
            ),
            models.CheckConstraint(
                condition=Q(sheba__regex=r"^IR[0-9]{24}$"), name="store_sheba_format"
            ),
            models.CheckConstraint(condition=~Q(owner_name=""), name="store_owner_name_given"),
            models.CheckConstraint(
                condition=Q(mobile__regex=r"^09[0-9]{9}$"), name="store_mobile_format"
            ),
            models.CheckConstraint(
                condition=~Q(status="suspended") | ~Q(status_reason=""),
                name="store_suspension_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="connected") | Q(connected_at__isnull=False),
                name="store_connected_has_date",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | (Q(latitude__gte=24, latitude__lte=40, longitude__gte=44, longitude__lte=64)),
                name="store_location_in_iran",
            ),
        ]
        indexes = [
            # The store finder: connected stores by name, within a city or a province or the
            # whole country; each index hands rows back already in the page's order (name, id).
            models.Index(
                fields=["name", "id"],
                condition=Q(status="connected"),
                name="store_connected_name_idx",
            ),
            models.Index(
                fields=["province", "name", "id"],
                condition=Q(status="connected"),
                name="store_connected_province_idx",
            ),
            models.Index(
                fields=["city", "name", "id"],
                condition=Q(status="connected"),
                name="store_connected_city_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TerminalStatus(models.TextChoices):
    ACTIVE = "active", "فعال"
    SUSPENDED = "suspended", "تعلیق‌شده"


class Terminal(models.Model):
    """A store's POS terminal. Its API key is shown once and only its hash is stored."""

    terminal_id = models.CharField("شناسه پایانه", max_length=8, unique=True)
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="terminals", verbose_name="فروشگاه"
    )
    psp_name = models.CharField("شرکت پرداخت (PSP)", max_length=64)
    status = models.CharField(
        "وضعیت", max_length=10, choices=TerminalStatus.choices, default=TerminalStatus.ACTIVE
    )
    status_reason = models.CharField("دلیل وضعیت", max_length=500, blank=True)
    api_key_hash = models.CharField("درهم‌سازی کلید", max_length=64, blank=True, editable=False)
    api_key_issued_at = models.DateTimeField("صدور کلید", null=True, blank=True, editable=False)
    # Set when the terminal has sent PAYMENT_CODE_MAX_FAILURES_PER_HOUR wrong payment codes in an
    # hour: its payment-code purchases are refused until then (the count itself is in the cache;
    # this is the officers' flag, written only on the failure path).
    payment_code_blocked_until = models.DateTimeField(
        "توقف کد خرید تا", null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "پایانه فروش"
        verbose_name_plural = "پایانه‌های فروش"
        constraints = [
            models.CheckConstraint(
                condition=Q(terminal_id__regex=r"^[0-9]{8}$"), name="terminal_id_8_digits"
            ),
            models.CheckConstraint(
                condition=~Q(status="suspended") | ~Q(status_reason=""),
                name="terminal_suspension_has_reason",
            ),
        ]
        indexes = [
            # The admin's "payment codes blocked" filter reads only the few flagged terminals.
            models.Index(
                fields=["payment_code_blocked_until"],
                name="terminal_pcode_blocked_idx",
                condition=Q(payment_code_blocked_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.terminal_id} ({self.store})"


class PurchaseStatus(models.TextChoices):
    COMPLETED = "completed", "انجام‌شده"
    REVERSED = "reversed", "برگشت‌خورده"


class PaymentMethod(models.TextChoices):
    CARD = "card", "کارت بانکی"
    PAYMENT_CODE = "payment_code", "کد خرید"


class Purchase(models.Model):
    """What was bought, where, by which household, at which prices. The money split is recorded here
    as figures; the money itself moves in the settlements ledger."""

    # household, store and terminal get no index of their own: the composite indexes below lead
    # with each of them (every purchase writes each index, at hundreds of purchases a second).
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        related_name="purchases",
        verbose_name="خانوار",
        db_index=False,
    )
    payer = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="پرداخت‌کننده"
    )
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        related_name="purchases",
        verbose_name="فروشگاه",
        db_index=False,
    )
    terminal = models.ForeignKey(
        Terminal,
        on_delete=models.PROTECT,
        related_name="purchases",
        verbose_name="پایانه",
        db_index=False,
    )
    idempotency_key = models.CharField("کلید یکتایی", max_length=64)
    request_fingerprint = models.CharField("اثر درخواست", max_length=64)
    paid_with = models.CharField(
        "روش پرداخت", max_length=12, choices=PaymentMethod.choices, default=PaymentMethod.CARD
    )
    card_bin = models.CharField("پیش‌شماره کارت", max_length=6, blank=True)
    card_last4 = models.CharField("چهار رقم آخر کارت", max_length=4, blank=True)
    base_total_rial = models.BigIntegerField("جمع به قیمت پایه (ریال)")
    current_total_rial = models.BigIntegerField("جمع به قیمت روز (ریال)")
    cash_rial = models.BigIntegerField("سهم نقدی خانوار (ریال)")
    credit_rial = models.BigIntegerField("از اعتبار کالابرگ (ریال)")
    compensation_rial = models.BigIntegerField("جبران تورم دولت (ریال)")
    status = models.CharField(
        "وضعیت", max_length=10, choices=PurchaseStatus.choices, default=PurchaseStatus.COMPLETED
    )
    created_at = models.DateTimeField("زمان خرید")
    reversed_at = models.DateTimeField("زمان برگشت", null=True, blank=True)
    # The Jalali month of ``created_at`` in Tehran (kalabarg.lib.partitions.period_of): on
    # PostgreSQL the table is partitioned by it, so every key unique here holds it too
    # (settlements.services.partitions, docs/decisions.md "Month partitions").
    period = models.DateField("ماه", editable=False)

    class Meta:
        verbose_name = "خرید"
        verbose_name_plural = "خریدها"
        constraints = [
            # A retry's answer comes from IdempotencyRecord (unique per terminal and key, not
            # partitioned); this one guards the purchase's own month.
            models.UniqueConstraint(
                fields=["terminal", "idempotency_key", "period"],
                name="purchase_unique_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(
                    base_total_rial__gt=0, current_total_rial__gte=models.F("base_total_rial")
                ),
                name="purchase_totals_sane",
            ),
            models.CheckConstraint(
                condition=Q(cash_rial=models.F("base_total_rial")), name="purchase_cash_is_base"
            ),
            models.CheckConstraint(
                condition=Q(credit_rial__gte=0, compensation_rial__gte=0)
                & Q(
                    credit_rial=models.F("current_total_rial")
                    - models.F("base_total_rial")
                    - models.F("compensation_rial")
                ),
                name="purchase_split_adds_up",
            ),
        ]
        indexes = [
            # The household's purchases newest first (the portal, the officers' household page).
            models.Index(fields=["household", "-created_at"], name="purchase_household_recent_idx"),
            # The officers' purchase list, newest first (``ORDER BY created_at DESC, id DESC``),
            # whole or searched by store, terminal or card's last four, each within a date range
            # too: one index range each, read in the list's order, and the list's capped count
            # (at most 10,001 ids) an index-only scan. The first also serves every time range
            # (the purchase SMS feed's watermark).
            models.Index(fields=["created_at", "id"], name="purchase_created_idx"),
            models.Index(fields=["store", "-created_at", "-id"], name="purchase_store_recent_idx"),
            models.Index(
                fields=["terminal", "-created_at", "-id"], name="purchase_terminal_recent_idx"
            ),
            models.Index(
                fields=["card_last4", "-created_at", "-id"],
                condition=~Q(card_last4=""),
                name="purchase_card_recent_idx",
            ),
            # The day's reversals, for the store settlement (a reversal is settled by its own time).
            models.Index(
                fields=["reversed_at"],
                condition=Q(reversed_at__isnull=False),
                name="purchase_reversed_at_idx",
            ),
            # The few reversed purchases, for the list's status filter.
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(status="reversed"),
                name="purchase_reversed_recent_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"خرید {self.pk}"


class PurchaseLine(models.Model):
    """One basket item of a purchase, with the unit prices in force at the moment of purchase."""

    # References to a purchase carry no database foreign key: purchases are partitioned by month
    # on PostgreSQL, and a key naming them would have to carry the month too. A statement-level
    # trigger checks them instead, and purchases refuse DELETE (settlements/sql/money_partitions.sql).
    # Neither key has an index of its own: the two composite indexes below lead with each.
    purchase = models.ForeignKey(
        Purchase,
        on_delete=models.CASCADE,
        related_name="lines",
        verbose_name="خرید",
        db_constraint=False,
        db_index=False,
    )
    item = models.ForeignKey(
        BasketItem,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="قلم",
        db_index=False,
    )
    quantity = models.DecimalField("مقدار", max_digits=10, decimal_places=3)
    unit_base_price_rial = models.BigIntegerField("قیمت پایه واحد (ریال)")
    unit_current_price_rial = models.BigIntegerField("قیمت روز واحد (ریال)")
    base_amount_rial = models.BigIntegerField("مبلغ به قیمت پایه (ریال)")
    current_amount_rial = models.BigIntegerField("مبلغ به قیمت روز (ریال)")

    class Meta:
        verbose_name = "قلم خرید"
        verbose_name_plural = "اقلام خرید"
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="purchase_line_quantity_positive"
            ),
            models.UniqueConstraint(fields=["purchase", "item"], name="purchase_line_one_per_item"),
        ]
        indexes = [models.Index(fields=["item", "purchase"], name="purchase_line_item_idx")]

    def __str__(self) -> str:
        return f"{self.item_id} × {self.quantity}"


class IdempotencyOperation(models.TextChoices):
    PURCHASE = "purchase", "خرید"
    REVERSAL = "reversal", "برگشت"


class IdempotencyRecord(models.Model):
    """What a POS request with an ``Idempotency-Key`` produced, so a retry gets the same answer.

    Written in the same transaction as the purchase or reversal it answers, so a record exists
    exactly when its effect does. The fingerprint is a keyed hash of the request body (it
    contains a card number), never the body itself."""

    # No index of its own: idempotency_unique_terminal_key leads with it.
    terminal = models.ForeignKey(
        Terminal,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="پایانه",
        db_index=False,
    )
    key = models.CharField("کلید یکتایی", max_length=64)
    operation = models.CharField("عملیات", max_length=10, choices=IdempotencyOperation.choices)
    fingerprint = models.CharField("اثر درخواست", max_length=64)
    purchase = models.ForeignKey(  # checked per statement, as PurchaseLine.purchase
        Purchase,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="خرید",
        db_constraint=False,
    )
    response_status = models.PositiveSmallIntegerField("وضعیت پاسخ")
    response_body = models.JSONField("پاسخ")
    created_at = models.DateTimeField("زمان", auto_now_add=True)

    class Meta:
        verbose_name = "درخواست تکرارناپذیر"
        verbose_name_plural = "درخواست‌های تکرارناپذیر"
        constraints = [
            models.UniqueConstraint(
                fields=["terminal", "key"], name="idempotency_unique_terminal_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.terminal_id}:{self.key}"


class FlagKind(models.TextChoices):
    BASKET_ABOVE_PROVINCE = "basket_above_province", "میانگین خرید بسیار بالاتر از استان"
    CARD_REPEATED = "card_repeated", "خریدهای پرشمار با یک کارت در یک روز"
    FEW_CARDS = "few_cards", "سهم بزرگ فروش از کارت‌های اندک"
    NIGHT_SALES = "night_sales", "فروش در ساعات شب"
    UNDER_LINE_LIMIT = "under_line_limit", "خرید درست زیر سقف هر قلم"


class FlagStatus(models.TextChoices):
    OPEN = "open", "باز"
    CLOSED = "closed", "بسته"


class StoreFlag(models.Model):
    """A store's sales pattern an officer should look at, with the figures that raised it.

    Raised by the nightly anomaly job (``settlements.services.anomalies``); it blocks nothing by
    itself. An officer closes it with a reason; the same pattern seen again later opens a new flag."""

    # No index of its own: store_flag_store_idx leads with it.
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        related_name="flags",
        verbose_name="فروشگاه",
        db_index=False,
    )
    kind = models.CharField("نوع", max_length=24, choices=FlagKind.choices)
    period_from = models.DateField("از روز")
    period_to = models.DateField("تا روز")
    evidence = models.JSONField("شواهد", default=dict)
    status = models.CharField(
        "وضعیت", max_length=8, choices=FlagStatus.choices, default=FlagStatus.OPEN
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="بسته شده توسط",
    )
    closed_at = models.DateTimeField("زمان بستن", null=True, blank=True)
    close_reason = models.CharField("دلیل بستن", max_length=500, blank=True)
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "هشدار فروشگاه"
        verbose_name_plural = "هشدارهای فروشگاه"
        ordering = ["-created_at", "-id"]
        constraints = [
            # The nightly job raises a pattern once while it stays open.
            models.UniqueConstraint(
                fields=["store", "kind"],
                condition=Q(status="open"),
                name="store_flag_one_open_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_by__isnull=True, closed_at__isnull=True)
                | (
                    Q(status="closed", closed_by__isnull=False, closed_at__isnull=False)
                    & ~Q(close_reason="")
                ),
                name="store_flag_closed_with_reason",
            ),
            models.CheckConstraint(
                condition=Q(period_to__gte=models.F("period_from")),
                name="store_flag_period_ordered",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(status="open"),
                name="store_flag_open_recent_idx",
            ),
            models.Index(fields=["store", "-created_at"], name="store_flag_store_idx"),
        ]

    def __str__(self) -> str:
        # The store's name: officers confirm a closing against this line (load ``store`` along).
        return f"{self.get_kind_display()} — {self.store}"
