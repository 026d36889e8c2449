from __future__ import annotations

import json
import mimetypes
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.formparsers import MultiPartException

from nexa.auth.dependencies import AccountContext, DbSession, RuntimeDep, authorize
from nexa.channels import outbound
from nexa.config import Settings
from nexa.contacts import service as contacts
from nexa.contacts.models import ContactInbox
from nexa.contacts.repository import ContactInboxRepository, ContactRepository
from nexa.conversations import messages as message_service
from nexa.conversations.messages import NewAttachment
from nexa.conversations import service
from nexa.conversations.models import Conversation, ConversationStatus, FileType, MessageStatus, MessageType, Priority
from nexa.conversations.repository import (
    AttachmentRepository,
    ConversationLabelRepository,
    ConversationRepository,
    MessageRepository,
    ParticipantRepository,
    filtered,
    sort_conversations,
    with_message_matching,
    with_status,
    with_text_matching,
)
from nexa.conversations.schemas import (
    AgentBotOut,
    AssignmentCreate,
    AttachmentsMeta,
    ConversationAttachments,
    ConversationCounts,
    ConversationCreate,
    ConversationList,
    ConversationListResponse,
    ConversationMetaResponse,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    CustomAttributes,
    LastSeenOut,
    MessageCreate,
    MessageList,
    MessageOut,
    MessageStatusUpdate,
    MessagesMeta,
    TogglePriority,
    ToggleStatus,
    ToggleStatusResponse,
    ToggleStatusResult,
    TypingStatus,
)
from nexa.conversations.serializers import attachment_out, conversation_out, conversations_out, messages_out
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import InboxRepository
from nexa.kit.clock import from_unix, to_unix
from nexa.kit.errors import NexaError, NotFound, UnprocessableEntity
from nexa.kit.filters import FilterRequest
from nexa.kit.lazy_text import _
from nexa.kit.pagination import PageNumber, paginate
from nexa.kit.params import search_term
from nexa.kit.storage import media_store, new_media_key
from nexa.labels.schemas import LabelTitles, LabelTitlesOut
from nexa.auth.repository import MembershipRepository
from nexa.teams.agents import AgentOut, agent_out, memberships_of, require_members
from nexa.teams.schemas import TeamOut, UserIds
from nexa.teams.serializers import team_out
from nexa.tenancy.repository import storable_id

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["conversations"])

ConversationsRead = Annotated[AccountContext, Depends(authorize("conversations:read"))]
ConversationsWrite = Annotated[AccountContext, Depends(authorize("conversations:write"))]
# Chatwoot's BOT_ACCESSIBLE_ENDPOINTS: what an agent bot's token may call.
ConversationsAdmin = Annotated[AccountContext, Depends(authorize("conversations:write", admin=True))]
BotOrMemberWrite = Annotated[AccountContext, Depends(authorize("conversations:write", bots=True))]

CONVERSATIONS_PER_PAGE = 25
AssigneeType = Literal["me", "unassigned", "assigned", "all"]
StatusFilter = Literal["open", "pending", "resolved", "snoozed", "all"]


def _actor(ctx: AccountContext) -> service.Actor:
    return service.Actor(
        user_id=ctx.user.id if ctx.user else None, agent_bot_id=ctx.agent_bot.id if ctx.agent_bot else None
    )


async def _visible(session: AsyncSession, ctx: AccountContext, statement: Select[tuple[Conversation]]) -> Select[tuple[Conversation]]:
    return await service.visible_to(session, statement, ctx.account_id, agent_id=service.agent_id_of(ctx))


async def _conversation(session: AsyncSession, ctx: AccountContext, display_id: int) -> Conversation:
    if not storable_id(display_id):
        raise NotFound()
    repository = ConversationRepository(session, ctx.account_id)
    statement = await _visible(session, ctx, repository.select().where(Conversation.display_id == display_id))
    found = await session.scalar(statement)
    if found is None:
        raise NotFound()
    return found


async def _inbox(session: AsyncSession, conversation: Conversation) -> Inbox:
    return await InboxRepository(session, conversation.account_id).get_or_404(conversation.inbox_id)


async def _filtered(
    session: AsyncSession, ctx: AccountContext, *, status: StatusFilter, inbox_id: int | None, team_id: int | None,
    labels: list[str] | None,
) -> Select[tuple[Conversation]]:
    repository = ConversationRepository(session, ctx.account_id)
    statement = with_status(await _visible(session, ctx, repository.select()), status)
    if inbox_id is not None:
        statement = statement.where(Conversation.inbox_id == inbox_id)
    if team_id is not None:
        statement = statement.where(Conversation.team_id == team_id)
    if labels:
        owners = ConversationLabelRepository(session, ctx.account_id).owners_with_all(labels)
        statement = statement.where(Conversation.id.in_(owners))
    return statement


def _by_assignee(statement: Select[tuple[Conversation]], assignee_type: AssigneeType, user_id: int | None) -> Select[tuple[Conversation]]:
    if assignee_type == "me":
        return statement.where(Conversation.assignee_id == user_id)
    if assignee_type == "unassigned":
        return statement.where(Conversation.assignee_id.is_(None))
    if assignee_type == "assigned":
        return statement.where(Conversation.assignee_id.is_not(None))
    return statement


LabelsQuery = Annotated[list[str] | None, Query(alias="labels[]")]


@router.get("/conversations", response_model=ConversationListResponse)
async def list_conversations(
    ctx: ConversationsRead,
    session: DbSession,
    assignee_type: AssigneeType = "me",
    status: StatusFilter = "open",
    inbox_id: int | None = None,
    team_id: int | None = None,
    labels: LabelsQuery = None,
    sort_by: str | None = None,
    page: PageNumber = 1,
    priority: Priority | None = None,
    q: Annotated[str | None, Query(max_length=255, description="Contact name, email, phone or message text")] = None,
) -> ConversationListResponse:
    """The agent inbox: 25 per page, with the mine / assigned / unassigned / all counts of the filter.
    Nexa also filters by `priority` and by `q` (the contact's name, email or phone, or a message's text)."""
    user_id = ctx.user.id if ctx.user else None
    statement = await _filtered(session, ctx, status=status, inbox_id=inbox_id, team_id=team_id, labels=labels)
    if priority is not None:
        statement = statement.where(Conversation.priority == priority)
    if q and q.strip():
        statement = with_text_matching(statement, q.strip(), ctx.account_id)
    repository = ConversationRepository(session, ctx.account_id)
    counts = await repository.counts(statement, user_id)
    listed = sort_conversations(_by_assignee(statement, assignee_type, user_id), sort_by)
    conversations = await repository.list(paginate(listed, page, CONVERSATIONS_PER_PAGE))
    payload = await conversations_out(session, ctx.account_id, conversations)
    return ConversationListResponse(data=ConversationPage(meta=ConversationCounts(**counts), payload=payload))


@router.get("/conversations/meta", response_model=ConversationMetaResponse)
async def conversation_counts(
    ctx: ConversationsRead,
    session: DbSession,
    status: StatusFilter = "open",
    inbox_id: int | None = None,
    team_id: int | None = None,
    labels: LabelsQuery = None,
) -> ConversationMetaResponse:
    statement = await _filtered(session, ctx, status=status, inbox_id=inbox_id, team_id=team_id, labels=labels)
    counts = await ConversationRepository(session, ctx.account_id).counts(statement, ctx.user.id if ctx.user else None)
    return ConversationMetaResponse(meta=ConversationCounts(**counts))


async def _contact_inbox_for(session: AsyncSession, ctx: AccountContext, body: ConversationCreate) -> tuple[Inbox, ContactInbox]:
    inboxes = InboxRepository(session, ctx.account_id)
    contact_inboxes = ContactInboxRepository(session, ctx.account_id)
    if body.source_id:
        if body.inbox_id is None:
            raise UnprocessableEntity(_("inbox_id is required with source_id"))
        inbox = await inboxes.get_or_404(body.inbox_id)
        contact_inbox = await contact_inboxes.get_by_source(inbox.id, body.source_id)
        if contact_inbox is None:
            raise NotFound()
        return inbox, contact_inbox
    if body.inbox_id is None or body.contact_id is None:
        raise UnprocessableEntity(_("Send source_id, or inbox_id and contact_id"))
    inbox = await inboxes.get_or_404(body.inbox_id)
    contact = await ContactRepository(session, ctx.account_id).get_or_404(body.contact_id)
    return inbox, await contacts.find_or_create_contact_inbox(session, contact, inbox)


@router.post("/conversations", response_model=ConversationOut)
async def create_conversation(body: ConversationCreate, ctx: BotOrMemberWrite, session: DbSession) -> ConversationOut:
    """Starts a conversation (or, when the inbox locks contacts to one, returns their latest), optionally
    with a first outgoing message. Without `status` it starts pending when the inbox has a bot, else open."""
    inbox, contact_inbox = await _contact_inbox_for(session, ctx, body)
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_inbox.contact_id)
    existing = (
        await ConversationRepository(session, ctx.account_id).latest_for_contact_inbox(contact_inbox.id)
        if inbox.lock_to_single_conversation
        else None
    )
    conversation = existing or await service.create_conversation(
        session,
        inbox=inbox,
        contact=contact,
        contact_inbox=contact_inbox,
        status=ConversationStatus(body.status) if body.status else None,
        assignee_id=body.assignee_id,
        team_id=body.team_id,
        snoozed_until=from_unix(body.snoozed_until),
        additional_attributes=body.additional_attributes,
        custom_attributes=body.custom_attributes,
        actor=_actor(ctx),
    )
    if body.message is not None:
        await message_service.create_message(
            session, conversation, inbox=inbox, message_type=MessageType.outgoing, content=body.message.content,
            sender=message_service.Sender.of(_actor(ctx)),
        )
    return await conversation_out(session, conversation)


@router.get("/conversations/search", response_model=ConversationListResponse)
async def search_conversations(
    ctx: ConversationsRead,
    session: DbSession,
    q: Annotated[str, Query(min_length=1, max_length=255, description="Text to find in message content")],
    page: PageNumber = 1,
) -> ConversationListResponse:
    """Conversations with a message containing `q` (case-insensitive), most recent activity first."""
    repository = ConversationRepository(session, ctx.account_id)
    statement = with_message_matching(await _visible(session, ctx, repository.select()), search_term(q), ctx.account_id)
    counts = await repository.counts(statement, ctx.user.id if ctx.user else None)
    conversations = await repository.list(paginate(sort_conversations(statement, None), page, CONVERSATIONS_PER_PAGE))
    payload = await conversations_out(session, ctx.account_id, conversations)
    return ConversationListResponse(data=ConversationPage(meta=ConversationCounts(**counts), payload=payload))


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
async def show_conversation(conversation_id: int, ctx: ConversationsRead, session: DbSession) -> ConversationOut:
    return await conversation_out(session, await _conversation(session, ctx, conversation_id))


@router.patch("/conversations/{conversation_id}", response_model=ConversationOut)
async def update_conversation(
    conversation_id: int, body: ConversationUpdate, ctx: BotOrMemberWrite, session: DbSession
) -> ConversationOut:
    """Only `priority` may change here (as in Chatwoot)."""
    conversation = await _conversation(session, ctx, conversation_id)
    if "priority" in body.model_fields_set:
        await service.set_priority(session, conversation, body.priority, actor=_actor(ctx))
    return await conversation_out(session, conversation)


@router.post("/conversations/{conversation_id}/toggle_status", response_model=ToggleStatusResponse)
async def toggle_status(
    conversation_id: int, body: ToggleStatus, ctx: BotOrMemberWrite, session: DbSession
) -> ToggleStatusResponse:
    """Without `status`: open <-> resolved, pending and snoozed become open. A human agent who opens an
    unassigned conversation takes it. Snoozing needs `snoozed_until` (unix time)."""
    conversation = await _conversation(session, ctx, conversation_id)
    await service.toggle_status(
        session, conversation, body.status, actor=_actor(ctx), inbox=await _inbox(session, conversation),
        snoozed_until=from_unix(body.snoozed_until),
    )
    return ToggleStatusResponse(
        meta={},
        payload=ToggleStatusResult(
            success=True,
            conversation_id=conversation.display_id,
            current_status=conversation.status.value,
            snoozed_until=to_unix(conversation.snoozed_until),
        ),
    )


@router.post("/conversations/{conversation_id}/toggle_priority", status_code=200, response_class=Response)
async def toggle_priority(conversation_id: int, body: TogglePriority, ctx: BotOrMemberWrite, session: DbSession) -> Response:
    """Sets the priority; omit it or send null to clear it."""
    await service.set_priority(
        session, await _conversation(session, ctx, conversation_id), body.priority, actor=_actor(ctx)
    )
    return Response(status_code=200)


@router.post("/conversations/{conversation_id}/custom_attributes", response_model=CustomAttributes)
async def replace_custom_attributes(
    conversation_id: int, body: CustomAttributes, ctx: BotOrMemberWrite, session: DbSession
) -> CustomAttributes:
    """Replaces the whole custom_attributes object."""
    conversation = await _conversation(session, ctx, conversation_id)
    await service.replace_custom_attributes(session, conversation, body.custom_attributes)
    return CustomAttributes(custom_attributes=conversation.custom_attributes)


@router.post("/conversations/{conversation_id}/assignments", response_model=AgentOut | AgentBotOut | TeamOut | None)
async def create_assignment(
    conversation_id: int, body: AssignmentCreate, ctx: BotOrMemberWrite, session: DbSession
) -> AgentOut | AgentBotOut | TeamOut | None:
    """`{assignee_id}` assigns an agent (null unassigns), `{assignee_id, assignee_type:"AgentBot"}` a bot,
    `{team_id}` a team. Answers with what was assigned, or null."""
    conversation = await _conversation(session, ctx, conversation_id)
    sent = body.model_fields_set
    if "assignee_id" in sent and body.assignee_type == "AgentBot" and body.assignee_id is not None:
        bot = await service.assign_agent_bot(session, conversation, body.assignee_id)
        return AgentBotOut(id=bot.id, name=bot.name, description=bot.description, thumbnail=bot.avatar_url or "",
                           outgoing_url=bot.outgoing_url, bot_type=bot.bot_type)
    if "assignee_id" in sent:
        membership = await service.assign_agent(
            session, conversation, body.assignee_id, inbox=await _inbox(session, conversation), actor=_actor(ctx)
        )
        return agent_out(membership) if membership else None
    if "team_id" in sent:
        team = await service.assign_team(session, conversation, body.team_id, actor=_actor(ctx))
        return team_out(team, is_member=False) if team else None
    return None


@router.get("/conversations/{conversation_id}/labels", response_model=LabelTitlesOut)
async def list_conversation_labels(conversation_id: int, ctx: ConversationsRead, session: DbSession) -> LabelTitlesOut:
    conversation = await _conversation(session, ctx, conversation_id)
    return LabelTitlesOut(payload=await ConversationLabelRepository(session, ctx.account_id).titles(conversation.id))


@router.post("/conversations/{conversation_id}/labels", response_model=LabelTitlesOut)
async def replace_conversation_labels(
    conversation_id: int, body: LabelTitles, ctx: ConversationsWrite, session: DbSession
) -> LabelTitlesOut:
    """Makes the conversation's labels exactly `labels`."""
    conversation = await _conversation(session, ctx, conversation_id)
    return LabelTitlesOut(payload=await service.replace_labels(session, conversation, body.labels, actor=_actor(ctx)))


@router.get("/conversations/{conversation_id}/messages", response_model=MessageList)
async def list_messages(
    conversation_id: int,
    ctx: ConversationsRead,
    session: DbSession,
    before: Annotated[int | None, Query(description="20 messages older than this message id")] = None,
    after: Annotated[int | None, Query(description="Up to 100 messages newer than this message id")] = None,
) -> MessageList:
    conversation = await _conversation(session, ctx, conversation_id)
    messages = await MessageRepository(session, ctx.account_id).page(conversation.id, before=before, after=after)
    summary = await conversation_out(session, conversation)
    return MessageList(
        meta=MessagesMeta(
            labels=summary.labels,
            additional_attributes=conversation.additional_attributes,
            contact=summary.meta.sender,
            assignee=summary.meta.assignee,
            agent_last_seen_at=to_unix(conversation.agent_last_seen_at),
            assignee_last_seen_at=to_unix(conversation.assignee_last_seen_at),
        ),
        payload=await messages_out(session, conversation, messages),
    )


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested models written in place (no components to register)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


_MESSAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline_schema(MessageCreate)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "description": "The JSON fields as form fields (objects as JSON strings), plus the files.",
                    "properties": {"attachments[]": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            },
        },
    }
}
_JSON_FORM_FIELDS = ("content_attributes", "additional_attributes", "template_params")
MAX_ATTACHMENTS = 10


async def _message_request(request: Request) -> tuple[MessageCreate, list[UploadFile]]:
    """JSON, or Chatwoot's multipart form with `attachments[]` files."""
    uploads: list[UploadFile] = []
    try:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form(max_files=MAX_ATTACHMENTS)
            raw: Any = {}
            for name, value in form.multi_items():
                if isinstance(value, StarletteUploadFile):
                    uploads.append(value)
                elif name in _JSON_FORM_FIELDS and value.strip():
                    raw[name] = json.loads(value)
                elif value != "":
                    raw[name] = value
        else:
            raw = await request.json()
    except (ValueError, MultiPartException) as exc:
        raise UnprocessableEntity(_("The message could not be read: %(reason)s", reason=exc)) from exc
    try:
        return MessageCreate.model_validate(raw), uploads
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from exc


async def _stored_uploads(settings: Settings, account_id: int, uploads: list[UploadFile]) -> list[NewAttachment]:
    # Files are written before the message commits; a rolled-back request leaves an unreferenced file,
    # never a message whose file is missing.
    store = media_store(settings)
    stored = []
    for upload in uploads:
        data = await upload.read(settings.media_max_bytes + 1)
        if len(data) > settings.media_max_bytes:
            raise UnprocessableEntity(
                _("Attachments are limited to %(max_bytes)s bytes", max_bytes=settings.media_max_bytes)
            )
        if not data:
            raise UnprocessableEntity(
                _("The attachment %(filename)s is empty", filename=upload.filename) if upload.filename
                else _("The attachment is empty")
            )
        content_type = upload.content_type or mimetypes.guess_type(upload.filename or "")[0] or "application/octet-stream"
        key = new_media_key(account_id, content_type, upload.filename)
        await store.write(key, data)
        meta = {"filename": upload.filename} if upload.filename else {}
        stored.append(
            NewAttachment(file_type=_file_type(content_type), file_key=key, content_type=content_type,
                          file_size=len(data), meta=meta)
        )
    return stored


def _file_type(content_type: str) -> FileType:
    kind = content_type.split("/", 1)[0]
    return {"image": FileType.image, "audio": FileType.audio, "video": FileType.video}.get(kind, FileType.file)


@router.post("/conversations/{conversation_id}/messages", response_model=MessageOut, openapi_extra=_MESSAGE_BODY)
async def create_message(
    conversation_id: int, request: Request, ctx: BotOrMemberWrite, session: DbSession, runtime: RuntimeDep
) -> MessageOut:
    """An outgoing reply (stored as `pending` until the channel accepts it) or, with `private: true`, a
    note for agents only. `incoming` is accepted on API inboxes only. JSON, or multipart with
    `attachments[]`. Replies the channel would refuse are refused here with 422: free text outside
    WhatsApp's 24-hour window (send `template_params`), buttons or lists over their limits."""
    body, uploads = await _message_request(request)
    conversation = await _conversation(session, ctx, conversation_id)
    inbox = await _inbox(session, conversation)
    if body.message_type == MessageType.incoming and inbox.channel_type != ChannelType.api:
        raise UnprocessableEntity(_("Incoming messages are only allowed in Api inboxes"))
    if body.message_type not in (MessageType.incoming, MessageType.outgoing, MessageType.template):
        raise UnprocessableEntity(_("message_type must be outgoing, incoming or template"))
    if not (body.content or "").strip() and not (body.content_attributes or uploads or body.template_params):
        raise UnprocessableEntity(_("Content can't be blank"))
    template_params = body.template_params.model_dump(exclude_none=True) if body.template_params else None
    if body.message_type != MessageType.incoming and not body.private:
        await outbound.check_reply(
            session, conversation, inbox, content=body.content, content_type=body.content_type,
            content_attributes=body.content_attributes, template_params=template_params,
        )
    sender = (
        message_service.Sender(type=message_service.SenderType.contact, id=conversation.contact_id)
        if body.message_type == MessageType.incoming
        else message_service.Sender.of(_actor(ctx))
    )
    additional_attributes = {**body.additional_attributes, **({"template_params": template_params} if template_params else {})}
    message = await message_service.create_message(
        session, conversation, inbox=inbox, message_type=body.message_type, content=body.content, sender=sender,
        private=body.private, content_type=body.content_type, content_attributes=body.content_attributes,
        additional_attributes=additional_attributes, source_id=body.source_id, echo_id=body.echo_id,
        attachments=await _stored_uploads(runtime.settings, ctx.account_id, uploads),
    )
    await session.refresh(message, ["attachments"])
    return (await messages_out(session, conversation, [message]))[0]


@router.post("/conversations/{conversation_id}/update_last_seen", response_model=LastSeenOut)
async def update_last_seen(conversation_id: int, ctx: ConversationsRead, session: DbSession) -> LastSeenOut:
    """The agent has the conversation open: its unread count clears and, when the channel supports it,
    the customer's latest message is marked read on their phone (once per new message, in a job)."""
    conversation = await _conversation(session, ctx, conversation_id)
    previously_seen = conversation.agent_last_seen_at
    await service.mark_seen_by_agent(session, conversation, user_id=ctx.user.id if ctx.user else None)
    await outbound.enqueue_read_receipt(session, conversation, await _inbox(session, conversation), since=previously_seen)
    return LastSeenOut(
        id=conversation.display_id, agent_last_seen_at=to_unix(conversation.agent_last_seen_at),
        assignee_last_seen_at=to_unix(conversation.assignee_last_seen_at),
    )


@router.post("/conversations/{conversation_id}/toggle_typing_status", status_code=200, response_class=Response)
async def toggle_typing_status(
    conversation_id: int, body: TypingStatus, ctx: BotOrMemberWrite, session: DbSession
) -> Response:
    """`{typing_status: on|off, is_private}`: other agents see it live; `on` (not private) also shows the
    customer a typing indicator where the channel has one (sent by a job, never holding up the request)."""
    conversation = await _conversation(session, ctx, conversation_id)
    service.announce_typing(session, conversation, on=body.typing_status == "on", private=body.is_private,
                                  user_id=ctx.user.id if ctx.user else None)
    if body.typing_status == "on" and not body.is_private:
        await outbound.enqueue_read_receipt(session, conversation, await _inbox(session, conversation), typing=True)
    return Response(status_code=200)


@router.delete("/conversations/{conversation_id}/messages/{message_id}", response_model=MessageOut)
async def delete_message(conversation_id: int, message_id: int, ctx: ConversationsWrite, session: DbSession) -> MessageOut:
    """Soft delete: the content becomes "This message was deleted" and content_attributes.deleted is true."""
    conversation = await _conversation(session, ctx, conversation_id)
    message = await MessageRepository(session, ctx.account_id).get_in_conversation(conversation.id, message_id)
    if message is None:
        raise NotFound()
    await message_service.delete_message(session, message, conversation)
    await session.refresh(message, ["attachments"])
    return (await messages_out(session, conversation, [message]))[0]


class NotAnApiInbox(NexaError):
    status_code = 403
    default_message = _("Message status can only be updated in Api inboxes")


@router.patch("/conversations/{conversation_id}/messages/{message_id}", response_model=MessageOut)
async def update_message_status(
    conversation_id: int, message_id: int, body: MessageStatusUpdate, ctx: BotOrMemberWrite, session: DbSession
) -> MessageOut:
    """`{status, external_error}` from the integrator of an API inbox (403 for other inboxes): receipts only
    move forward, and a failure counts unless the message already reached the customer."""
    conversation = await _conversation(session, ctx, conversation_id)
    if (await _inbox(session, conversation)).channel_type != ChannelType.api:
        raise NotAnApiInbox()
    message = await MessageRepository(session, ctx.account_id).get_in_conversation(conversation.id, message_id)
    if message is None:
        raise NotFound()
    await message_service.apply_status(
        session, message, conversation, MessageStatus(body.status), external_error=body.external_error
    )
    await session.refresh(message, ["attachments"])
    return (await messages_out(session, conversation, [message]))[0]


@router.get("/contacts/{contact_id}/conversations", response_model=ConversationList, tags=["contacts"])
async def list_contact_conversations(contact_id: int, ctx: ConversationsRead, session: DbSession) -> ConversationList:
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    repository = ConversationRepository(session, ctx.account_id)
    statement = await _visible(session, ctx, repository.for_contact(contact.id))
    conversations = await repository.list(statement.limit(CONVERSATIONS_PER_PAGE * 4))
    return ConversationList(payload=await conversations_out(session, ctx.account_id, conversations))


@router.post("/conversations/filter", response_model=ConversationPage)
async def filter_conversations(
    body: FilterRequest, ctx: ConversationsRead, session: DbSession, page: PageNumber = 1
) -> ConversationPage:
    """Chatwoot's filter payload over status, priority, assignee_id, inbox_id, team_id, contact_id,
    display_id, labels, created_at, last_activity_at, browser_language, conversation_language, referer;
    any other key is a custom attribute. Answers `{meta, payload}` without the `data` wrapper."""
    repository = ConversationRepository(session, ctx.account_id)
    statement = filtered(await _visible(session, ctx, repository.select()), body.payload, ctx.account_id)
    counts = await repository.counts(statement, ctx.user.id if ctx.user else None)
    conversations = await repository.list(paginate(sort_conversations(statement, None), page, CONVERSATIONS_PER_PAGE))
    return ConversationPage(meta=ConversationCounts(**counts), payload=await conversations_out(session, ctx.account_id, conversations))


@router.post("/conversations/{conversation_id}/mute", status_code=200, response_class=Response)
async def mute_conversation(conversation_id: int, ctx: ConversationsWrite, session: DbSession) -> Response:
    await service.set_muted(session, await _conversation(session, ctx, conversation_id), True, actor=_actor(ctx))
    return Response(status_code=200)


@router.post("/conversations/{conversation_id}/unmute", status_code=200, response_class=Response)
async def unmute_conversation(conversation_id: int, ctx: ConversationsWrite, session: DbSession) -> Response:
    await service.set_muted(session, await _conversation(session, ctx, conversation_id), False, actor=_actor(ctx))
    return Response(status_code=200)


@router.post("/conversations/{conversation_id}/unread", response_model=LastSeenOut)
async def mark_unread(conversation_id: int, ctx: ConversationsRead, session: DbSession) -> LastSeenOut:
    """The latest customer message counts as unread again."""
    conversation = await _conversation(session, ctx, conversation_id)
    last_incoming = await MessageRepository(session, ctx.account_id).last_incoming_in(conversation.id)
    await service.mark_unread(session, conversation, last_incoming.created_at if last_incoming else None)
    return LastSeenOut(
        id=conversation.display_id, agent_last_seen_at=to_unix(conversation.agent_last_seen_at),
        assignee_last_seen_at=to_unix(conversation.assignee_last_seen_at),
    )


@router.get("/conversations/{conversation_id}/attachments", response_model=ConversationAttachments)
async def list_attachments(conversation_id: int, ctx: ConversationsRead, session: DbSession) -> ConversationAttachments:
    """Every file of the conversation, newest first."""
    conversation = await _conversation(session, ctx, conversation_id)
    attachments = await AttachmentRepository(session, ctx.account_id).of_conversation(conversation.id)
    return ConversationAttachments(
        meta=AttachmentsMeta(total_count=len(attachments)), payload=[attachment_out(a) for a in attachments]
    )


@router.delete("/conversations/{conversation_id}", status_code=200, response_class=Response)
async def delete_conversation(conversation_id: int, ctx: ConversationsAdmin, session: DbSession) -> Response:
    """Deletes the conversation with its messages (administrators only)."""
    conversation = await _conversation(session, ctx, conversation_id)
    await ConversationRepository(session, ctx.account_id).delete(conversation)
    return Response(status_code=200)


async def _participants(session: AsyncSession, account_id: int, conversation_id: int) -> list[AgentOut]:
    user_ids = await ParticipantRepository(session, account_id).user_ids(conversation_id)
    return [agent_out(m) for m in await memberships_of(MembershipRepository(session, account_id), user_ids)]


async def _change_participants(
    session: AsyncSession, ctx: AccountContext, conversation_id: int, body: UserIds, change: Literal["add", "replace", "remove"]
) -> list[AgentOut]:
    conversation = await _conversation(session, ctx, conversation_id)
    wanted = await require_members(MembershipRepository(session, ctx.account_id), body.user_ids)
    repository = ParticipantRepository(session, ctx.account_id)
    current = set(await repository.user_ids(conversation.id))
    chosen = {"add": current | set(wanted), "replace": set(wanted), "remove": current - set(wanted)}[change]
    await repository.replace_users(conversation.id, chosen)
    return await _participants(session, ctx.account_id, conversation.id)


@router.get("/conversations/{conversation_id}/participants", response_model=list[AgentOut])
async def list_participants(conversation_id: int, ctx: ConversationsRead, session: DbSession) -> list[AgentOut]:
    """Agents following the conversation (a bare array of agents)."""
    conversation = await _conversation(session, ctx, conversation_id)
    return await _participants(session, ctx.account_id, conversation.id)


@router.post("/conversations/{conversation_id}/participants", response_model=list[AgentOut])
async def add_participants(conversation_id: int, body: UserIds, ctx: ConversationsWrite, session: DbSession) -> list[AgentOut]:
    return await _change_participants(session, ctx, conversation_id, body, "add")


@router.patch("/conversations/{conversation_id}/participants", response_model=list[AgentOut])
async def replace_participants(
    conversation_id: int, body: UserIds, ctx: ConversationsWrite, session: DbSession
) -> list[AgentOut]:
    return await _change_participants(session, ctx, conversation_id, body, "replace")


@router.delete("/conversations/{conversation_id}/participants", response_model=list[AgentOut])
async def remove_participants(
    conversation_id: int, body: UserIds, ctx: ConversationsWrite, session: DbSession
) -> list[AgentOut]:
    return await _change_participants(session, ctx, conversation_id, body, "remove")
