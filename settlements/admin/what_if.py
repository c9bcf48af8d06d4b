"""The what-if page beside the phases (``/admin/settlements/phase/what-if/``): the projected monthly
cost of a rule before it is enacted, next to the last closed cycle's actual cost.

Three ways in, all reads (a GET; nothing is written):

- the form, the same as ``manage.py simulate_phase``: a decile range, credit, threshold, bonus,
  basis;
- ``?request=<id>``: a ``phase`` request (a draft phase waiting for approval), its bands and basis
  projected now — its own page shows the projection recorded when it was asked;
- ``?phase=<id>``: a phase's bands and basis (a phase not yet in force, or one to compare with).

Who may see the phases may see this (``settlements.view_phase``): it shows counts and sums, no
household.
"""

from typing import Any

from django import forms
from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from approvals.models import ChangeRequest
from kalabarg.lib.admin_fields import RialField
from kalabarg.lib.persian import to_persian_digits
from settlements.approvals import PHASE
from settlements.models import CreditBasis, Phase
from settlements.services import projection
from settlements.services.rules import BandRule, phase_on
from settlements.what_if_display import cost_table

BASIS_CHOICES = [
    ("member", CreditBasis.PER_MEMBER.label),
    ("household", CreditBasis.PER_HOUSEHOLD.label),
]


class WhatIfForm(forms.Form):
    """The rule to project: one band of deciles with its amounts (``simulate_phase``'s options)."""

    deciles = forms.CharField(
        label="دهک‌ها",
        max_length=10,
        help_text="بازه‌ای مانند ۱-۶، یا یک دهک مانند ۴",
        error_messages={"required": "دهک‌ها را وارد کنید"},
        widget=forms.TextInput(attrs={"dir": "ltr", "size": 6}),
    )
    credit_rial = RialField(label="اعتبار کالابرگ در هر دوره (ریال)")
    threshold_rial = RialField(
        label="آستانه اعتبار مضاعف (ریال)",
        minimum=1,
        below_minimum="آستانه اعتبار مضاعف باید بیشتر از صفر باشد",
    )
    bonus_rial = RialField(label="اعتبار مضاعف (ریال)")
    basis = forms.ChoiceField(label="مبنای اعتبار", choices=BASIS_CHOICES, initial="member")

    def clean_deciles(self) -> tuple[int, int]:
        try:
            return projection.parse_deciles(text=self.cleaned_data["deciles"])
        except ValidationError as exc:
            raise ValidationError(exc.messages, code="deciles_invalid") from exc

    def bands(self) -> list[BandRule]:
        low, high = self.cleaned_data["deciles"]
        return [
            BandRule(
                min_decile=low,
                max_decile=high,
                credit_per_cycle_rial=self.cleaned_data["credit_rial"],
                bonus_threshold_rial=self.cleaned_data["threshold_rial"],
                bonus_amount_rial=self.cleaned_data["bonus_rial"],
            )
        ]


def _initial() -> dict[str, Any]:
    """The form starts from the first band of the phase in force, so an officer changes one figure."""
    phase = phase_on(day=timezone.localdate())
    band = phase.bands.order_by("min_decile").first() if phase is not None else None
    if phase is None or band is None:
        return {"basis": "member"}
    return {
        "deciles": to_persian_digits(f"{band.min_decile}-{band.max_decile}"),
        "credit_rial": band.credit_per_cycle_rial,
        "threshold_rial": band.bonus_threshold_rial,
        "bonus_rial": band.bonus_amount_rial,
        "basis": "member" if phase.basis == CreditBasis.PER_MEMBER else "household",
    }


def _of_request(change_id: str) -> tuple[str, list[BandRule], str] | None:
    change = ChangeRequest.objects.filter(
        pk=change_id if change_id.isdigit() else 0, kind=PHASE
    ).first()
    if change is None or change.payload.get("delete"):
        return None
    bands = [BandRule(**band) for band in change.payload.get("bands", [])]
    return (
        f"درخواست شماره {to_persian_digits(change.pk)}: {change.summary}",
        bands,
        change.payload["basis"],
    )


def _of_phase(phase_id: str) -> tuple[str, list[BandRule], str] | None:
    phase = Phase.objects.filter(pk=phase_id if phase_id.isdigit() else 0).first()
    if phase is None:
        return None
    bands = [
        BandRule(
            min_decile=band.min_decile,
            max_decile=band.max_decile,
            credit_per_cycle_rial=band.credit_per_cycle_rial,
            bonus_threshold_rial=band.bonus_threshold_rial,
            bonus_amount_rial=band.bonus_amount_rial,
            cash_subsidy_rial=band.cash_subsidy_rial,
        )
        for band in phase.bands.order_by("min_decile")
    ]
    return f"مرحله «{phase.name}»", bands, phase.basis


def what_if_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The form, or a draft phase's (a request's) or a phase's bands, projected on this request."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    source = None
    if request.GET.get("request"):
        source = _of_request(request.GET["request"])
    elif request.GET.get("phase"):
        source = _of_phase(request.GET["phase"])
    asked = "deciles" in request.GET
    form = WhatIfForm(request.GET if asked else None, initial=_initial())
    figures, refused = None, ""
    try:
        if source is not None:
            figures = projection.what_if(bands=source[1], basis=source[2])
        elif asked and form.is_valid():
            figures = projection.what_if(bands=form.bands(), basis=form.cleaned_data["basis"])
    except ValidationError as exc:
        refused = "؛ ".join(exc.messages)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "هزینه ماهانه یک قاعده پیش از اجرا",
        "form": form,
        "source": source[0] if source is not None else "",
        "unknown_source": source is None
        and bool(request.GET.get("request") or request.GET.get("phase")),
        "refused": refused,
        "table": cost_table(figures) if figures is not None else "",
    }
    return TemplateResponse(request, "admin/settlements/phase/what_if.html", context)


def what_if_payload(*, bands: list[dict[str, Any]], basis: str) -> dict[str, Any] | None:
    """The what-if a ``phase`` request records when it is asked (None if its bands are refused;
    the request's own check then says why)."""
    try:
        return projection.what_if(bands=[BandRule(**band) for band in bands], basis=basis).as_dict()
    except ValidationError:
        return None
