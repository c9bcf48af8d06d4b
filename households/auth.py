"""``Authorization: Bearer <token>`` for the household app API (tokens come from the SMS login)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, status
from rest_framework.request import Request

from households.models import Person
from households.services import person_for_access_token
from kalabarg.lib.api import ApiError


class HouseholdUser:
    """The request's principal: a registered person, not a Django user account."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, person: Person) -> None:
        self.person = person

    def __str__(self) -> str:
        return f"person {self.person.pk}"


class HouseholdTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[HouseholdUser, str] | None:
        keyword, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if keyword != "Bearer":
            return None
        person = person_for_access_token(key=key.strip())
        if person is None:
            raise ApiError(
                "token_invalid",
                "نشانه ورود نامعتبر یا منقضی است؛ دوباره وارد شوید",
                status_code=status.HTTP_401_UNAUTHORIZED,
            )
        return HouseholdUser(person), key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


def request_person(request: Any) -> Person:
    person: Person = request.user.person
    return person


class HouseholdTokenScheme(OpenApiAuthenticationExtension):
    target_class = "households.auth.HouseholdTokenAuthentication"
    name = "HouseholdToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "the token from POST /api/v1/auth/token/",
        }
