"""The default Persian texts of the SMS kinds (seeded by migrations 0002 and 0005; officers edit them).

No template carries a link: official kalabarg messages never do (anti-phishing rule)."""

TEMPLATES = {
    # The bonus counts kalabarg credit spent in the month (not the basket's price): the text
    # says so (issue 13 §5; migration 0004 replaces the older wording where nobody edited it).
    "decile_notice": (
        "سرپرست گرامی خانوار، شما در دهک {decile} هستید و مشمول طرح کالابرگ شده‌اید. "
        "اعتبار کالابرگ هر ماه {credit} است؛ با خرج کردن {threshold} از اعتبار کالابرگ در همان ماه، "
        "{bonus} اعتبار مضاعف می‌گیرید{basis}. "
        "اطلاعات خانوار خود را در سامانه حمایت ببینید. پیامک‌های رسمی کالابرگ هرگز پیوند ندارند."
    ),
    "bonus_credited": (
        "{amount} اعتبار مضاعف کالابرگ {cycle} به حساب خانوار شما افزوده شد. "
        "این اعتبار فقط برای خرید اقلام سبد کالابرگ است."
    ),
    "objection_decided": (
        "درخواست بازبینی دهک شما بررسی شد: {decision}. دهک خانوار شما اکنون {decile} است. "
        "جزئیات را در سامانه کالابرگ ببینید."
    ),
    "monthly_balance": (
        "مانده اعتبار کالابرگ خانوار شما در {month}: {balance}. "
        "این اعتبار فقط برای خرید اقلام سبد کالابرگ از فروشگاه‌های طرف قرارداد است."
    ),
    "login_code": (
        "کد ورود شما به سامانه کالابرگ: {code}\n"
        "این کد تا {minutes} دقیقه معتبر است. آن را به هیچ‌کس ندهید."
    ),
    "purchase_made": (
        "خرید با کالابرگ خانوار شما در فروشگاه «{store}»: {credit} از اعتبار کالابرگ خرج شد. "
        "مانده اعتبار: {balance}. اگر این خرید را نمی‌شناسید، به بانک صادرکننده کارت خبر دهید."
    ),
    "purchase_reversed": (
        "برگشت خرید کالابرگ در فروشگاه «{store}»: {credit} به اعتبار کالابرگ خانوار شما برگشت. "
        "مانده اعتبار: {balance}."
    ),
}


def ensure_default_templates() -> int:
    """Create any missing template with its default text (never overwrites an officer's edit)."""
    from notifications.models import SmsTemplate

    created = 0
    for kind, body in TEMPLATES.items():
        _, was_created = SmsTemplate.objects.get_or_create(kind=kind, defaults={"body": body})
        created += int(was_created)
    return created
