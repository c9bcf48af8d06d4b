"""Forms of the household portal. Errors are in plain Persian and keep what was typed."""

from typing import Any

from django import forms

from households.models import City, Province


class StoreFinderForm(forms.Form):
    province = forms.ModelChoiceField(
        Province.objects.order_by("name"),
        to_field_name="code",
        required=False,
        label="استان",
        empty_label="همه استان‌ها",
        error_messages={"invalid_choice": "این استان در فهرست نیست؛ از فهرست انتخاب کنید"},
    )
    city = forms.ModelChoiceField(
        City.objects.none(),
        required=False,
        label="شهر",
        empty_label="همه شهرها",
        error_messages={"invalid_choice": "این شهر در استان انتخاب‌شده نیست؛ از فهرست انتخاب کنید"},
    )
    q = forms.CharField(
        required=False, max_length=64, label="نام فروشگاه", help_text="بخشی از نام فروشگاه، اختیاری"
    )
    page = forms.IntegerField(
        required=False, min_value=1, max_value=10_000, widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        code = self.data.get("province") if self.is_bound else None
        province = Province.objects.filter(code=code).first() if code else None
        city_field: Any = self.fields["city"]
        city_field.queryset = cities_for(province)
        self.fields["q"].widget.attrs.update({"autocomplete": "off", "enterkeyhint": "search"})


def cities_for(province: Province | None) -> Any:
    if province is None:
        return City.objects.none()
    return City.objects.filter(province=province).order_by("name")
