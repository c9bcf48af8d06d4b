"""Writes to the registry. Every function is keyword-only, validates, and runs in one transaction."""

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.models import ChangeRequest
from households import selectors, signals
from households.models import (
    AccessToken,
    BankCard,
    City,
    DecileAssignment,
    DecileSource,
    Gender,
    Household,
    ImportReport,
    LoginCode,
    PaymentCode,
    Person,
    Province,
    Relation,
)
from kalabarg.lib.errors import field_error
from kalabarg.lib.identifiers import (
    BANKS_BY_BIN,
    IdentifierError,
    card_hash,
    mask_card,
    normalize_card_number,
    normalize_mobile,
    normalize_national_code,
)
from kalabarg.lib.persian import normalize_text


@dataclass(frozen=True)
class MemberData:
    """What the registry knows of one person, before validation."""

    national_code: str
    first_name: str
    last_name: str
    relation: str
    birth_date: dt.date | None = None
    gender: str = Gender.UNKNOWN
    mobile: str = ""


def _clean_member(data: MemberData) -> dict[str, object]:
    try:
        national_code = normalize_national_code(data.national_code)
    except IdentifierError as exc:
        raise field_error(field="national_code", message=exc.message, code=exc.code) from exc
    mobile = ""
    if data.mobile:
        try:
            mobile = normalize_mobile(data.mobile)
        except IdentifierError as exc:
            raise field_error(field="mobile", message=exc.message, code=exc.code) from exc
    if data.relation not in Relation.values:
        raise field_error(
            field="relation", message="نسبت با سرپرست معتبر نیست", code="relation_invalid"
        )
    if data.relation == Relation.HEAD and not mobile:
        raise field_error(
            field="mobile",
            message="شماره همراه سرپرست خانوار لازم است",
            code="head_mobile_required",
        )
    first_name, last_name = normalize_text(data.first_name), normalize_text(data.last_name)
    if not first_name:
        raise field_error(
            field="first_name", message="نام را وارد کنید", code="first_name_required"
        )
    if not last_name:
        raise field_error(
            field="last_name", message="نام خانوادگی را وارد کنید", code="last_name_required"
        )
    return {
        "national_code": national_code,
        "first_name": first_name,
        "last_name": last_name,
        "relation": data.relation,
        "is_head": data.relation == Relation.HEAD,
        "birth_date": data.birth_date,
        "gender": data.gender,
        "mobile": mobile,
    }


def validate_decile(*, decile: int) -> None:
    if not 1 <= decile <= 10:
        raise field_error(
            field="decile", message="دهک باید عددی از ۱ تا ۱۰ باشد", code="decile_out_of_range"
        )


@transaction.atomic
def register_household(
    *,
    registry_code: str,
    province: Province,
    city: City,
    head: MemberData,
    members: list[MemberData] | None = None,
    decile: int,
    decile_effective_from: dt.date,
    decile_source: str = DecileSource.OFFICER,
    created_by: User | None = None,
) -> Household:
    """Create a household with its head, other members and first decile, all or nothing."""
    if city.province_id != province.pk:
        raise field_error(
            field="city", message="این شهر در استان انتخاب‌شده نیست", code="city_not_in_province"
        )
    if head.relation != Relation.HEAD:
        raise field_error(
            field="relation", message="نخستین عضو باید سرپرست خانوار باشد", code="head_required"
        )
    validate_decile(decile=decile)
    cleaned = [_clean_member(head)] + [_clean_member(member) for member in members or []]
    if sum(1 for person in cleaned if person["is_head"]) != 1:
        raise field_error(
            field="relation", message="هر خانوار دقیقاً یک سرپرست دارد", code="second_head"
        )
    codes = [person["national_code"] for person in cleaned]
    if len(set(codes)) != len(codes) or Person.objects.filter(national_code__in=codes).exists():
        raise field_error(
            field="national_code",
            message="این کد ملی پیش‌تر در خانواری ثبت شده است",
            code="person_in_other_household",
        )
    household = Household.objects.create(registry_code=registry_code, province=province, city=city)
    for person in cleaned:
        Person.objects.create(household=household, **person)
    DecileAssignment.objects.create(
        household=household,
        decile=decile,
        effective_from=decile_effective_from,
        source=decile_source,
        created_by=created_by,
    )
    return household


def check_decile_decision(*, household_id: int, effective_from: dt.date) -> None:
    """Raise ``ValidationError`` if a layer above refuses a decile decision of ``household_id``
    from ``effective_from`` (the money core refuses a date in a closed cycle); forms ask it too."""
    signals.decile_deciding.send(
        sender=DecileAssignment, household_id=household_id, effective_from=effective_from
    )


@transaction.atomic
def assign_decile(
    *,
    household: Household,
    decile: int,
    effective_from: dt.date,
    source: str,
    reason: str,
    created_by: User | None,
    approved_by: User | None = None,
) -> DecileAssignment:
    """Add a decile to the household's history from ``effective_from``; nothing is overwritten.

    ``created_by`` is who decided it; ``approved_by`` the second officer who approved an officer's
    decision set by hand (``households.approvals``), kept on the row beside its author."""
    validate_decile(decile=decile)
    if source not in DecileSource.values:
        raise field_error(
            field="source", message="منبع دهک معتبر نیست", code="decile_source_invalid"
        )
    if source in {DecileSource.OFFICER, DecileSource.OBJECTION} and not reason.strip():
        raise field_error(
            field="reason", message="دلیل تغییر دهک را بنویسید", code="reason_required"
        )
    check_decile_decision(household_id=household.pk, effective_from=effective_from)
    # Rows of one date are ordered by id, so a decision must be the last row of its date. When
    # the same decile and date already stand in the history (unique) behind a later row of
    # another decile, adding nothing would be a silent no-op: refuse it instead.
    Household.objects.select_for_update().filter(pk=household.pk).first()  # one decision at a time
    assignment, _ = DecileAssignment.objects.get_or_create(
        household=household,
        effective_from=effective_from,
        decile=decile,
        defaults={
            "source": source,
            "reason": reason.strip(),
            "created_by": created_by,
            "approved_by": approved_by,
        },
    )
    in_force = selectors.decile_assignment_on(household_id=household.pk, on_date=effective_from)
    if in_force is None or in_force.pk != assignment.pk:
        raise field_error(
            field="effective_from",
            message=(
                "برای این تاریخ دهک دیگری پس از این تصمیم ثبت شده است؛ "
                "تصمیم تازه را از تاریخ دیگری ثبت کنید"
            ),
            code="decile_date_taken",
        )
    transaction.on_commit(
        lambda: signals.decile_decided.send(
            sender=DecileAssignment, household_id=household.pk, effective_from=effective_from
        )
    )
    return assignment


@dataclass(frozen=True)
class CardIdentity:
    """What is kept of a card number (keyed hash, BIN, last four): never the number itself."""

    card_hash: str
    bin: str
    last4: str

    @property
    def masked(self) -> str:
        return mask_card(self.bin, self.last4)


_HASH_FORM = re.compile(r"[0-9a-f]{64}")


def card_identity(*, card_number: str) -> CardIdentity:
    """Validate a typed card number and derive what may be kept of it (``card_number`` field)."""
    try:
        card = normalize_card_number(card_number)
    except IdentifierError as exc:
        raise field_error(field="card_number", message=exc.message, code=exc.code) from exc
    return CardIdentity(
        card_hash=card_hash(card.number, key=settings.CARD_HASH_KEY),
        bin=card.bin,
        last4=card.last4,
    )


def check_card_for(*, person: Person, card: CardIdentity) -> BankCard | None:
    """Refuse a card registered to someone else; return the person's own card if it is theirs
    already. The hash, BIN and last four must have the shape ``card_identity`` gives them."""
    if not (
        _HASH_FORM.fullmatch(card.card_hash)
        and card.bin in BANKS_BY_BIN
        and len(card.last4) == 4
        and card.last4.isascii()
        and card.last4.isdigit()
    ):
        raise field_error(field="card_number", message="شماره کارت معتبر نیست", code="card_invalid")
    existing = BankCard.objects.filter(card_hash=card.card_hash).first()
    if existing is not None and existing.person_id != person.pk:
        raise field_error(
            field="card_number",
            message="این کارت به نام فرد دیگری ثبت شده است",
            code="card_registered_to_other",
        )
    return existing


def register_card_identity(*, person: Person, card: CardIdentity) -> BankCard:
    """Register a card known by its hash, BIN and last four for ``person`` (a card approved by a
    second officer: the request never held the number). A card registered to someone else is
    refused; the person's own card is returned as it is."""
    existing = check_card_for(person=person, card=card)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return BankCard.objects.create(
                person=person, card_hash=card.card_hash, bin=card.bin, last4=card.last4
            )
    except IntegrityError:  # registered concurrently: this person's now, or refused as another's
        existing = check_card_for(person=person, card=card)
        if existing is None:
            raise
        return existing


def register_card(*, person: Person, card_number: str) -> BankCard:
    """Register a bank card for a person, storing only its keyed hash, BIN and last four digits."""
    return register_card_identity(person=person, card=card_identity(card_number=card_number))


def keep_import_report(
    *, change_request: ChangeRequest, file_name: str, report_csv: str, rows: int
) -> ImportReport:
    """Keep the report of an upload applied on approval, for officers to download from the
    request's page (``report_csv`` written by ``importer.write_error_report``: cells made safe)."""
    return ImportReport.objects.create(
        change_request=change_request, file_name=file_name, report_csv=report_csv, rows=rows
    )


# --- Payment codes (card-less purchase) -------------------------------------------------------

PAYMENT_CODE_TTL = dt.timedelta(minutes=10)
MAX_LIVE_PAYMENT_CODES = 3


def payment_code_hash(*, code: str) -> str:
    """Keyed hash of an 8-digit code: without the key, the stored hashes reveal nothing."""
    return hmac.new(
        settings.CARD_HASH_KEY.encode(), f"payment-code:{code}".encode(), hashlib.sha256
    ).hexdigest()


@transaction.atomic
def create_payment_code(*, person: Person) -> tuple[str, PaymentCode]:
    """A new one-time code for the head's household, valid 10 minutes; the code is returned once."""
    if not person.is_head:
        raise field_error(
            field="person", message="فقط سرپرست خانوار می‌تواند کد خرید بسازد", code="not_head"
        )
    now = timezone.now()
    live = PaymentCode.objects.filter(
        household_id=person.household_id, used_at__isnull=True, expires_at__gt=now
    )
    if live.count() >= MAX_LIVE_PAYMENT_CODES:
        raise field_error(
            field="person",
            message="تا پایان اعتبار کدهای قبلی نمی‌توانید کد تازه بسازید",
            code="too_many_payment_codes",
        )
    # Expired, unused codes no longer hold their value: free it for reuse.
    PaymentCode.objects.filter(used_at__isnull=True, expires_at__lte=now).update(used_at=now)
    for _ in range(10):
        code = f"{secrets.randbelow(10**8):08d}"
        try:
            with transaction.atomic():
                record = PaymentCode.objects.create(
                    household_id=person.household_id,
                    created_by=person,
                    code_hash=payment_code_hash(code=code),
                    expires_at=now + PAYMENT_CODE_TTL,
                )
            return code, record
        except IntegrityError:  # this value is live for someone else: draw again
            continue
    raise RuntimeError("could not draw an unused payment code")


def redeem_payment_code(*, code: str) -> PaymentCode | None:
    """Use a live code once (inside the caller's transaction); None if unknown, used or expired."""
    record = (
        PaymentCode.objects.select_for_update()
        .filter(
            code_hash=payment_code_hash(code=code),
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if record is None:
        return None
    record.used_at = timezone.now()
    record.save(update_fields=["used_at"])
    return record


# --- Access tokens (the household app's bearer tokens) -----------------------------------------

ACCESS_TOKEN_TTL = dt.timedelta(hours=12)


def access_token_hash(*, key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue_access_token(
    *, person: Person, ttl: dt.timedelta = ACCESS_TOKEN_TTL
) -> tuple[str, AccessToken]:
    """A new random bearer token for ``person``; the token itself is returned once, only its hash kept."""
    key = secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        person=person, key_hash=access_token_hash(key=key), expires_at=timezone.now() + ttl
    )
    return key, token


def person_for_access_token(*, key: str) -> Person | None:
    """The person a live token belongs to, or None (unknown, expired or revoked)."""
    token = (
        AccessToken.objects.select_related("person__household")
        .filter(
            key_hash=access_token_hash(key=key),
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    return token.person if token else None


def revoke_access_token(*, key: str) -> None:
    AccessToken.objects.filter(key_hash=access_token_hash(key=key), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def end_sign_ins(*, person_ids: Sequence[int]) -> int:
    """End what signed these people in, for when their mobile changed: their API tokens are
    revoked and their live login codes (sent to the old mobile) stop working; their portal
    sessions end by themselves, being bound to the mobile (``kalabarg.portal.auth``). Returns the
    number of tokens revoked."""
    if not person_ids:
        return 0
    now = timezone.now()
    LoginCode.objects.filter(
        person_id__in=person_ids, used_at__isnull=True, expires_at__gt=now
    ).update(attempts=LoginCode.MAX_ATTEMPTS)
    return AccessToken.objects.filter(person_id__in=person_ids, revoked_at__isnull=True).update(
        revoked_at=now
    )


def clean_mobile_for(*, person: Person, mobile: str) -> str:
    """``mobile`` normalized as ``person``'s registered mobile, or the refusal (a head must keep one)."""
    cleaned = ""
    if mobile.strip():
        try:
            cleaned = normalize_mobile(mobile)
        except IdentifierError as exc:
            raise field_error(field="mobile", message=exc.message, code=exc.code) from exc
    if person.is_head and not cleaned:
        raise field_error(
            field="mobile",
            message="شماره همراه سرپرست خانوار لازم است",
            code="head_mobile_required",
        )
    return cleaned


@transaction.atomic
def change_mobile(*, person: Person, mobile: str) -> Person:
    """Give ``person`` a new registered mobile (normalized; a head must keep one). If it differs
    from the stored one, whoever is signed in as them — by the old phone — is signed out."""
    cleaned = clean_mobile_for(person=person, mobile=mobile)
    stored = Person.objects.select_for_update().values_list("mobile", flat=True).get(pk=person.pk)
    person.mobile = cleaned
    if stored != cleaned:
        Person.objects.filter(pk=person.pk).update(mobile=cleaned, updated_at=timezone.now())
        end_sign_ins(person_ids=[person.pk])
    return person
