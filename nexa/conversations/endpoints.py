from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.contacts import service as contacts
from nexa.contacts.models import ContactInbox
from nexa.contacts.repository import ContactInboxRepository, ContactRepository
from nexa.conversations import messages as message_service
from nexa.conversations import service
from nexa.conversations.models import Conversation, ConversationStatus, MessageType
from nexa.conversations.repository import (
    ConversationLabelRepository,
    ConversationRepository,
    MessageRepository,
    sort_conversations,
    with_status,
)
from nexa.conversations.schemas import (
    AgentBotOut,
    AssignmentCreate,
    ConversationCounts,
    ConversationCreate,
    ConversationList,
    ConversationListResponse,
    ConversationMetaResponse,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    CustomAttributes,
    MessageCreate,
    MessageList,
    MessageOut,
    MessagesMeta,
    TogglePriority,
    ToggleStatus,
    ToggleStatusResponse,
    ToggleStatusResult,
)
from nexa.conversations.serializers import conversation_out, conversations_out, messages_out
from nexa.inboxes.models import ChannelType, Inbox
from nexa.inboxes.repository import InboxMemberRepository, InboxRepository
from nexa.kit.clock import from_unix, to_unix
from nexa.kit.errors import NotFound, UnprocessableEntity
from nexa.kit.pagination import PageNumber, paginate
from nexa.labels.schemas import LabelTitles, LabelTitlesOut
from nexa.teams.agents import AgentOut, agent_out
from nexa.teams.schemas import TeamOut
from nexa.teams.serializers import team_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}", tags=["conversations"])

ConversationsRead = Annotated[AccountContext, Depends(authorize("conversations:read"))]
ConversationsWrite = Annotated[AccountContext, Depends(authorize("conversations:write"))]
# Chatwoot's BOT_ACCESSIBLE_ENDPOINTS: what an agent bot's token may call.
BotOrMemberWrite = Annotated[AccountContext, Depends(authorize("conversations:write", bots=True))]

CONVERSATIONS_PER_PAGE = 25
AssigneeType = Literal["me", "unassigned", "assigned", "all"]
StatusFilter = Literal["open", "pending", "resolved", "snoozed", "all"]


def _actor(ctx: AccountContext) -> service.Actor:
    return service.Actor(
        user_id=ctx.user.id if ctx.user else None, agent_bot_id=ctx.agent_bot.id if ctx.agent_bot else None
    )


async def _visible(session: AsyncSession, ctx: AccountContext, statement: Select[tuple[Conversation]]) -> Select[tuple[Conversation]]:
    """Agents work the inboxes they are members of; administrators and bots see the whole account."""
    if ctx.is_admin or ctx.user is None:
        return statement
    inbox_ids = await InboxMemberRepository(session, ctx.account_id).inbox_ids_of_user(ctx.user.id)
    return statement.where(Conversation.inbox_id.in_(inbox_ids))


async def _conversation(session: AsyncSession, ctx: AccountContext, display_id: int) -> Conversation:
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
) -> ConversationListResponse:
    """The agent inbox: 25 per page, with the mine / assigned / unassigned / all counts of the filter."""
    user_id = ctx.user.id if ctx.user else None
    statement = await _filtered(session, ctx, status=status, inbox_id=inbox_id, team_id=team_id, labels=labels)
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
            raise UnprocessableEntity("inbox_id is required with source_id")
        inbox = await inboxes.get_or_404(body.inbox_id)
        contact_inbox = await contact_inboxes.get_by_source(inbox.id, body.source_id)
        if contact_inbox is None:
            raise NotFound()
        return inbox, contact_inbox
    if body.inbox_id is None or body.contact_id is None:
        raise UnprocessableEntity("Send source_id, or inbox_id and contact_id")
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
    )
    if body.message is not None:
        await message_service.create_message(
            session, conversation, inbox=inbox, message_type=MessageType.outgoing, content=body.message.content,
            sender=message_service.Sender.of(_actor(ctx)),
        )
    return await conversation_out(session, conversation)


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
        await service.set_priority(session, conversation, body.priority)
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


@router.post("/conversations/{conversation_id}/toggle_priority", status_code=200)
async def toggle_priority(conversation_id: int, body: TogglePriority, ctx: BotOrMemberWrite, session: DbSession) -> Response:
    """Sets the priority; omit it or send null to clear it."""
    await service.set_priority(session, await _conversation(session, ctx, conversation_id), body.priority)
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
            session, conversation, body.assignee_id, inbox=await _inbox(session, conversation)
        )
        return agent_out(membership) if membership else None
    if "team_id" in sent:
        team = await service.assign_team(session, conversation, body.team_id)
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
    return LabelTitlesOut(payload=await service.replace_labels(session, conversation, body.labels))


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


@router.post("/conversations/{conversation_id}/messages", response_model=MessageOut)
async def create_message(
    conversation_id: int, body: MessageCreate, ctx: BotOrMemberWrite, session: DbSession
) -> MessageOut:
    """An outgoing reply (stored as `pending` until the channel accepts it) or, with `private: true`, a
    note for agents only. `incoming` is accepted on API inboxes only."""
    conversation = await _conversation(session, ctx, conversation_id)
    inbox = await _inbox(session, conversation)
    if body.message_type == MessageType.incoming and inbox.channel_type != ChannelType.api:
        raise UnprocessableEntity("Incoming messages are only allowed in Api inboxes")
    if body.message_type not in (MessageType.incoming, MessageType.outgoing, MessageType.template):
        raise UnprocessableEntity("message_type must be outgoing, incoming or template")
    if not (body.content or "").strip() and not body.content_attributes:
        raise UnprocessableEntity("Content can't be blank")
    sender = (
        message_service.Sender(type=message_service.SenderType.contact, id=conversation.contact_id)
        if body.message_type == MessageType.incoming
        else message_service.Sender.of(_actor(ctx))
    )
    message = await message_service.create_message(
        session, conversation, inbox=inbox, message_type=body.message_type, content=body.content, sender=sender,
        private=body.private, content_type=body.content_type, content_attributes=body.content_attributes,
        additional_attributes=body.additional_attributes, source_id=body.source_id, echo_id=body.echo_id,
    )
    await session.refresh(message, ["attachments"])
    return (await messages_out(session, conversation, [message]))[0]


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


@router.get("/contacts/{contact_id}/conversations", response_model=ConversationList, tags=["contacts"])
async def list_contact_conversations(contact_id: int, ctx: ConversationsRead, session: DbSession) -> ConversationList:
    contact = await ContactRepository(session, ctx.account_id).get_or_404(contact_id)
    repository = ConversationRepository(session, ctx.account_id)
    statement = await _visible(session, ctx, repository.for_contact(contact.id))
    conversations = await repository.list(statement.limit(CONVERSATIONS_PER_PAGE * 4))
    return ConversationList(payload=await conversations_out(session, ctx.account_id, conversations))
