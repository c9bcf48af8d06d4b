"""The household app's JSON API (what the Shoma app shows), one module per area. Views are thin.

Everything under ``me/`` is the signed-in person's own household only; another household's id
is a 404. Error codes and their HTTP statuses live in ``errors``.
"""

from kalabarg.portal.api.me import MeApi
from kalabarg.portal.api.objections import MyObjectionApi, MyObjectionsApi
from kalabarg.portal.api.payment_codes import PaymentCodeApi
from kalabarg.portal.api.preferences import PreferencesApi
from kalabarg.portal.api.purchases import MyPurchaseApi, MyPurchasesApi
from kalabarg.portal.api.sessions import LoginCodeApi, LogoutApi, TokenApi

__all__ = [
    "LoginCodeApi",
    "LogoutApi",
    "MeApi",
    "MyObjectionApi",
    "MyObjectionsApi",
    "MyPurchaseApi",
    "MyPurchasesApi",
    "PaymentCodeApi",
    "PreferencesApi",
    "TokenApi",
]
