"""Errors that carry their HTTP meaning, with Chatwoot's real error bodies.

Services raise these; the app turns them into JSON responses. Nothing here knows about FastAPI.
Messages are translatable texts (`raise NotFound(_("This invitation link is invalid or has expired"))`):
`message` is the English text (logs, stored failure reasons, the CLI) and `body(gettext)` the response in
the request's language (nexa/app.py picks it).
"""

from __future__ import annotations

from typing import Any

from nexa.kit.lazy_text import Gettext, LazyText, _, english


class NexaError(Exception):
    status_code = 400
    default_message = _("Bad request")
    # True when the transaction's writes must be committed even though the request fails (audit trails).
    keep_writes = False

    def __init__(self, message: LazyText | None = None, **extra: Any) -> None:
        self.text = message or self.default_message
        self.message = str(self.text)
        self.extra = extra
        super().__init__(self.message)

    def body(self, gettext: Gettext = english) -> dict[str, Any]:
        return {"error": self.text.render(gettext), **self.extra}


class Unauthorized(NexaError):
    status_code = 401
    default_message = _("Invalid Access Token")


class AuthenticationFailed(Unauthorized):
    """A refused login or refresh: the audit row and any revocation written before it are kept."""

    keep_writes = True


class Forbidden(NexaError):
    # Chatwoot answers 401 for policy denials too; clients depend on it.
    status_code = 401
    default_message = _("You are not authorized to do this action")


class NotFound(NexaError):
    status_code = 404
    default_message = _("Resource could not be found")


class Conflict(NexaError):
    status_code = 409
    default_message = _("Conflict")


class ValidationFailed(NexaError):
    """422 in Chatwoot's model-validation shape: {"message": ..., "attributes": [...]}."""

    status_code = 422
    default_message = _("Validation failed")

    def __init__(self, message: LazyText | None = None, attributes: list[str] | None = None) -> None:
        super().__init__(message)
        self.attributes = attributes or []

    def body(self, gettext: Gettext = english) -> dict[str, Any]:
        return {"message": self.text.render(gettext), "attributes": self.attributes}


class UnprocessableEntity(NexaError):
    """422 in Chatwoot's parameter-error shape: {"error": ...}."""

    status_code = 422
    default_message = _("Unprocessable entity")


class ServiceUnavailable(NexaError):
    """503: something Nexa needs (the database) is out of reach for now. Nothing was stored, and the
    client may retry; providers do (Meta, Telegram and Evolution retry any non-2xx webhook)."""

    status_code = 503
    default_message = _("Service temporarily unavailable, please retry")


class TooManyRequests(NexaError):
    status_code = 429
    default_message = _("Too many requests")

    def __init__(self, message: LazyText | None = None, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after
