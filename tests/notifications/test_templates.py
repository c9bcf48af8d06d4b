"""Templates: Persian digits and toman amounts when rendered, and no link can ever be saved."""

import pytest
from django.core.exceptions import ValidationError

from notifications.models import SmsKind, SmsTemplate
from notifications.templating import find_link, render

pytestmark = pytest.mark.django_db


def test_the_five_kinds_are_seeded_in_persian_without_links():
    templates = {t.kind: t.body for t in SmsTemplate.objects.all()}
    assert set(templates) == set(SmsKind.values)
    for body in templates.values():
        assert find_link(body) is None
        assert "کالابرگ" in body


def test_money_renders_in_toman_with_persian_digits_and_separators():
    text = render("{bonus} و دهک {decile}", {"bonus_rial": 1_200_000, "decile": 4})
    assert text == "۱۲۰٬۰۰۰ تومان و دهک ۴"


@pytest.mark.parametrize(
    "link",
    [
        "https://hemayat.mcls.gov.ir",
        "http://example.com/x",
        "HTTPS://EXAMPLE.IR",
        "www.example.com",
        "example.ir",
        "hemayat.mcls.gov.ir",
        "bit.ly/abc",
        "example[.]ir",
        "example . ir",
        "t.me/kalabarg",
        "ｅｘａｍｐｌｅ.ｉｒ",  # full-width letters fold to ASCII
        "۱۹۲.۱۶۸.۱.۱",
        "tel:09121234567",
        "kalabarg.shop",
    ],
)
def test_a_template_with_a_link_is_refused_with_a_field_error(link):
    template = SmsTemplate.objects.get(kind=SmsKind.MONTHLY_BALANCE)
    template.body = f"مانده شما {{balance}} است. ببینید: {link}"
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    errors = caught.value.error_dict["body"]
    assert errors[0].code == "sms_template_has_link"
    assert "پیوند" in errors[0].messages[0]


@pytest.mark.parametrize(
    "text",
    [
        "مانده شما {balance} است.",
        "دهک ۴. سامانه حمایت",
        "۲۰۰٬۰۰۰ تومان. با تشکر",
        "کد: {code}\nاعتبار {minutes} دقیقه",
    ],
)
def test_ordinary_persian_text_is_not_taken_for_a_link(text):
    assert find_link(text) is None


def test_an_unknown_placeholder_is_refused_with_its_code():
    template = SmsTemplate.objects.get(kind=SmsKind.LOGIN_CODE)
    template.body = "کد شما {code} برای {national_code}"
    with pytest.raises(ValidationError) as caught:
        template.full_clean()
    assert caught.value.error_dict["body"][0].code == "sms_template_unknown_placeholder"
