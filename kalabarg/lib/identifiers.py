"""Validators for Iranian identifiers: national code, bank card, Sheba (IBAN), mobile.

Each ``normalize_*`` function accepts what people type (Persian/Arabic digits, spaces, dashes,
country prefixes), returns the one canonical form that is stored, and raises
:class:`IdentifierError` with a stable machine code and a Persian message otherwise.
"""

import hmac
import re
from dataclasses import dataclass

from kalabarg.lib.persian import to_latin_digits


class IdentifierError(ValueError):
    """An identifier that is not valid. ``code`` is stable for machines, ``message`` is Persian."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_SEPARATORS = re.compile(r"[\s\-_.‌]")


def _digits_only(value: str) -> str:
    return _SEPARATORS.sub("", to_latin_digits(str(value)).strip())


# --- National code (کد ملی) -------------------------------------------------------------------


def national_code_check_digit(first_nine: str) -> int:
    """Weights 10..2 on the first nine digits; r = sum mod 11; check = r if r < 2 else 11 - r."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True)
    )
    remainder = total % 11
    return remainder if remainder < 2 else 11 - remainder


def _check_digit_matches(code: str) -> bool:
    """``national_code_check_digit(code[:9]) == int(code[9])`` for ten ASCII digits, without a
    Python step per digit (the registry import checks a million codes)."""
    b = code.encode("ascii")
    # The digits' code points, less 48 (ASCII "0") times the weights' sum (10 + … + 2 = 54).
    total = b[0] * 10 + b[1] * 9 + b[2] * 8 + b[3] * 7 + b[4] * 6 + b[5] * 5 + b[6] * 4
    total += b[7] * 3 + b[8] * 2 - 48 * 54
    remainder = total % 11
    return (remainder if remainder < 2 else 11 - remainder) == b[9] - 48


def normalize_national_code(value: str) -> str:
    if len(value) == 10 and value.isascii() and value.isdigit():
        code = value  # the usual case: ten ASCII digits, nothing to strip, map or pad
    else:
        code = _digits_only(value)
        if not code:
            raise IdentifierError("national_code_required", "کد ملی را وارد کنید")
        if not (code.isascii() and code.isdigit()):
            raise IdentifierError("national_code_not_digits", "کد ملی فقط باید رقم داشته باشد")
        if len(code) > 10 or len(code) < 8:
            raise IdentifierError("national_code_length", "کد ملی باید ۱۰ رقم باشد")
        code = code.zfill(10)  # some regions' codes start with 00, often written without them
    if code == code[0] * 10:
        raise IdentifierError("national_code_invalid", "کد ملی معتبر نیست")
    if code[3:9] == "000000":
        raise IdentifierError("national_code_invalid", "کد ملی معتبر نیست")
    if not _check_digit_matches(code):
        raise IdentifierError("national_code_invalid", "کد ملی معتبر نیست")
    return code


def is_valid_national_code(value: str) -> bool:
    try:
        normalize_national_code(value)
    except IdentifierError:
        return False
    return True


# --- Bank card (کارت بانکی) ------------------------------------------------------------------

# Shetab BINs (first six digits) of Iranian banks.
BANKS_BY_BIN: dict[str, str] = {
    "603799": "بانک ملی ایران",
    "589210": "بانک سپه",
    "627648": "بانک توسعه صادرات",
    "207177": "بانک توسعه صادرات",
    "627961": "بانک صنعت و معدن",
    "603770": "بانک کشاورزی",
    "639217": "بانک کشاورزی",
    "628023": "بانک مسکن",
    "627760": "پست بانک",
    "502908": "بانک توسعه تعاون",
    "627412": "بانک اقتصاد نوین",
    "622106": "بانک پارسیان",
    "639194": "بانک پارسیان",
    "627884": "بانک پارسیان",
    "502229": "بانک پاسارگاد",
    "639347": "بانک پاسارگاد",
    "627488": "بانک کارآفرین",
    "502910": "بانک کارآفرین",
    "621986": "بانک سامان",
    "639346": "بانک سینا",
    "639607": "بانک سرمایه",
    "636214": "بانک آینده",
    "502806": "بانک شهر",
    "504706": "بانک شهر",
    "502938": "بانک دی",
    "603769": "بانک صادرات ایران",
    "610433": "بانک ملت",
    "991975": "بانک ملت",
    "627353": "بانک تجارت",
    "585983": "بانک تجارت",
    "589463": "بانک رفاه کارگران",
    "505785": "بانک ایران زمین",
    "636949": "بانک حکمت ایرانیان",
    "505416": "بانک گردشگری",
    "606373": "بانک قرض‌الحسنه مهر ایران",
    "639370": "بانک مهر اقتصاد",
    "628157": "مؤسسه اعتباری توسعه",
    "505801": "مؤسسه اعتباری کوثر",
    "606256": "مؤسسه اعتباری ملل",
    "507677": "مؤسسه اعتباری نور",
    "639599": "بانک قوامین",
    "585947": "بانک خاورمیانه",
    "636795": "بانک مرکزی",
    "504172": "بانک قرض‌الحسنه رسالت",
}


def luhn_check_digit(partial: str) -> int:
    """The digit that makes ``partial`` + digit pass the Luhn check (card numbers' last digit)."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:  # doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def luhn_is_valid(number: str) -> bool:
    """True when the last digit is the Luhn check digit of the others."""
    if not number:
        return True  # the empty sum is 0; callers check the length first
    return luhn_check_digit(number[:-1]) == int(number[-1])


@dataclass(frozen=True)
class CardNumber:
    """A validated card number. Only ``bin``, ``last4`` and the keyed hash are ever stored."""

    number: str

    @property
    def bin(self) -> str:
        return self.number[:6]

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def bank(self) -> str:
        return BANKS_BY_BIN[self.bin]

    @property
    def masked(self) -> str:
        return mask_card(self.bin, self.last4)


def normalize_card_number(value: str) -> CardNumber:
    number = _digits_only(value)
    if not number:
        raise IdentifierError("card_required", "شماره کارت را وارد کنید")
    if not (number.isascii() and number.isdigit()):
        raise IdentifierError("card_not_digits", "شماره کارت فقط باید رقم داشته باشد")
    if len(number) != 16:
        raise IdentifierError("card_length", "شماره کارت باید ۱۶ رقم باشد")
    if not luhn_is_valid(number):
        raise IdentifierError("card_invalid", "شماره کارت معتبر نیست؛ رقم‌ها را دوباره بررسی کنید")
    if number[:6] not in BANKS_BY_BIN:
        raise IdentifierError("card_unknown_bank", "این کارت متعلق به هیچ بانک عضو شتاب نیست")
    return CardNumber(number)


def card_hash(number: str, *, key: str) -> str:
    """Keyed hash (HMAC-SHA256) of a full card number: look-ups without storing the number."""
    # hmac.digest: OpenSSL's one-shot HMAC, the same value as hmac.new(…).hexdigest() at a
    # fraction of the cost (the generators hash over a million card numbers).
    return hmac.digest(key.encode(), number.encode(), "sha256").hex()


def mask_card(bin_: str, last4: str) -> str:
    """``6037-99**-****-1234``: shown left to right even on a right-to-left page."""
    return f"{bin_[:4]}-{bin_[4:6]}**-****-{last4}"


# --- Sheba (شبا) -------------------------------------------------------------------------------


_IR_DIGITS = "1827"  # I=18, R=27, per ISO 13616


def sheba_check_digits(bban: str) -> str:
    """The two check digits of an Iranian Sheba whose 22-digit account part is ``bban``."""
    return f"{98 - int(bban + _IR_DIGITS + '00') % 97:02d}"


def normalize_sheba(value: str) -> str:
    raw = _digits_only(value).upper()
    if not raw:
        raise IdentifierError("sheba_required", "شماره شبا را وارد کنید")
    if raw.isdigit() and len(raw) == 24:
        raw = "IR" + raw
    if not re.fullmatch(r"IR[0-9]{24}", raw):
        raise IdentifierError("sheba_format", "شماره شبا باید با IR شروع شود و ۲۴ رقم داشته باشد")
    if sheba_check_digits(raw[4:]) != raw[2:4]:
        raise IdentifierError("sheba_invalid", "شماره شبا معتبر نیست")
    return raw


# --- Mobile (تلفن همراه) ----------------------------------------------------------------------


def normalize_mobile(value: str) -> str:
    if len(value) == 11 and value.startswith("09") and value.isascii() and value.isdigit():
        return value  # the usual case, already as stored
    number = _digits_only(value).replace("(", "").replace(")", "")
    if not number:
        raise IdentifierError("mobile_required", "شماره تلفن همراه را وارد کنید")
    if number.startswith("+"):
        number = number[1:]
    if number.startswith("0098"):
        number = "0" + number[4:]
    elif number.startswith("98") and len(number) == 12:
        number = "0" + number[2:]
    elif number.startswith("9") and len(number) == 10:
        number = "0" + number
    if not re.fullmatch(r"09[0-9]{9}", number):
        raise IdentifierError("mobile_invalid", "شماره همراه باید ۱۱ رقم باشد و با ۰۹ شروع شود")
    return number


def mask_national_code(code: str) -> str:
    """``123****890``: the first three and last three digits, for pages that list members."""
    return f"{code[:3]}****{code[-3:]}"


def mask_mobile(mobile: str) -> str:
    """``0912***4567``: enough for a person to recognise their own number."""
    return f"{mobile[:4]}***{mobile[-4:]}" if len(mobile) == 11 else "***"
