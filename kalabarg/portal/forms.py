"""Forms of the household portal. Errors are in plain Persian and keep what was typed."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from households.models import City, Province
from kalabarg.lib.persian import has_control_characters


class TypedChoiceModelField(forms.ModelChoiceField):
    """A model choice whose value a person (or a crafted link) typed: a NUL or other control
    character is refused as "not in the list" before it reaches the database, which would
    refuse NUL with an error (a 500) instead of "no such row"."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and has_control_characters(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class StoreFinderForm(forms.Form):
    province = TypedChoiceModelField(
        Province.objects.order_by("name"),
        to_field_name="code",
        required=False,
        label="استان",
        empty_label="همه استان‌ها",
        error_messages={"invalid_choice": "این استان در فهرست نیست؛ از فهرست انتخاب کنید"},
    )
    city = TypedChoiceModelField(
        City.objects.none(),
        required=False,
        label="شهر",
        empty_label="همه شهرها",
        error_messages={"invalid_choice": "این شهر در استان انتخاب‌شده نیست؛ از فهرست انتخاب کنید"},
    )
    q = forms.CharField(
        required=False,
        max_length=64,
        label="نام فروشگاه",
        help_text="بخشی از نام فروشگاه، اختیاری",
        error_messages={
            "null_characters_not_allowed": "نام فروشگاه نویسه‌های نامعتبر دارد",
            "max_length": "نام فروشگاه حداکثر ۶۴ نویسه است",
        },
    )
    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        widget=forms.HiddenInput,
        error_messages={"invalid": "شماره صفحه باید عددی مثبت باشد"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        province = province_by_code(self.data.get("province") if self.is_bound else None)
        city_field: Any = self.fields["city"]
        city_field.queryset = cities_for(province)
        self.fields["q"].widget.attrs.update({"autocomplete": "off", "enterkeyhint": "search"})

    def clean(self) -> dict[str, Any] | None:
        # The page is a hidden input, so its error would show nowhere: say it above the form.
        if "page" in self.errors:
            for message in self.errors.pop("page"):
                self.add_error(None, message)
        return super().clean()


def province_by_code(code: str | None) -> Province | None:
    """The province of a two-digit code from a form or link; None for anything else (NUL too)."""
    if not code or has_control_characters(code):
        return None
    return Province.objects.filter(code=code).first()


def cities_for(province: Province | None) -> Any:
    if province is None:
        return City.objects.none()
    return City.objects.filter(province=province).order_by("name")


class DescribedFieldsMixin:
    """Points each input at its hint and its error (``aria-describedby``) and marks it invalid.

    The ids match ``portal/_field.html``: ``<id>-hint`` and ``<id>-error``."""

    fields: dict[str, forms.Field]

    def describe_fields(self) -> None:
        form: Any = self
        for name, field in self.fields.items():
            bound = form[name]
            ids = []
            if field.help_text:
                ids.append(f"{bound.id_for_label}-hint")
            if form.is_bound and name in form.errors:
                ids.append(f"{bound.id_for_label}-error")
                field.widget.attrs["aria-invalid"] = "true"
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self.describe_fields()


class LoginForm(DescribedFieldsMixin, forms.Form):
    national_code = forms.CharField(
        label="کد ملی",
        help_text="۱۰ رقم، بدون خط تیره",
        max_length=20,
        error_messages={"required": "کد ملی را وارد کنید"},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "dir": "ltr", "maxlength": 20}
        ),
    )
    mobile = forms.CharField(
        label="شماره تلفن همراه",
        help_text="شماره‌ای که به نام شما ثبت شده است، مانند ۰۹۱۲۱۲۳۴۵۶۷",
        max_length=20,
        error_messages={"required": "شماره تلفن همراه را وارد کنید"},
        widget=forms.TextInput(
            attrs={"type": "tel", "inputmode": "numeric", "autocomplete": "tel", "dir": "ltr"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.describe_fields()


class CodeForm(DescribedFieldsMixin, forms.Form):
    code = forms.CharField(
        label="کد ورود",
        help_text="کد ۶ رقمی‌ای که پیامک شد",
        max_length=12,
        error_messages={"required": "کد ورود را وارد کنید"},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "dir": "ltr",
                "maxlength": 12,
            }
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.describe_fields()


class ObjectionForm(DescribedFieldsMixin, forms.Form):
    category = forms.ChoiceField(
        label="دلیل درخواست",
        choices=[],
        widget=forms.RadioSelect,
        error_messages={
            "required": "یکی از دلیل‌ها را انتخاب کنید",
            "invalid_choice": "یکی از دلیل‌های فهرست را انتخاب کنید",
        },
    )
    description = forms.CharField(
        label="توضیح",
        help_text="کوتاه بنویسید چه چیزی تغییر کرده است؛ حداکثر ۱۰۰۰ نویسه",
        max_length=1000,
        error_messages={
            "required": "توضیح کوتاهی بنویسید",
            "max_length": "توضیح باید حداکثر ۱۰۰۰ نویسه باشد",
        },
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 1000}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from households.models import ObjectionCategory

        super().__init__(*args, **kwargs)
        category: Any = self.fields["category"]
        category.choices = ObjectionCategory.choices
        self.describe_fields()


class PurchaseSmsForm(DescribedFieldsMixin, forms.Form):
    """Whether the head is texted after each purchase and reversal with the household's credit."""

    purchase_sms = forms.ChoiceField(
        label="پیامک پس از هر خرید",
        choices=[
            ("on", "بله، پس از هر خرید و برگشت خرید به سرپرست خانوار پیامک بفرستید"),
            ("off", "نه، پیامک خرید نفرستید"),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "یکی از دو گزینه را انتخاب کنید",
            "invalid_choice": "یکی از دو گزینه را انتخاب کنید",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.describe_fields()
