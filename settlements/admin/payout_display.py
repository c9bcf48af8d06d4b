"""How the settlement and payout file pages show amounts, a settlement's story and its lines."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from kalabarg.lib import admin_display as show
from kalabarg.lib.money import format_money
from kalabarg.lib.persian import to_persian_digits
from settlements.models import SettlementLine, SettlementStatus, StoreSettlement

# A settlement's page lists this many of its lines (a store's day can have thousands).
LINES_SHOWN = 100


def both_units(amount: int) -> str:
    """``۳٬۰۰۰٬۰۰۰ ریال (۳۰۰٬۰۰۰ تومان)``: the bank's file is in rials, people think in toman."""
    return f"{show.rial(amount)} ({format_money(amount, unit='toman')})"


def settlement_list_url(**filters: int | str) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return reverse("admin:settlements_storesettlement_changelist") + (f"?{query}" if query else "")


def timeline(settlement: StoreSettlement) -> str:
    """Each step the settlement took, as list items: who and when, and the bank's answer."""
    steps: list[tuple[str, str]] = [
        (
            "ثبت",
            format_html(
                "{} در {}",
                show.when(settlement.created_at),
                show.change_link(settlement.run, f"اجرای تسویه تا {show.when(settlement.cutoff)}"),
            ),
        )
    ]
    if settlement.status == SettlementStatus.HELD:
        steps.append(("نگه‌داشته", "فروشگاه تعلیق بود؛ تا آزادسازی کارشناس پرداخت نمی‌شود"))
    if settlement.released_at is not None:
        who = settlement.released_by.get_username() if settlement.released_by else "—"
        steps.append(("آزادسازی", f"{show.when(settlement.released_at)}، {who}"))
    if settlement.approved_at is not None:
        who = settlement.approved_by.get_username() if settlement.approved_by else "—"
        steps.append(("تأیید", f"{show.when(settlement.approved_at)}، {who}"))
    batch = settlement.payout_batch
    if batch is not None:
        steps.append(
            (
                "ارسال به بانک",
                format_html(
                    '{} در فایل {} (<a href="{}">دریافت فایل</a>)',
                    show.when(settlement.exported_at),
                    show.change_link(batch, batch.file_name),
                    reverse("admin:settlements_payoutbatch_download", args=[batch.pk]),
                ),
            )
        )
    if settlement.status == SettlementStatus.PAID:
        steps.append(
            (
                "پرداخت شد",
                format_html(
                    '{}، شماره پیگیری بانک <span dir="ltr">{}</span>',
                    show.when(settlement.answered_at),
                    settlement.bank_reference,
                ),
            )
        )
    elif settlement.status == SettlementStatus.FAILED:
        steps.append(
            (
                "پرداخت ناموفق",
                format_html(
                    '{}: <strong class="failure-reason">{}</strong>{} — مبلغ به حساب فروشگاه '
                    "بازگشت و در تسویه بعدی پرداخت می‌شود",
                    show.when(settlement.answered_at),
                    settlement.failure_reason,
                    format_html(
                        '، شماره پیگیری بانک <span dir="ltr">{}</span>', settlement.bank_reference
                    )
                    if settlement.bank_reference
                    else "",
                ),
            )
        )
    elif settlement.status == SettlementStatus.CARRIED:
        steps.append(("منتقل به تسویه بعد", "مبلغ صفر یا منفی است و از تسویه بعدی کم می‌شود"))
    return format_html_join("", "<li><strong>{}</strong>: {}</li>", steps)


def settlement_lines(settlement: StoreSettlement) -> str:
    """The first ``LINES_SHOWN`` lines (purchases and reversals) over the (run, store) index,
    and a link to every purchase of the store in the purchases admin."""
    lines = list(
        SettlementLine.objects.filter(run_id=settlement.run_id, store_id=settlement.store_id)
        .order_by("occurred_at", "pk")
        .values_list("kind", "purchase_id", "amount_rial", "occurred_at")[:LINES_SHOWN]
    )
    total = settlement.purchase_count + settlement.reversal_count
    purchases_url = reverse("admin:stores_purchase_changelist") + f"?store={settlement.store_id}"
    heading = format_html(
        "<p>{} ردیف نخست از {} ردیف این تسویه، به ترتیب زمان. "
        '<a href="{}">همه خریدهای این فروشگاه</a></p>',
        show.number(len(lines)),
        show.number(total),
        purchases_url,
    )
    if not lines:
        return format_html("{}<p>این تسویه ردیفی ندارد (تنها مبلغ منتقل‌شده از پیش).</p>", heading)
    rows = format_html_join(
        "",
        '<tr><td>{}</td><td><a href="{}">{}</a></td><td class="amount">{}</td><td>{}</td></tr>',
        (
            (
                "خرید" if kind == "purchase" else "برگشت",
                reverse("admin:stores_purchase_change", args=[purchase_id]),
                to_persian_digits(purchase_id),
                show.rial(amount),
                show.when(occurred_at),
            )
            for kind, purchase_id, amount, occurred_at in lines
        ),
    )
    return format_html(
        '{}<table class="settlement-lines"><thead><tr><th>نوع</th><th>خرید</th><th>مبلغ</th>'
        "<th>زمان</th></tr></thead><tbody>{}</tbody></table>",
        heading,
        rows,
    )
