"""Values every page's template may show (the footer's support line)."""

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    # The programme's support number is deployment configuration, never a made-up default.
    return {"support_phone": settings.SUPPORT_PHONE}
