"""The household & decile registry: who is in which household, and each household's decile over time.

Beside the registry itself (places, households, people, deciles, cards) are the three tables a
head of household's own actions write against it: payment codes, login codes and objections to
a decile. One module on purpose (about 540 lines): each of those names a household or person, and
the registry's deferred checks (one head, references per statement) are read with them."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from kalabarg.lib.identifiers import BANKS_BY_BIN, mask_card, mask_national_code


class Province(models.Model):
    """One of Iran's 31 provinces; reference data loaded by a migration, never created ad hoc."""

    code = models.CharField("کد", max_length=2, unique=True)
    name = models.CharField("نام", max_length=64, unique=True)
    name_en = models.CharField("نام لاتین", max_length=64)

    class Meta:
        verbose_name = "استان"
        verbose_name_plural = "استان‌ها"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class City(models.Model):
    # No index of its own: city_unique_name_in_province leads with it.
    province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        related_name="cities",
        verbose_name="استان",
        db_index=False,
    )
    name = models.CharField("نام", max_length=64)
    is_center = models.BooleanField("مرکز استان", default=False)

    class Meta:
        verbose_name = "شهر"
        verbose_name_plural = "شهرها"
        ordering = ["province__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["province", "name"], name="city_unique_name_in_province"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.province.name})"


class Household(models.Model):
    """A household as the welfare registry knows it; ``registry_code`` is the registry's own id."""

    registry_code = models.CharField("شناسه خانوار", max_length=32)
    # Checked per statement by PostgreSQL triggers, not foreign keys (households/sql/
    # registry_references.sql): a key's check and row lock per household cost a national load.
    # No index of its own: household_place_idx leads with it.
    province = models.ForeignKey(
        Province,
        on_delete=models.PROTECT,
        db_constraint=False,
        verbose_name="استان",
        db_index=False,
    )
    city = models.ForeignKey(
        City, on_delete=models.PROTECT, db_constraint=False, verbose_name="شهر"
    )
    # The head is texted after each purchase and reversal unless the household turns it off in
    # the portal. A database default too: the registry import inserts households in SQL.
    purchase_sms = models.BooleanField("پیامک هر خرید", default=True, db_default=True)
    created_at = models.DateTimeField("ثبت", auto_now_add=True)
    updated_at = models.DateTimeField("به‌روزرسانی", auto_now=True)

    class Meta:
        verbose_name = "خانوار"
        verbose_name_plural = "خانوارها"
        # Unique and look-up indexes are declared here, not with unique=/db_index=, so PostgreSQL
        # gets no unused pattern-ops (LIKE) twin for each: bulk loads write one index less each.
        constraints = [
            models.UniqueConstraint(fields=["registry_code"], name="household_unique_registry_code")
        ]
        indexes = [models.Index(fields=["province", "city"], name="household_place_idx")]

    def __str__(self) -> str:
        return f"خانوار {self.registry_code}"


class Relation(models.TextChoices):
    HEAD = "head", "سرپرست"
    SPOUSE = "spouse", "همسر"
    CHILD = "child", "فرزند"
    PARENT = "parent", "پدر یا مادر"
    OTHER = "other", "سایر"


class Gender(models.TextChoices):
    UNKNOWN = "", "نامشخص"
    MALE = "M", "مرد"
    FEMALE = "F", "زن"


class Person(models.Model):
    """A member of exactly one household. The national code is unique across the country."""

    # No database foreign key: PostgreSQL checks the household per statement instead
    # (households/sql/registry_references.sql); on_delete still cascades in Django's collector.
    household = models.ForeignKey(
        Household,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name="خانوار",
        db_constraint=False,
    )
    national_code = models.CharField("کد ملی", max_length=10)
    first_name = models.CharField("نام", max_length=64)
    last_name = models.CharField("نام خانوادگی", max_length=64)
    birth_date = models.DateField("تاریخ تولد", null=True, blank=True)
    gender = models.CharField(
        "جنسیت", max_length=1, choices=Gender.choices, default=Gender.UNKNOWN, blank=True
    )
    relation = models.CharField("نسبت با سرپرست", max_length=8, choices=Relation.choices)
    is_head = models.BooleanField("سرپرست خانوار", default=False)
    mobile = models.CharField("تلفن همراه", max_length=11, blank=True)
    created_at = models.DateTimeField("ثبت", auto_now_add=True)
    updated_at = models.DateTimeField("به‌روزرسانی", auto_now=True)

    class Meta:
        verbose_name = "فرد"
        verbose_name_plural = "افراد"
        indexes = [models.Index(fields=["mobile"], name="person_mobile_idx")]
        constraints = [
            models.UniqueConstraint(fields=["national_code"], name="person_unique_national_code"),
            # At most one head per household here; "at least one" is a deferred trigger on Postgres.
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(is_head=True),
                name="person_one_head_per_household",
            ),
            models.CheckConstraint(
                condition=(Q(is_head=True) & Q(relation="head"))
                | (Q(is_head=False) & ~Q(relation="head")),
                name="person_head_flag_matches_relation",
            ),
            models.CheckConstraint(
                condition=Q(national_code__regex=r"^[0-9]{10}$"),
                name="person_national_code_10_digits",
            ),
            models.CheckConstraint(
                condition=Q(mobile="") | Q(mobile__regex=r"^09[0-9]{9}$"),
                name="person_mobile_format",
            ),
            models.CheckConstraint(
                condition=Q(is_head=False) | ~Q(mobile=""), name="person_head_has_mobile"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.masked_national_code})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def masked_national_code(self) -> str:
        return mask_national_code(self.national_code)


class DecileSource(models.TextChoices):
    IMPORT = "import", "بارگذاری از سامانه رفاه"
    OBJECTION = "objection", "رسیدگی به اعتراض"
    OFFICER = "officer", "کارشناس"
    GENERATED = "generated", "داده آزمایشی"


class DecileAssignment(models.Model):
    """One entry of a household's decile history. Nothing is overwritten: a change is a new row.

    The decile on date D is the row with the latest ``effective_from`` not after D (ties go to
    the later row), one index scan on ``decile_household_effective_idx``.
    """

    # Checked per statement, as the person's household is.
    # No index of its own: decile_household_effective_idx leads with it.
    household = models.ForeignKey(
        Household,
        on_delete=models.CASCADE,
        related_name="deciles",
        verbose_name="خانوار",
        db_constraint=False,
        db_index=False,
    )
    decile = models.PositiveSmallIntegerField("دهک")
    effective_from = models.DateField("از تاریخ")
    source = models.CharField("منبع", max_length=16, choices=DecileSource.choices)
    reason = models.CharField("دلیل", max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name="ثبت‌کننده",
        db_index=False,
    )
    # The second officer who approved a decile set by hand (four-eyes, ``households.approvals``);
    # empty for the registry's import, an objection's decision and rows from before approvals.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deciles_approved",
        verbose_name="تأییدکننده",
        db_index=False,
    )
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "دهک"
        verbose_name_plural = "سابقه دهک"
        constraints = [
            models.CheckConstraint(
                condition=~Q(approved_by=F("created_by")), name="decile_approver_is_not_author"
            ),
            models.CheckConstraint(
                condition=Q(decile__gte=1) & Q(decile__lte=10), name="decile_between_1_and_10"
            ),
            # Re-importing the same decile for the same date adds nothing.
            models.UniqueConstraint(
                fields=["household", "effective_from", "decile"], name="decile_unique_per_date"
            ),
        ]
        indexes = [
            models.Index(
                fields=["household", "-effective_from", "-id"],
                name="decile_household_effective_idx",
            ),
            # Only a decile set by hand names its officers: the import's, the generator's and an
            # objection's decision leave both empty, and a full index held a NULL for each.
            models.Index(
                fields=["created_by"],
                condition=Q(created_by__isnull=False),
                name="decile_created_by_idx",
            ),
            models.Index(
                fields=["approved_by"],
                condition=Q(approved_by__isnull=False),
                name="decile_approved_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"دهک {self.decile} از {self.effective_from}"


class CardStatus(models.TextChoices):
    ACTIVE = "active", "فعال"
    CLOSED = "closed", "بسته"


class BankCard(models.Model):
    """A bank card of a person. The full number is never stored: a keyed hash finds it again.

    Cards come from an officer (one by one) or from the banks' card-owner feed
    (``households.card_import``), which also closes them; a closed card is refused at the till."""

    # Checked per statement, as the person's household is.
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="cards",
        verbose_name="دارنده",
        db_constraint=False,
    )
    card_hash = models.CharField("درهم‌سازی کارت", max_length=64, editable=False)
    bin = models.CharField("پیش‌شماره", max_length=6)
    last4 = models.CharField("چهار رقم آخر", max_length=4)
    status = models.CharField(
        "وضعیت", max_length=6, choices=CardStatus.choices, default=CardStatus.ACTIVE
    )
    registered_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "کارت بانکی"
        verbose_name_plural = "کارت‌های بانکی"
        constraints = [
            models.UniqueConstraint(fields=["card_hash"], name="card_unique_hash"),
            models.CheckConstraint(condition=Q(bin__regex=r"^[0-9]{6}$"), name="card_bin_6_digits"),
            models.CheckConstraint(
                condition=Q(last4__regex=r"^[0-9]{4}$"), name="card_last4_4_digits"
            ),
            models.CheckConstraint(
                condition=Q(status__in=CardStatus.values), name="card_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return mask_card(self.bin, self.last4)

    @property
    def bank(self) -> str:
        return BANKS_BY_BIN.get(self.bin, "بانک نامشخص")


class PaymentCode(models.Model):
    """A one-time 8-digit code a head creates for card-less purchase (valid minutes, single use).

    Only a keyed hash of the code is stored; at most one unused code per value exists at a time."""

    # No index of its own: payment_code_household_idx leads with it.
    household = models.ForeignKey(
        Household,
        on_delete=models.CASCADE,
        related_name="payment_codes",
        verbose_name="خانوار",
        db_index=False,
    )
    created_by = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="+", verbose_name="سازنده"
    )
    code_hash = models.CharField("درهم‌سازی کد", max_length=64, editable=False)
    created_at = models.DateTimeField("ساخت", auto_now_add=True)
    expires_at = models.DateTimeField("انقضا")
    used_at = models.DateTimeField("استفاده", null=True, blank=True)

    class Meta:
        verbose_name = "کد خرید"
        verbose_name_plural = "کدهای خرید"
        constraints = [
            models.UniqueConstraint(
                fields=["code_hash"],
                condition=Q(used_at__isnull=True),
                name="payment_code_unique_unused",
            ),
        ]
        indexes = [
            models.Index(fields=["household", "-created_at"], name="payment_code_household_idx")
        ]

    def __str__(self) -> str:
        return f"کد خرید {self.pk}"


class AccessToken(models.Model):
    """A signed-in person's API token (the app's bearer token). Only its hash is stored.

    Issued after the one-time SMS login; expires, and is revoked on logout."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="access_tokens", verbose_name="فرد"
    )
    key_hash = models.CharField("درهم‌سازی", max_length=64, editable=False)
    created_at = models.DateTimeField("ساخت", auto_now_add=True)
    expires_at = models.DateTimeField("انقضا")
    revoked_at = models.DateTimeField("ابطال", null=True, blank=True)

    class Meta:
        verbose_name = "نشانه ورود"
        verbose_name_plural = "نشانه‌های ورود"
        constraints = [
            models.UniqueConstraint(fields=["key_hash"], name="access_token_unique_hash")
        ]

    def __str__(self) -> str:
        return f"نشانه {self.pk}"


class LoginCode(models.Model):
    """A one-time 6-digit SMS login code (what Hemayat sends). Only a keyed hash is stored.

    Valid for two minutes, used at most once, and dead after five wrong tries; the guards are
    single guarded UPDATEs, so two requests at once cannot both use it or both spend the last try.
    """

    MAX_ATTEMPTS = 5

    # No index of its own: login_code_person_idx leads with it.
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="login_codes",
        verbose_name="فرد",
        db_index=False,
    )
    code_hash = models.CharField("درهم‌سازی کد", max_length=64, editable=False)
    created_at = models.DateTimeField("ساخت")
    expires_at = models.DateTimeField("انقضا")
    attempts = models.PositiveSmallIntegerField("تلاش‌های نادرست", default=0)
    used_at = models.DateTimeField("استفاده", null=True, blank=True)

    class Meta:
        verbose_name = "کد ورود"
        verbose_name_plural = "کدهای ورود"
        constraints = [
            models.CheckConstraint(
                condition=Q(attempts__gte=0) & Q(attempts__lte=5), name="login_code_attempts_0_5"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="login_code_expires_later"
            ),
        ]
        indexes = [models.Index(fields=["person", "-created_at"], name="login_code_person_idx")]

    def __str__(self) -> str:
        return f"کد ورود {self.pk}"


class ObjectionCategory(models.TextChoices):
    INCOME_FELL = "income_fell", "کاهش درآمد"
    JOB_LOSS = "job_loss", "از دست دادن کار"
    ILLNESS = "illness", "بیماری یا معلولیت"
    WRONG_ASSETS = "wrong_assets", "نادرستی اطلاعات دارایی"
    HOUSEHOLD_CHANGED = "household_changed", "تغییر اعضای خانوار"
    OTHER = "other", "سایر"


class ObjectionStatus(models.TextChoices):
    OPEN = "open", "در حال بررسی"
    ACCEPTED = "accepted", "پذیرفته شد"
    REJECTED = "rejected", "رد شد"


class Objection(models.Model):
    """A household's request to review its decile (درخواست بازبینی دهک), and the officer's decision.

    One open objection per household at a time (a partial unique index). An accepted objection
    names the new decile and the date it applies from, and points at the decile-history row it
    wrote; every decision carries a reason and the officer who made it."""

    # No index of its own: objection_household_idx leads with it.
    household = models.ForeignKey(
        Household,
        on_delete=models.CASCADE,
        related_name="objections",
        verbose_name="خانوار",
        db_index=False,
    )
    filed_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="ثبت‌کننده"
    )
    category = models.CharField("دلیل", max_length=20, choices=ObjectionCategory.choices)
    description = models.TextField("توضیح", max_length=1000)
    decile_at_filing = models.PositiveSmallIntegerField("دهک هنگام ثبت", null=True, blank=True)
    status = models.CharField(
        "وضعیت", max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.OPEN
    )
    created_at = models.DateTimeField("ثبت", auto_now_add=True)
    decided_at = models.DateTimeField("زمان تصمیم", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="تصمیم‌گیرنده",
    )
    decision_reason = models.CharField("دلیل تصمیم", max_length=500, blank=True)
    new_decile = models.PositiveSmallIntegerField("دهک تازه", null=True, blank=True)
    new_decile_from = models.DateField("دهک تازه از تاریخ", null=True, blank=True)
    decile_assignment = models.ForeignKey(
        DecileAssignment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="ردیف سابقه دهک",
    )

    class Meta:
        verbose_name = "درخواست بازبینی دهک"
        verbose_name_plural = "درخواست‌های بازبینی دهک"
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(status="open"),
                name="objection_one_open_per_household",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="open")
                    & Q(decided_at__isnull=True, new_decile__isnull=True, decision_reason="")
                )
                | (
                    Q(status="accepted")
                    & Q(decided_at__isnull=False, new_decile__gte=1, new_decile__lte=10)
                    & Q(new_decile_from__isnull=False)
                    & ~Q(decision_reason="")
                )
                | (
                    Q(status="rejected")
                    & Q(decided_at__isnull=False, new_decile__isnull=True)
                    & ~Q(decision_reason="")
                ),
                name="objection_decision_complete",
            ),
            models.CheckConstraint(condition=~Q(description=""), name="objection_has_description"),
        ]
        indexes = [
            models.Index(fields=["household", "-created_at"], name="objection_household_idx"),
            models.Index(
                fields=["created_at"], condition=Q(status="open"), name="objection_open_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"درخواست بازبینی {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status == ObjectionStatus.OPEN


class ImportReport(models.Model):
    """The report of a bulk upload applied on a second officer's approval (four-eyes): its
    rejected rows (and moved cards) as the CSV officers download from the request's page. Cells
    went through ``kalabarg.lib.spreadsheet.safe_cell`` when it was written."""

    change_request = models.OneToOneField(
        "approvals.ChangeRequest",
        on_delete=models.PROTECT,
        related_name="import_report",
        verbose_name="درخواست تغییر",
    )
    file_name = models.CharField("نام گزارش", max_length=200)
    rows = models.PositiveIntegerField("سطرهای گزارش", default=0)
    report_csv = models.TextField("گزارش (CSV)", blank=True)
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "گزارش بارگذاری"
        verbose_name_plural = "گزارش‌های بارگذاری"

    def __str__(self) -> str:
        return self.file_name
