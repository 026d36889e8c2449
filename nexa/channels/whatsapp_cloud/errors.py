"""Graph API error codes: what each means in plain words and whether trying again can help.

Nexa branches on `error.code`, never on the HTTP status (Meta answers most errors with 400). The words
here are what agents see next to a failed message, so they say what happened and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GraphErrorKind:
    retryable: bool
    reason: str
    # Seconds worth waiting before the next attempt, when Meta suggests one.
    retry_after: float | None = None


_RATE_LIMIT = GraphErrorKind(True, "WhatsApp is throttling this number: it will be sent again shortly.")
_TEMPLATE = GraphErrorKind(False, "WhatsApp refused the template: check its name, language and parameters.")

KNOWN_ERRORS: dict[int, GraphErrorKind] = {
    0: GraphErrorKind(False, "WhatsApp refused the access token: generate a new permanent token and save it on the inbox."),
    1: GraphErrorKind(True, "WhatsApp had a temporary problem: it will be retried."),
    2: GraphErrorKind(True, "WhatsApp is temporarily unavailable: it will be retried."),
    4: GraphErrorKind(True, "The Meta app made too many API calls: it will be retried shortly.", 60.0),
    10: GraphErrorKind(False, "The access token lacks the whatsapp_business_messaging permission."),
    100: GraphErrorKind(False, "WhatsApp rejected a parameter of this message (or the phone number id is wrong)."),
    190: GraphErrorKind(False, "The access token has expired or was revoked: generate a new permanent token and save it on the inbox."),
    200: GraphErrorKind(False, "The access token lacks the permission to send from this number."),
    368: GraphErrorKind(False, "Meta has temporarily blocked this number for policy violations."),
    80007: GraphErrorKind(True, "The WhatsApp Business Account hit Meta's API rate limit: it will be retried shortly.", 60.0),
    130429: _RATE_LIMIT,
    130472: GraphErrorKind(False, "Meta held this message back because the customer is part of a WhatsApp experiment."),
    130497: GraphErrorKind(False, "This business may not message customers in the customer's country."),
    131000: GraphErrorKind(True, "WhatsApp had an unexpected problem: it will be retried."),
    131005: GraphErrorKind(False, "WhatsApp denied access: check the token's permissions."),
    131008: GraphErrorKind(False, "A required field of this message is missing."),
    131009: GraphErrorKind(False, "A field of this message has a value WhatsApp does not accept."),
    131016: GraphErrorKind(True, "WhatsApp is overloaded: it will be retried."),
    131021: GraphErrorKind(False, "The customer's number is the business number itself."),
    131026: GraphErrorKind(False, "The message could not be delivered: the number may not be on WhatsApp, use an old app version or not have accepted WhatsApp's terms."),
    131030: GraphErrorKind(False, "The number is not in the test number's list of allowed recipients: add it in the Meta app or use a production number."),
    131031: GraphErrorKind(False, "The WhatsApp Business Account is locked by Meta."),
    131047: GraphErrorKind(False, "More than 24 hours have passed since the customer last wrote: send an approved template."),
    131048: GraphErrorKind(False, "WhatsApp limited this number because too many of its messages were blocked or reported as spam."),
    131049: GraphErrorKind(False, "Meta chose not to deliver this marketing message to keep the customer's experience healthy: try again later."),
    131050: GraphErrorKind(False, "The customer has stopped marketing messages from this business."),
    131051: GraphErrorKind(False, "WhatsApp does not support this message type."),
    131052: GraphErrorKind(False, "WhatsApp could not download the customer's media."),
    131053: GraphErrorKind(False, "WhatsApp could not download the attachment: check that its link is public and its type supported."),
    131056: GraphErrorKind(True, "Too many messages to this customer in a short time: it will be sent again shortly.", 6.0),
    131057: GraphErrorKind(True, "Meta is upgrading this number's throughput: it will be sent again shortly.", 60.0),
    132000: GraphErrorKind(False, "The template's parameter count does not match its approved version."),
    132001: GraphErrorKind(False, "The template does not exist in this language, or is not approved yet."),
    132005: GraphErrorKind(False, "The template text is too long once its parameters are filled in."),
    132007: GraphErrorKind(False, "The template breaks WhatsApp's content policy."),
    132012: GraphErrorKind(False, "A template parameter has the wrong format."),
    132015: GraphErrorKind(False, "The template is paused by Meta for low quality."),
    132016: GraphErrorKind(False, "The template is disabled by Meta for low quality."),
    133004: GraphErrorKind(True, "The WhatsApp server is temporarily unavailable: it will be retried."),
}


def classify(code: int | None, *, http_status: int, transient: bool = False) -> GraphErrorKind:
    """What to do with a Graph error; unknown codes are judged by the HTTP status (5xx and 429 retry)."""
    if code is not None and code in KNOWN_ERRORS:
        return KNOWN_ERRORS[code]
    if code is not None and 132000 <= code < 133000:
        return _TEMPLATE
    if transient or http_status >= 500 or http_status == 429:
        return GraphErrorKind(True, "WhatsApp is temporarily unavailable: it will be retried.")
    return GraphErrorKind(False, "WhatsApp refused the message.")


def plain_reason(code: int | None, fallback: str | None) -> str | None:
    """Nexa's words for a code it knows; otherwise what Meta said."""
    known = KNOWN_ERRORS.get(code) if code is not None else None
    return known.reason if known else fallback
