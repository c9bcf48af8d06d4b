"""Login codes (services): issue a 6-digit SMS code for a person, and check one.

A code is stored as HMAC-SHA256 under ``LOGIN_CODE_KEY`` (defaults to ``SECRET_KEY``) of the
person's id and the code, compared in constant time. It expires after two minutes, is used at
most once and dies after five wrong tries; each guard is a single conditional UPDATE, so
concurrent requests cannot both use a code or get a sixth try. Who may log in, rate limits and
the SMS itself are the caller's (``kalabarg.portal.login``).
"""

import datetime as dt
import enum
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from households.models import LoginCode, Person

LOGIN_CODE_TTL = dt.timedelta(minutes=2)
LOGIN_CODE_DIGITS = 6
ADULT_AGE = 18


def login_code_hash(*, person_id: int, code: str) -> str:
    key = (getattr(settings, "LOGIN_CODE_KEY", "") or settings.SECRET_KEY).encode()
    return hmac.new(key, f"login-code:{person_id}:{code}".encode(), hashlib.sha256).hexdigest()


def age_on(*, birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def may_log_in(*, person: Person, today: dt.date | None = None) -> bool:
    """The head, or a member with a registered mobile who is 18 or older by birth date.

    A member whose birth date the registry does not know is not let in: the head is."""
    if not person.mobile:
        return False
    if person.is_head:
        return True
    if person.birth_date is None:
        return False
    return age_on(birth_date=person.birth_date, day=today or timezone.localdate()) >= ADULT_AGE


@transaction.atomic
def issue_login_code(*, person: Person) -> tuple[str, LoginCode]:
    """A fresh 6-digit code for ``person``, valid two minutes; earlier unused codes stop working.

    The code is returned once, for the SMS; only its keyed hash is kept."""
    now = timezone.now()
    LoginCode.objects.filter(person=person, used_at__isnull=True, expires_at__gt=now).update(
        attempts=LoginCode.MAX_ATTEMPTS
    )
    code = f"{secrets.randbelow(10**LOGIN_CODE_DIGITS):0{LOGIN_CODE_DIGITS}d}"
    record = LoginCode.objects.create(
        person=person,
        code_hash=login_code_hash(person_id=person.pk, code=code),
        created_at=now,
        expires_at=now + LOGIN_CODE_TTL,
    )
    return code, record


class CodeCheck(enum.Enum):
    """What a check of a login code found: only a ``WRONG`` code (a live code existed and this
    was not it) counts against the person's limit; with no live code nothing could be guessed."""

    USED = "used"
    WRONG = "wrong"
    NO_LIVE_CODE = "no_live_code"


def check_login_code(*, person: Person, code: str) -> CodeCheck:
    """``USED`` once for the right, live code of ``person``; a wrong code spends one of five tries."""
    now = timezone.now()
    live = LoginCode.objects.filter(
        person=person, used_at__isnull=True, expires_at__gt=now, attempts__lt=LoginCode.MAX_ATTEMPTS
    )
    record = live.order_by("-created_at", "-id").first()
    candidate = login_code_hash(person_id=person.pk, code=code)
    if record is None:
        return CodeCheck.NO_LIVE_CODE
    if hmac.compare_digest(record.code_hash, candidate):
        if live.filter(pk=record.pk).update(used_at=now) == 1:
            return CodeCheck.USED
        return CodeCheck.NO_LIVE_CODE  # a concurrent request used or spent it first
    live.filter(pk=record.pk).update(attempts=F("attempts") + 1)
    return CodeCheck.WRONG


def use_login_code(*, person: Person, code: str) -> bool:
    """True once for the right, live code of ``person``; a wrong code spends one of five tries."""
    return check_login_code(person=person, code=code) is CodeCheck.USED


def burn_time_like_a_check(*, code: str) -> None:
    """The same hashing work as a real check, for a national code with no such person."""
    hmac.compare_digest(login_code_hash(person_id=0, code=code), "0" * 64)
