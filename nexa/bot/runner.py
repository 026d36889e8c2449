"""The bot's turn for one customer message in a pending conversation (`bot.handle_message`, enqueued by
nexa.conversations.messages.create_message in the message's own transaction).

Order of decision: 1 opt-out, 2 auto-reply rules, 3 human request (text or button) and negative
sentiment, 4 the qualification flow, 5 a knowledge answer, 6 the LLM when the account has one (it
returns None without one, over budget, with its circuit open or on failure). The LLM never replaces
steps 4-5: the flow validates and stores the answer to its pending question and asks the next one; the
LLM adds the fields it found that the flow has not got, its intent, and the words where the flow would
use its own (a knowledge answer, "I don't know", a hint). Everything a turn changes and says is one
transaction; replies are delivered by the delivery job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot.follow_ups import Lead, renew_follow_ups
from nexa.bot.handoff import BOT, HandoffReason, hand_off
from nexa.bot.language import (
    HUMAN_REQUEST_BUTTON_IDS,
    HUMAN_REQUEST_PHRASES,
    NEGATIVE_PHRASES,
    Language,
    contains_phrase,
    detect_language,
    fold,
    is_opt_out,
    is_question,
)
from nexa.bot.llm.service import LLMTurn, llm_available, llm_turn
from nexa.bot.models import BotConversation
from nexa.bot.qualification import (
    Answer,
    Invalid,
    apply_to_contact,
    config_of,
    next_field,
    parse_answer,
    score_answers,
)
from nexa.bot.repository import BotConversationRepository, TurnRows, recent_messages
from nexa.bot.rules.matching import RuleMatch
from nexa.bot.rules.models import RuleAction, RuleKind
from nexa.bot.rules.service import count_use, find_rule
from nexa.bot.schemas import BotConfig, FieldType, QualificationField
from nexa.bot.texts import localized, text
from nexa.contacts.models import Contact
from nexa.conversations.messages import MessageBatch, NewMessage
from nexa.conversations.models import ContentType, Conversation, ConversationStatus, Message, MessageType
from nexa.db.engine import Database
from nexa.inboxes.models import Inbox
from nexa.jobs.chunks import together_or_alone
from nexa.jobs.registry import ChunkFailures, ChunkJob, job
from nexa.kit.clock import utcnow
from nexa.knowledge.schemas import KnowledgeHit
from nexa.knowledge.service import search_knowledge
from nexa.runtime import Runtime, current_runtime

logger = logging.getLogger(__name__)

HANDLE_MESSAGE_JOB = "bot.handle_message"
_HISTORY_MESSAGES = 20
# A lead scored below this share of the threshold is cold: "I don't know" offers them a human, it does
# not push them onto an agent.
_COLD_SHARE = 0.5


@dataclass
class Turn:
    session: AsyncSession
    runtime: Runtime
    message: Message
    conversation: Conversation
    inbox: Inbox
    contact: Contact
    state: BotConversation
    config: BotConfig
    # Where the turn's replies go: the chunk's batch, written once after all its turns (see _take_turns).
    replies: MessageBatch
    # The LLM's answer for this message, asked before the turn's transaction began (see handle_message).
    llm: LLMTurn | None = None
    llm_said: bool = False

    @property
    def text(self) -> str:
        return self.message.content or ""

    @property
    def language(self) -> Language:
        return self.state.language or self.config.languages[0]  # type: ignore[return-value]

    @property
    def button_id(self) -> str | None:
        attributes = self.message.content_attributes or {}
        reply = attributes.get("interactive_reply") or attributes.get("button_reply") or {}
        return str(reply["id"]) if isinstance(reply, dict) and reply.get("id") else None

    async def say(self, content: str, *, options: Sequence[tuple[str, str]] = ()) -> None:
        """A customer-visible reply; `options` (value, title) go out as buttons or a list."""
        items = [{"title": title, "value": value} for value, title in options]
        await self.replies.add(NewMessage(
            self.conversation, self.inbox, MessageType.outgoing, content, BOT,
            content_type=ContentType.input_select if items else ContentType.text,
            content_attributes={"items": items} if items else None,
        ))

    async def hand_off(self, reason: HandoffReason, detail: str = "") -> None:
        await self.replies.write()  # the hand-off's own lines come after what the bot said before it
        await hand_off(
            self.session, self.runtime, self.conversation, inbox=self.inbox, contact=self.contact, state=self.state,
            config=self.config, reason=reason, detail=detail,
        )


@job(HANDLE_MESSAGE_JOB, queue="bot", max_attempts=5, timeout=60, chunked=True)
async def handle_message(jobs: Sequence[ChunkJob]) -> ChunkFailures:
    """The turns for the messages a claim took, in one transaction (a claim never takes two jobs of one
    conversation); if it fails, each turn in its own, so that a turn that fails fails only its own job."""
    runtime = current_runtime()
    database = jobs[0].ctx.database
    # The LLM is asked first, for every turn at once, with no transaction open: a model taking seconds must
    # not hold a write transaction (on SQLite, the whole database's write lock) while everyone else waits.
    advice = await asyncio.gather(
        *(_consult_llm(database, runtime, _account_of(item), item.args["message_id"]) for item in jobs),
        return_exceptions=True,
    )
    failures: dict[int, BaseException] = {}
    advised: list[tuple[ChunkJob, LLMTurn | None]] = []
    for item, answer in zip(jobs, advice, strict=True):
        if isinstance(answer, BaseException):
            failures[item.ctx.job_id] = answer
        else:
            advised.append((item, answer))
    failures.update(await together_or_alone(database, advised, _take_turns))
    # Turns whose rows another transaction held: each alone now. Not snoozed: that would give up the
    # conversation's key and let its next turn overtake this one, which would then be skipped as stale.
    for item, advice in advised:
        if isinstance(failures.get(item.ctx.job_id), _Held):
            del failures[item.ctx.job_id]
            failures.update(await together_or_alone(database, [(item, advice)], _take_turns))
    return failures


class _Held(Exception):
    """A turn of a chunk whose conversation another transaction held."""


async def _take_turns(session: AsyncSession, advised: Sequence[tuple[ChunkJob, LLMTurn | None]]) -> ChunkFailures:
    """Take the turns whose conversations no other transaction holds; the others are returned `_Held`."""
    runtime = current_runtime()
    rows: dict[int, TurnRows] = {}
    for account_id in {_account_of(item) for item, _advice in advised}:
        message_ids = [item.args["message_id"] for item, _advice in advised if _account_of(item) == account_id]
        rows.update(await BotConversationRepository(session, account_id).turn_rows(message_ids))
    # A chunk's conversations and contacts are locked up front, skipping any another transaction holds (an
    # inbound batch storing the customer's next message, say): a chunk that waited for one while holding
    # others could deadlock with it. Before any write: even a new bot state's foreign key would wait for a
    # held conversation. A lone turn holds no other conversation: it waits for its rows like any writer.
    free = {row.conversation.id for row in rows.values()}
    if len(advised) > 1:
        free = set()
        for account_id in {row.conversation.account_id for row in rows.values()}:
            free |= await BotConversationRepository(session, account_id).lock_unheld_conversations(
                [row.conversation.id for row in rows.values() if row.conversation.account_id == account_id]
            )
    held: dict[int, BaseException] = {}
    turns: list[Turn] = []
    # Every turn's replies are stored together: one INSERT for the messages and one for their deliveries.
    replies = MessageBatch(session)
    for item, advice in advised:
        found = rows.get(item.args["message_id"])
        if found is not None and found.conversation.id not in free:
            held[item.ctx.job_id] = _Held()
            continue
        turn = await _turn_of(session, runtime, found, replies)
        if turn is not None:
            turn.llm = advice
            turns.append(turn)
    leads = [
        Lead(turn.conversation, turn.state, turn.config, stays_with_bot=await take_turn(turn))
        for turn in sorted(turns, key=lambda turn: turn.conversation.id)
    ]
    await replies.write()
    # After the replies, whose INSERT any statement before would have flushed one turn at a time.
    await renew_follow_ups(session, leads)
    return held


def _account_of(item: ChunkJob) -> int:
    assert item.ctx.account_id is not None
    return item.ctx.account_id


async def _consult_llm(database: Database, runtime: Runtime, account_id: int, message_id: int) -> LLMTurn | None:
    """The LLM's answer when this message's turn will reach the LLM step (steps 1-3 do not take it).

    The short transaction here may create the conversation's bot state; it is over before the model is asked."""
    if not await llm_available(database, account_id):
        return None
    async with database.session() as session:
        rows = await BotConversationRepository(session, account_id).turn_rows([message_id])
        turn = await _turn_of(session, runtime, rows.get(message_id), MessageBatch(session))
        if turn is None:
            return None
        _update_language(turn)
        if await _early_step(turn, utcnow()) is not None:
            return None
        history = await recent_messages(
            session, account_id, turn.conversation.id, _HISTORY_MESSAGES, public_only=True
        )
        knowledge = await _knowledge(turn)
        confident = [hit for hit in knowledge if hit.score >= turn.config.knowledge_min_score]
        qualification = _qualification_view(turn, _learned(turn, _flow_answer(turn, confident)))
    return await llm_turn(
        database, account_id=account_id, conversation=turn.conversation, contact=turn.contact,
        history=history, knowledge=knowledge, qualification=qualification,
    )


async def _turn_of(session: AsyncSession, runtime: Runtime, rows: TurnRows | None, replies: MessageBatch) -> Turn | None:
    """The turn to take for a customer message's rows; None when the bot has nothing to do."""
    if rows is None or rows.message.message_type != MessageType.incoming:
        return None
    message, conversation, inbox, contact = rows.message, rows.conversation, rows.inbox, rows.contact
    if conversation.status != ConversationStatus.pending or not inbox.bot_enabled:
        return None
    state = rows.state or BotConversationRepository(session, conversation.account_id).start(conversation.id)
    if state.last_customer_message_id is not None and state.last_customer_message_id >= message.id:
        return None  # this message's turn already ran (a retried job)
    return Turn(session, runtime, message, conversation, inbox, contact, state, config_of(rows.settings), replies)


def _update_language(turn: Turn) -> None:
    detected = detect_language(turn.text, turn.language)
    turn.state.language = detected if detected in turn.config.languages else turn.config.languages[0]


async def take_turn(turn: Turn) -> bool:
    """Decide and say; True when the lead stays with the bot (and may get a follow-up)."""
    _update_language(turn)
    turn.state.last_customer_message_id = turn.message.id
    return await _decide(turn) and turn.conversation.status == ConversationStatus.pending


@dataclass(frozen=True)
class _EarlyStep:
    """Steps 1-3, which decide before the LLM: opt-out, a rule, a human request, negative sentiment."""

    kind: str
    rule: RuleMatch | None = None
    detail: str = ""


async def _early_step(turn: Turn, now: datetime) -> _EarlyStep | None:
    """Which of steps 1-3 takes this message, if any; decides only, changes nothing."""
    if is_opt_out(turn.text):
        return _EarlyStep("opt_out")
    match, _ = await find_rule(turn.session, turn.conversation.account_id, turn.text, inbox=turn.inbox, at=now)
    if match is not None:
        return _EarlyStep("rule", rule=match)
    folded = fold(turn.text)
    if turn.button_id in HUMAN_REQUEST_BUTTON_IDS or contains_phrase(folded, HUMAN_REQUEST_PHRASES):
        return _EarlyStep("human")
    negative = contains_phrase(folded, NEGATIVE_PHRASES)
    if negative:
        return _EarlyStep("negative", detail=negative)
    return None


async def _decide(turn: Turn) -> bool:
    """Runs the decision order; True when the lead stays with the bot (and may get a follow-up)."""
    now = utcnow()
    step = await _early_step(turn, now)
    if step is None:
        return await _qualify_or_answer(turn)
    if step.kind == "opt_out":
        turn.contact.opted_out_at = now
        await turn.say(text("opted_out", turn.language))
        return False
    if step.rule is not None:
        count_use(turn.session, turn.conversation.account_id, step.rule, now)
        return await _apply_rule(turn, step.rule)
    if step.kind == "human":
        await turn.hand_off(HandoffReason.human_request)
    else:
        await turn.hand_off(HandoffReason.negative_sentiment, step.detail)
    return False


async def _apply_rule(turn: Turn, match: RuleMatch) -> bool:
    rule = match.rule
    reply = rule.reply or (
        text(rule.kind.value, turn.language, persona=turn.config.persona_name)
        if rule.kind in (RuleKind.greeting, RuleKind.thanks, RuleKind.goodbye) else None
    )
    if rule.action == RuleAction.handoff:
        if reply:
            await turn.say(reply)
        await turn.hand_off(HandoffReason.rule, rule.name)
        return False
    if reply:
        await turn.say(reply)
    if rule.continue_flow:
        await _ask_next(turn)
    return True


# --- qualification and knowledge ------------------------------------------------------------------------

def _field(config: BotConfig, key: str | None) -> QualificationField | None:
    return next((f for f in config.fields if f.key == key), None)


async def _ask(turn: Turn, field: QualificationField, prefix: str = "") -> None:
    turn.state.pending_field = field.key
    if await _llm_words(turn):
        prefix = ""  # the LLM's reply already says what the hint would
    question = (prefix + "\n" if prefix else "") + localized(field.question, turn.language)
    options = [(c.value, localized(c.label, turn.language)) for c in field.choices] if field.type == FieldType.choice else []
    await turn.say(question, options=options)


async def _ask_next(turn: Turn) -> None:
    """Ask the question waiting for an answer again, or the next one, or nothing when all are answered."""
    field = _field(turn.config, turn.state.pending_field) or next_field(turn.config, turn.state)
    if field is not None:
        await _ask(turn, field)


async def _llm_words(turn: Turn) -> bool:
    """Say the LLM's reply, once per turn, where the flow would use words of its own; False without one."""
    if turn.llm is None or not turn.llm.reply or turn.llm_said:
        return False
    turn.llm_said = True
    await turn.say(turn.llm.reply)
    return True


def _flow_answer(turn: Turn, hits: Sequence[KnowledgeHit]) -> Answer | Invalid | None:
    """The flow's own reading of this message as the answer to its pending question; None when there is
    no pending question or the knowledge base answers the message as a question ("quanto custa o
    plano?" does not pick the plan)."""
    pending = _field(turn.config, turn.state.pending_field)
    if pending is None or (hits and _asked_something(turn)):
        return None
    return parse_answer(pending, turn.text, turn.language, button_id=turn.button_id)


def _learned(turn: Turn, flow: Answer | Invalid | None) -> dict[str, Any]:
    return {turn.state.pending_field: flow.value} if isinstance(flow, Answer) and turn.state.pending_field else {}


def _llm_answers(turn: Turn, known: dict[str, Any]) -> dict[str, Any]:
    """The lead fields the LLM extracted that the flow has no answer for, validated like a typed answer."""
    if turn.llm is None:
        return {}
    learned: dict[str, Any] = {}
    for field in turn.config.fields:
        value = turn.llm.extracted.get(field.key)
        if field.key in known or value in (None, ""):
            continue
        parsed = parse_answer(field, str(value), turn.language)
        if isinstance(parsed, Answer) and parsed.value is not None:
            learned[field.key] = parsed.value
    return learned


def _asked_something(turn: Turn) -> bool:
    return is_question(turn.text) and turn.button_id is None


async def _qualify_or_answer(turn: Turn) -> bool:
    """Steps 4-6: learn (the flow's answer, then the LLM's extra fields), hand off when that says so,
    else answer and ask the next question."""
    state, config = turn.state, turn.config
    pending = _field(config, state.pending_field)
    asked_something = _asked_something(turn)
    hits = await _confident_hits(turn) if asked_something else []
    flow = _flow_answer(turn, hits)
    learned = _learned(turn, flow)
    learned.update(_llm_answers(turn, {**state.answers, **learned}))
    score = None
    if learned:
        state.answers = {**state.answers, **learned}
        if pending is not None and pending.key in learned:
            state.pending_field = None
            state.invalid_answers = 0
        score = apply_to_contact(turn.contact, config, state)
    intent = turn.llm.intent if turn.llm is not None else None
    if intent == "human_request":
        await turn.hand_off(HandoffReason.human_request, "LLM")
        return False
    if intent == "complaint":
        await turn.hand_off(HandoffReason.negative_sentiment, "LLM: complaint")
        return False
    if score is not None and score.score >= config.threshold:
        await _llm_words(turn)
        await turn.hand_off(HandoffReason.qualified, f"score {score.score}")
        return False
    if hits:
        if not await _llm_words(turn):
            best = max(hits, key=lambda hit: hit.score)
            await turn.say(text("knowledge_answer", turn.language, content=best.content, title=best.title))
        await _ask_next(turn)
        return True
    if pending is not None and state.pending_field == pending.key:  # the pending question is still open
        if asked_something:
            return await _dont_know(turn, then_ask=pending)
        state.invalid_answers += 1
        await _ask(turn, pending, prefix=flow.hint if isinstance(flow, Invalid) else "")
        return True
    if pending is None and asked_something and next_field(config, state) is None:
        return await _dont_know(turn, then_ask=None)
    following = next_field(config, state)
    if following is not None:
        await _ask(turn, following)
    elif pending is not None and not await _llm_words(turn):
        await turn.say(text("done", turn.language))
    await _llm_words(turn)  # a free-form reply where the flow had nothing to say
    return True


async def _dont_know(turn: Turn, *, then_ask: QualificationField | None) -> bool:
    """No confident answer: the LLM's reply when it gave one, else say so and offer a human; hand off when
    it keeps happening (not for cold leads)."""
    if await _llm_words(turn):
        if then_ask is not None:
            await _ask(turn, then_ask)
        return True
    turn.state.unanswered_questions += 1
    score = score_answers(turn.config, turn.state.answers).score
    cold = next_field(turn.config, turn.state) is None and score < turn.config.threshold * _COLD_SHARE
    if turn.state.unanswered_questions >= turn.config.unanswered_limit and not cold:
        await turn.hand_off(HandoffReason.unanswered, f"{turn.state.unanswered_questions} questions without an answer")
        return False
    await turn.say(text("dont_know", turn.language), options=[("talk_to_agent", text("talk_to_agent", turn.language))])
    if then_ask is not None:
        await _ask(turn, then_ask)
    return True


async def _knowledge(turn: Turn) -> Sequence[KnowledgeHit]:
    return await search_knowledge(turn.session, turn.conversation.account_id, turn.text, limit=3)


async def _confident_hits(turn: Turn) -> list[KnowledgeHit]:
    return [hit for hit in await _knowledge(turn) if hit.score >= turn.config.knowledge_min_score]


# --- the LLM (nexa.bot.llm) -------------------------------------------------------------------------------

def _qualification_view(turn: Turn, flow_answer: dict[str, Any]) -> dict[str, Any]:
    """The lead as the LLM sees it: the answers including the one the flow takes from this message, and
    the question the bot asks after the LLM's reply (so the LLM does not ask it too)."""
    answers = {**turn.state.answers, **flow_answer}
    score = score_answers(turn.config, answers)
    pending = None if flow_answer else turn.state.pending_field
    following = _field(turn.config, pending) or next((f for f in turn.config.fields if f.key not in answers), None)
    return {
        "fields": [f.model_dump(mode="json") for f in turn.config.fields],
        "answers": answers,
        "pending_field": pending,
        "next_question": localized(following.question, turn.language) if following is not None else None,
        "score": score.score,
        "reasons": score.reasons,
        "threshold": turn.config.threshold,
        "persona_name": turn.config.persona_name,
        "language": turn.language,
    }
