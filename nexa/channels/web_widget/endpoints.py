"""Chatwoot's public client API (`/public/api/v1/inboxes/{inbox_identifier}/...`), used by the web widget
and by custom chat clients. No account token: the inbox identifier names the inbox, the visitor's
source_id names the visitor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from nexa.auth.dependencies import DbSession, RuntimeDep, request_origin
from nexa.channels.web_widget import service
from nexa.channels.web_widget.schemas import (
    MessageIn,
    PublicConversation,
    PublicMessage,
    TypingIn,
    VisitorIn,
    VisitorOut,
    WidgetEventIn,
    WidgetInbox,
)
from nexa.channels.web_widget.serializers import public_conversation, public_messages, visitor_out, widget_inbox
from nexa.contacts.models import Contact, ContactInbox
from nexa.inboxes.models import Inbox
from nexa.kit.errors import NotFound, TooManyRequests
from nexa.kit.lazy_text import _
from nexa.runtime import Runtime
from nexa.tenancy.models import Account

router = APIRouter(prefix="/public/api/v1/inboxes/{inbox_identifier}", tags=["public client API"])

InboxIdentifier = Annotated[str, Path(max_length=64, description="The inbox's public identifier")]
SourceId = Annotated[str, Path(max_length=255, description="The visitor's source_id from contact creation")]
# New visitors per IP and minute: the public API needs no credentials, so creation is what gets abused.
VISITORS_PER_MINUTE = 30


async def _inbox(inbox_identifier: InboxIdentifier, session: DbSession) -> Inbox:
    return await service.public_inbox(session, inbox_identifier)


PublicInbox = Annotated[Inbox, Depends(_inbox)]


async def _visitor(inbox: PublicInbox, contact_identifier: SourceId, session: DbSession) -> tuple[Contact, ContactInbox]:
    return await service.find_visitor(session, inbox, contact_identifier)


Visitor = Annotated[tuple[Contact, ContactInbox], Depends(_visitor)]


async def _check_visitor_rate(runtime: Runtime, request: Request) -> None:
    key = f"public:visitor:{request_origin(request).ip}"
    wait = await runtime.rate_limiter.hit(key, VISITORS_PER_MINUTE, 60)
    if wait is not None:
        raise TooManyRequests(
            _("Too many new visitors from this address. Try again in %(wait)s seconds.", wait=wait),
            retry_after=wait,
        )


@router.get("", response_model=WidgetInbox)
async def show_inbox(inbox: PublicInbox, session: DbSession) -> WidgetInbox:
    """The widget's settings: name, brand colors and logo, greeting, pre-chat form, business hours."""
    account = await session.get(Account, inbox.account_id)
    if account is None or not account.is_active:
        raise NotFound()
    return widget_inbox(inbox, account)


@router.post("/contacts", response_model=VisitorOut)
async def create_contact(
    body: VisitorIn, inbox: PublicInbox, request: Request, session: DbSession, runtime: RuntimeDep
) -> VisitorOut:
    """A new visitor; keep `source_id` (and `pubsub_token` for realtime) to come back as them."""
    await _check_visitor_rate(runtime, request)
    contact, contact_inbox = await service.create_visitor(session, inbox, body)
    return visitor_out(contact, contact_inbox)


@router.get("/contacts/{contact_identifier}", response_model=VisitorOut)
async def show_contact(visitor: Visitor) -> VisitorOut:
    return visitor_out(*visitor)


@router.patch("/contacts/{contact_identifier}", response_model=VisitorOut)
async def update_contact(body: VisitorIn, visitor: Visitor, session: DbSession) -> VisitorOut:
    contact, contact_inbox = visitor
    await service.update_visitor(session, contact, body)
    return visitor_out(contact, contact_inbox)


@router.get("/contacts/{contact_identifier}/conversations", response_model=list[PublicConversation])
async def list_conversations(visitor: Visitor, session: DbSession) -> list[PublicConversation]:
    contact, contact_inbox = visitor
    return [
        await public_conversation(
            session, conversation, contact, contact_inbox, await service.visible_messages(session, conversation)
        )
        for conversation in await service.visitor_conversations(session, contact_inbox)
    ]


@router.post("/contacts/{contact_identifier}/conversations", response_model=PublicConversation)
async def create_conversation(inbox: PublicInbox, visitor: Visitor, session: DbSession) -> PublicConversation:
    contact, contact_inbox = visitor
    conversation = await service.start_conversation(session, inbox, contact, contact_inbox)
    return await public_conversation(session, conversation, contact, contact_inbox, [])


@router.get(
    "/contacts/{contact_identifier}/conversations/{conversation_id}/messages", response_model=list[PublicMessage]
)
async def list_messages(conversation_id: int, visitor: Visitor, session: DbSession) -> list[PublicMessage]:
    conversation = await service.visitor_conversation(session, visitor[1], conversation_id)
    return await public_messages(session, conversation, await service.visible_messages(session, conversation))


@router.post(
    "/contacts/{contact_identifier}/conversations/{conversation_id}/messages", response_model=PublicMessage
)
async def create_message(
    conversation_id: int, body: MessageIn, inbox: PublicInbox, visitor: Visitor, session: DbSession
) -> PublicMessage:
    contact, contact_inbox = visitor
    conversation = await service.visitor_conversation(session, contact_inbox, conversation_id)
    message = await service.post_message(
        session, inbox, contact, conversation, content=body.content, echo_id=body.echo_id
    )
    await session.refresh(message, ["attachments"])
    return (await public_messages(session, conversation, [message]))[0]


@router.post("/contacts/{contact_identifier}/conversations/{conversation_id}/toggle_typing", status_code=204)
async def toggle_typing(conversation_id: int, body: TypingIn, visitor: Visitor, session: DbSession) -> None:
    contact, contact_inbox = visitor
    conversation = await service.visitor_conversation(session, contact_inbox, conversation_id)
    await service.announce_typing(conversation, contact, body.typing_status == "on")


@router.post("/contacts/{contact_identifier}/conversations/{conversation_id}/update_last_seen", status_code=204)
async def update_last_seen(conversation_id: int, visitor: Visitor, session: DbSession) -> None:
    conversation = await service.visitor_conversation(session, visitor[1], conversation_id)
    service.mark_seen(conversation)


@router.post("/contacts/{contact_identifier}/events", status_code=204)
async def create_event(body: WidgetEventIn, request: Request, visitor: Visitor, session: DbSession) -> None:
    """The widget was opened (`webwidget.triggered`): sent as the `webwidget_triggered` webhook, with the
    visitor, the inbox, their latest conversation and `event_info` (page, pre-chat answers, browser)."""
    service.widget_triggered(
        session, visitor[1], body.event_info,
        user_agent=request.headers.get("user-agent", ""), accept_language=request.headers.get("accept-language", ""),
    )
