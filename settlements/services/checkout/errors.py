"""The checkout's refusal: a stable code, a Persian message and maybe the field it is about.

No HTTP status: which status a code answers with is the API's business
(``settlements.api.POS_ERROR_STATUS``)."""


class CheckoutError(Exception):
    """A refusal with a stable code, a Persian message, and maybe the field."""

    def __init__(
        self, code: str, message: str, *, field: str | None = None, retry_after: int = 0
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field
        self.retry_after = retry_after  # seconds, for a refusal that ends by itself
