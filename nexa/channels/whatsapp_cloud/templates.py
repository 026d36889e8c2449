"""WhatsApp message templates: the business account's list from Meta, and a template send checked against it.

Meta lists templates per WhatsApp Business Account (`GET /{waba_id}/message_templates`), a page at a time.
A send names a template by name and language and fills its placeholders (`{{1}}`, or `{{first_name}}` in
named-parameter templates); Meta refuses a send that does not match the approved version (132000, 132001)
only once the delivery job is running, so the API checks it up front against the synced list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from nexa.channels.base import Credentials, DeliveryError, Template
from nexa.channels.whatsapp_cloud.adapter import api_base_url, call_graph
from nexa.inboxes.models import Inbox
from nexa.kit.errors import UnprocessableEntity
from nexa.kit.lazy_text import _

TEMPLATE_FIELDS = "name,language,status,category,components,id"
PAGE_SIZE = 100
# 10,000 templates, far above what Meta lets one business account have: a paging loop ends here at worst.
MAX_PAGES = 100
APPROVED = "APPROVED"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_MEDIA_HEADERS = {"IMAGE": "image", "VIDEO": "video", "DOCUMENT": "document"}


async def fetch_message_templates(
    inbox: Inbox, credentials: Credentials, http: httpx.AsyncClient
) -> list[dict[str, Any]]:
    """Every template of the inbox's business account, as Meta lists them (all statuses).

    Raises DeliveryError in plain words: `retryable` when trying again later can help.
    """
    business_account_id = inbox.channel_config.get("business_account_id")
    if not business_account_id:
        raise DeliveryError(
            "The inbox has no WhatsApp Business Account ID (business_account_id): add it to sync its templates.",
            retryable=False,
            code="not_configured",
        )
    url = f"{api_base_url(inbox)}/{business_account_id}/message_templates"
    params: dict[str, Any] = {"limit": PAGE_SIZE, "fields": TEMPLATE_FIELDS}
    templates: list[dict[str, Any]] = []
    for _page in range(MAX_PAGES):
        try:
            page = (await call_graph(http, "GET", url, credentials, params=params)).json()
        except DeliveryError as error:
            raise _sync_error(error, str(business_account_id)) from error
        except ValueError as exc:
            raise DeliveryError(
                "WhatsApp answered the template list with something that is not JSON.", retryable=True
            ) from exc
        templates.extend(template for template in page.get("data") or [] if isinstance(template, dict))
        paging = page.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            return templates
        # The next page by its cursor on the inbox's own Graph URL: Meta's `next` link carries the access token
        # in its query string, and a link read from a response is never sent the token.
        params = {**params, "after": after}
    raise DeliveryError(
        f"WhatsApp listed more than {MAX_PAGES} pages of templates: the sync stopped there.", retryable=False
    )


def _sync_error(error: DeliveryError, business_account_id: str) -> DeliveryError:
    # For a listing, "invalid parameter" means the account id names nothing this token can see.
    if error.code == "100":
        return DeliveryError(
            f"WhatsApp does not know the business account {business_account_id}, or the access token cannot see it: "
            "check the WhatsApp Business Account ID.",
            retryable=False,
            code=error.code,
        )
    return error


def _placeholders(text: str | None) -> list[str]:
    """The parameter names of a template text in order of first appearance: "1", "2"... or named ones."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(text or "")))


def _component(template: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The template's component of `kind` (HEADER, BODY, FOOTER, BUTTONS); Meta writes types upper-case."""
    for part in template.get("components") or []:
        if isinstance(part, Mapping) and str(part.get("type", "")).upper() == kind:
            return part
    return None


def check_template_send(templates: Sequence[Mapping[str, Any]], send: Template) -> None:
    """Refuse (422) a send WhatsApp would refuse: an unknown name or language, a template not approved,
    body and header parameters that do not match the approved version, or a link button left unfilled."""
    named = [template for template in templates if template.get("name") == send.name]
    if not named:
        raise UnprocessableEntity(
            _(
                "This inbox has no WhatsApp template named %(name)s: sync the templates or pick another one.",
                name=send.name,
            )
        )
    template = next((t for t in named if t.get("language") == send.language), None)
    if template is None:
        languages = ", ".join(sorted(str(t.get("language")) for t in named))
        raise UnprocessableEntity(
            _(
                "The WhatsApp template %(name)s has no %(language)s version (it has: %(languages)s).",
                name=send.name,
                language=send.language,
                languages=languages,
            )
        )
    status = str(template.get("status") or "").upper()
    if status != APPROVED:
        raise UnprocessableEntity(
            _(
                "The WhatsApp template %(name)s (%(language)s) is not approved by Meta (status %(status)s).",
                name=send.name,
                language=send.language,
                status=status or "?",
            )
        )
    _check_body(template, send)
    _check_header(template, send)
    _check_link_buttons(template, send)


def _given(send: Template, kind: str) -> list[Mapping[str, Any]]:
    return [
        parameter
        for part in send.components
        if str(part.get("type", "")).lower() == kind
        for parameter in part.get("parameters") or []
    ]


def _check_body(template: Mapping[str, Any], send: Template) -> None:
    expected = _placeholders((_component(template, "BODY") or {}).get("text"))
    given = _given(send, "body")
    if len(given) != len(expected):
        raise UnprocessableEntity(
            _(
                "The WhatsApp template %(name)s takes %(expected)s body parameters, not %(given)s.",
                name=send.name,
                expected=len(expected),
                given=len(given),
            )
        )
    if any(not str(parameter.get("text") or "").strip() for parameter in given):
        raise UnprocessableEntity(
            _("Every parameter of the WhatsApp template %(name)s needs a value.", name=send.name)
        )
    if expected and not all(name.isdigit() for name in expected):
        names = sorted(str(parameter.get("parameter_name")) for parameter in given)
        if names != sorted(expected):
            raise UnprocessableEntity(
                _(
                    "The WhatsApp template %(name)s takes the parameters %(expected)s, not %(given)s.",
                    name=send.name,
                    expected=", ".join(sorted(expected)),
                    given=", ".join(names),
                )
            )


def _check_header(template: Mapping[str, Any], send: Template) -> None:
    header = _component(template, "HEADER") or {}
    kind = str(header.get("format") or "").upper()
    needs = _MEDIA_HEADERS.get(kind) or (
        "text" if kind == "TEXT" and _placeholders(header.get("text")) else None
    )
    given = _given(send, "header")
    if needs is None and given:
        raise UnprocessableEntity(
            _("The WhatsApp template %(name)s has no header to fill in.", name=send.name)
        )
    if needs is not None and [parameter.get("type") for parameter in given] != [needs]:
        raise UnprocessableEntity(
            _(
                "The WhatsApp template %(name)s needs its header (%(kind)s) in the send.",
                name=send.name,
                kind=needs,
            )
        )


def _check_link_buttons(template: Mapping[str, Any], send: Template) -> None:
    """A URL button whose link ends in a placeholder needs its value (Meta: 131008); others are static."""
    buttons = (_component(template, "BUTTONS") or {}).get("buttons") or []
    dynamic = [
        index
        for index, button in enumerate(buttons)
        if isinstance(button, Mapping)
        and str(button.get("type", "")).upper() == "URL"
        and _placeholders(button.get("url"))
    ]
    given = {
        str(part.get("index"))
        for part in send.components
        if str(part.get("type", "")).lower() == "button" and part.get("sub_type") == "url"
    }
    missing = [index for index in dynamic if str(index) not in given]
    if missing:
        raise UnprocessableEntity(
            _(
                "The WhatsApp template %(name)s needs the link parameter of its button %(buttons)s.",
                name=send.name,
                buttons=", ".join(str(index + 1) for index in missing),
            )
        )
