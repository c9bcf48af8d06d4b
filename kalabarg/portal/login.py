"""The household login (what Hemayat does): national code + mobile, then a 6-digit SMS code.

Used by the web pages and the app API alike, so both get the same rules:

- The answer never says whether a national code exists or the mobile matches: a request for a
  code gets the same message, status and (nearly) the same work either way; a wrong code, an
  expired one, a used one and one that has had its five tries all get the same refusal.
- Rate limits in the cache (Redis in production), keyed so that a stranger cannot lock a person
  out: requests for a code count per IP address and per (national code, mobile) pair — a
  wrong mobile fills only its own pair's bucket, never the person's own; tries of a code count
  per IP address, and against the person only when a live code (sent to their own mobile) was
  tried and was wrong. Counted alike for every national code, existing or not. A new code for
  the same national code and mobile waits 60 seconds.
- Only the code's keyed hash is stored (``households.otp``); the SMS goes out after commit.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction

from households.models import Person
from households.otp import (
    LOGIN_CODE_DIGITS,
    LOGIN_CODE_TTL,
    CodeCheck,
    burn_time_like_a_check,
    check_login_code,
    issue_login_code,
    may_log_in,
)
from kalabarg.lib import ratelimit
from kalabarg.lib.client_address import client_address
from kalabarg.lib.errors import field_error
from kalabarg.lib.identifiers import IdentifierError, normalize_mobile, normalize_national_code
from kalabarg.lib.persian import to_latin_digits, to_persian_digits
from kalabarg.portal import notify

RESEND_WAIT_SECONDS = 60
CODE_TTL_SECONDS = int(LOGIN_CODE_TTL.total_seconds())

# Requests for a code: a person needs a few a day; an attacker spraying national codes from one
# address or one national code from many addresses runs into one of these.
# Keyed by the pair, not the national code alone: requests with wrong mobiles (anyone can send
# them) never use up the person's own (national code, right mobile) allowance.
REQUESTS_PER_PAIR = ratelimit.Limit("otp-request-pair", 5, 60 * 60)
REQUESTS_PER_IP = ratelimit.Limit("otp-request-ip", 20, 60 * 60)
# Tries of a code: five per code (in the database), and these across codes. The per-person one
# counts only wrong tries of a live code — one that went to the person's own mobile — so guesses
# sent while the person has no code cannot lock them out.
VERIFICATIONS_PER_NATIONAL_CODE = ratelimit.Limit("otp-verify-nc", 10, 60 * 60)
VERIFICATIONS_PER_IP = ratelimit.Limit("otp-verify-ip", 40, 60 * 60)

CODE_SENT_MESSAGE = (
    "اگر این شماره همراه به نام این کد ملی ثبت شده باشد، کد ورود ۶ رقمی به آن پیامک شد. "
    "کد تا ۲ دقیقه اعتبار دارد."
)
CODE_INVALID_MESSAGE = (
    "کد ورود درست نیست یا اعتبارش گذشته است. کد را دوباره بخوانید و وارد کنید، یا کد تازه بگیرید."
)


class LoginRefused(Exception):
    """A refusal with a stable code, a Persian message and a wait in seconds. Its HTTP status is
    the web layer's choice (``kalabarg.portal.api.errors.ME_ERROR_CODES``)."""

    def __init__(self, code: str, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class CodeRequested:
    message: str
    resend_after_seconds: int
    expires_in_seconds: int


def clean_national_code(*, value: str) -> str:
    try:
        return normalize_national_code(value)
    except IdentifierError as exc:
        raise field_error(field="national_code", message=exc.message, code=exc.code) from exc


def clean_mobile(*, value: str) -> str:
    try:
        return normalize_mobile(value)
    except IdentifierError as exc:
        raise field_error(field="mobile", message=exc.message, code=exc.code) from exc


def clean_code(*, value: str) -> str:
    code = "".join(to_latin_digits(value or "").split())
    if len(code) != LOGIN_CODE_DIGITS or not (code.isascii() and code.isdigit()):
        raise field_error(
            field="code", message="کد ورود ۶ رقم است؛ آن را از پیامک بخوانید", code="code_format"
        )
    return code


def _wait_message(seconds: int) -> str:
    return f"لطفاً {to_persian_digits(seconds)} ثانیه دیگر دوباره تلاش کنید"


def _limited(limit: ratelimit.Limit, subject: str) -> None:
    _refused_if(ratelimit.hit(limit, subject))


def _refused_if(verdict: ratelimit.Verdict) -> None:
    if not verdict.allowed:
        raise LoginRefused(
            "too_many_requests",
            "درخواست‌های ورود بیش از حد مجاز است. " + _wait_message(verdict.retry_after),
            retry_after=verdict.retry_after,
        )


def request_login_code(*, national_code: str, mobile: str, ip: str) -> CodeRequested:
    """Send a login code if ``mobile`` is registered for ``national_code``; answer the same anyway.

    Raises ``ValidationError`` for a malformed national code or mobile (that says nothing about
    who is registered) and ``LoginRefused`` for a rate limit or the resend wait."""
    code_nc = clean_national_code(value=national_code)
    clean_mob = clean_mobile(value=mobile)
    _limited(REQUESTS_PER_IP, ip)
    wait = ratelimit.hold("otp-resend", f"{code_nc}:{clean_mob}", RESEND_WAIT_SECONDS)
    if wait:
        raise LoginRefused(
            "resend_too_soon",
            "کد ورود تازه فرستاده شده است. " + _wait_message(wait),
            retry_after=wait,
        )
    _limited(REQUESTS_PER_PAIR, f"{code_nc}:{clean_mob}")
    person = Person.objects.filter(national_code=code_nc).first()
    if person is not None and person.mobile == clean_mob and may_log_in(person=person):
        with transaction.atomic():
            code, record = issue_login_code(person=person)
            notify.send_login_code(person=person, code=code, login_code_id=record.pk)
    else:
        burn_time_like_a_check(code="000000")
    return CodeRequested(CODE_SENT_MESSAGE, RESEND_WAIT_SECONDS, CODE_TTL_SECONDS)


def verify_login_code(*, national_code: str, code: str, ip: str) -> Person:
    """The person whose live code this is (the code is used up), or ``LoginRefused``."""
    code_nc = clean_national_code(value=national_code)
    clean = clean_code(value=code)
    _limited(VERIFICATIONS_PER_IP, ip)
    _refused_if(ratelimit.exceeded(VERIFICATIONS_PER_NATIONAL_CODE, code_nc))
    person = Person.objects.select_related("household").filter(national_code=code_nc).first()
    if person is not None and may_log_in(person=person):
        found = check_login_code(person=person, code=clean)
        if found is CodeCheck.USED:
            return person
        if found is CodeCheck.WRONG:
            ratelimit.hit(VERIFICATIONS_PER_NATIONAL_CODE, code_nc)
    else:
        burn_time_like_a_check(code=clean)
    raise LoginRefused("login_code_invalid", CODE_INVALID_MESSAGE)


def client_ip(*, meta: Mapping[str, object]) -> str:
    """The client's address for the per-IP limits: ``X-Forwarded-For`` only from a trusted proxy
    (``kalabarg.lib.client_address``)."""
    return client_address(meta=meta)
