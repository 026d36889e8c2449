"""The LLM step of the bot (issue 6, step 6) and the account's LLM settings.

`llm_turn` never raises for the LLM's sake: no configuration, a spent daily budget, an open circuit or a
failed call all give None, and the bot carries on with its no-LLM steps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot.llm.breaker import circuit_breaker
from nexa.bot.llm.client import Completion, LLMCallFailed, TokenUsage, complete
from nexa.bot.llm.models import LLMConfig
from nexa.bot.llm.prompt import KnowledgeSource, chat_messages, system_prompt
from nexa.bot.llm.repository import LLMConfigRepository, LLMUsageRepository
from nexa.bot.llm.schemas import (
    LLMConfigOut,
    LLMConfigUpdate,
    LLMTestResult,
    LLMUsageConversation,
    LLMUsageDay,
    LLMUsageOut,
)
from nexa.contacts.models import Contact
from nexa.conversations.models import Conversation, Message
from nexa.db.engine import Database
from nexa.kit import account_facts
from nexa.kit.clock import utcnow
from nexa.kit.errors import UnprocessableEntity
from nexa.kit.lazy_text import _
from nexa.runtime import Runtime, current_runtime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LLMTurn:
    reply: str | None
    intent: str  # greeting, price_question, schedule, human_request, complaint, other
    extracted: Mapping[str, Any] = field(default_factory=dict)  # lead fields: name, company, email, budget...
    tokens: int = 0


async def _has_usable_llm(session: AsyncSession, account_id: int) -> bool:
    config = await LLMConfigRepository(session, account_id).current()
    return config is not None and config.is_usable


HAS_USABLE_LLM = account_facts.AccountFact("usable llm", _has_usable_llm)
HAS_USABLE_LLM.watch(LLMConfig)


async def llm_available(database: Database, account_id: int) -> bool:
    """Whether the account has a usable model configured: the bot skips preparing a prompt (history,
    knowledge search) for accounts without one. Cached a few seconds per process; True when unsure."""
    if HAS_USABLE_LLM.known(account_id) is None:
        async with database.session(write=False) as session:
            await HAS_USABLE_LLM.refresh(session, account_id)
    return HAS_USABLE_LLM.known(account_id) is not False


async def llm_turn(
    database: Database,
    *,
    account_id: int,
    conversation: Conversation,
    contact: Contact,
    history: Sequence[Message],
    knowledge: Sequence[KnowledgeSource],
    qualification: Mapping[str, Any],
) -> LLMTurn | None:
    """The model's reply, intent and extracted lead fields for the conversation's latest message, or None
    when the bot must do without (not configured, budget spent, circuit open, call failed or timed out).

    Reads and writes in transactions of its own, none open during the model's call: a slow model must not
    hold the caller's write transaction (on SQLite, the database's write lock)."""
    async with database.session(write=False) as session:
        config = await LLMConfigRepository(session, account_id).current()
        if config is None or not config.is_usable:
            return None
        spent = await LLMUsageRepository(session, account_id).tokens_on(utcnow().date())
    if config.daily_token_budget is not None and spent >= config.daily_token_budget:
        logger.info("llm daily token budget spent", extra={"account_id": account_id})
        return None
    runtime = current_runtime()
    breaker = circuit_breaker(runtime)
    if not await breaker.allow(account_id, probe_seconds=config.timeout_seconds):
        return None
    system = system_prompt(config, contact=contact, knowledge=knowledge, qualification=qualification)
    messages = chat_messages(system, history, config.max_history_messages)
    try:
        completion = await complete(runtime, config, _api_key(runtime, config), messages)
    except LLMCallFailed as exc:
        await breaker.failed(
            account_id, threshold=config.breaker_failure_threshold, open_seconds=config.breaker_open_seconds
        )
        if exc.usage is not None:
            await _record_apart(database, account_id, conversation.id, exc.usage)
        logger.warning("llm call failed: %s", exc.message, extra={"account_id": account_id, "conversation_id": conversation.id})
        return None
    await breaker.succeeded(account_id)
    await _record_apart(database, account_id, conversation.id, completion.usage)
    answer = completion.answer
    return LLMTurn(reply=answer.reply, intent=answer.intent, extracted=answer.extracted, tokens=completion.usage.total)


async def _record_apart(database: Database, account_id: int, conversation_id: int | None, tokens: TokenUsage) -> None:
    """Usage of a bot turn, in a short transaction of its own (the turn's call ran outside any)."""
    async with database.session() as session:
        await _record(LLMUsageRepository(session, account_id), conversation_id, tokens)


async def _record(usage: LLMUsageRepository, conversation_id: int | None, tokens: TokenUsage) -> None:
    await usage.record(
        day=utcnow().date(), conversation_id=conversation_id,
        prompt_tokens=tokens.prompt, completion_tokens=tokens.completion, total_tokens=tokens.total,
    )


def _api_key(runtime: Runtime, config: LLMConfig) -> str | None:
    if config.api_key_encrypted is None:
        return None
    try:
        return runtime.cipher.decrypt(config.api_key_encrypted)
    except ValueError as exc:
        raise LLMCallFailed("The stored API key cannot be decrypted with the current NEXA_ENCRYPTION_KEY: save it again") from exc


# --- settings --------------------------------------------------------------------------------------------


async def config_out(session: AsyncSession, runtime: Runtime, account_id: int) -> LLMConfigOut:
    """The account's settings (defaults when never saved), without the key, with today's spend and the circuit."""
    config = await LLMConfigRepository(session, account_id).current() or _defaults()
    used = await LLMUsageRepository(session, account_id).tokens_on(utcnow().date())
    circuit = await circuit_breaker(runtime).state(account_id)
    return LLMConfigOut(
        configured=config.is_usable, enabled=config.enabled, base_url=config.base_url, model=config.model,
        api_key_set=config.api_key_encrypted is not None, persona=config.persona, instructions=config.instructions,
        reply_language=config.reply_language, max_history_messages=config.max_history_messages,
        temperature=config.temperature, timeout_seconds=config.timeout_seconds,
        daily_token_budget=config.daily_token_budget, breaker_failure_threshold=config.breaker_failure_threshold,
        breaker_open_seconds=config.breaker_open_seconds, tokens_used_today=used, circuit=circuit,
    )


async def usage_report(session: AsyncSession, account_id: int, days: int, top: int = 20) -> LLMUsageOut:
    """Tokens spent in the last `days` UTC days (today included), per day and by the costliest conversations."""
    since = utcnow().date() - timedelta(days=days - 1)
    usage = LLMUsageRepository(session, account_id)
    return LLMUsageOut(
        days=[
            LLMUsageDay(day=day, calls=calls, prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)
            for day, calls, prompt, completion, total in await usage.daily_totals(since)
        ],
        conversations=[
            LLMUsageConversation(conversation_id=display_id, calls=calls, total_tokens=total)
            for display_id, calls, total in await usage.top_conversations(since, top)
        ],
    )


def _defaults() -> LLMConfig:
    # Column defaults only apply on insert: an unsaved config gets them here.
    return LLMConfig(**{
        column.key: column.default.arg
        for column in LLMConfig.__table__.columns
        if column.default is not None and not callable(column.default.arg)
    })


async def update_config(session: AsyncSession, runtime: Runtime, account_id: int, params: LLMConfigUpdate) -> LLMConfig:
    repository = LLMConfigRepository(session, account_id)
    config = await repository.current() or await repository.add(_defaults())
    changes = params.model_dump(exclude_unset=True)
    if "api_key" in changes:
        api_key = (changes.pop("api_key") or "").strip()
        config.api_key_encrypted = runtime.cipher.encrypt(api_key) if api_key else None
    if changes.get("base_url") is not None:
        changes["base_url"] = str(changes["base_url"]).rstrip("/")
    for name, value in changes.items():
        if value is None and name != "daily_token_budget":
            raise UnprocessableEntity(_("%(name)s cannot be null", name=name))
        setattr(config, name, value)
    await session.flush()
    return config


async def test_connection(session: AsyncSession, runtime: Runtime, account_id: int, message: str) -> LLMTestResult:
    """One real call with the saved settings, as the bot would make it; tokens count toward the budget.
    The circuit breaker is left alone: an admin checking a fix must reach the server."""
    config = await LLMConfigRepository(session, account_id).current()
    if config is None or not config.base_url or not config.model:
        raise UnprocessableEntity(_("No LLM is configured for this account: set base_url and model first"))
    system = system_prompt(config, contact=None, knowledge=(), qualification={})
    messages = [{"role": "system", "content": system}, {"role": "user", "content": message}]
    usage = LLMUsageRepository(session, account_id)
    started = time.monotonic()
    try:
        completion = await complete(runtime, config, _api_key(runtime, config), messages)
    except LLMCallFailed as exc:
        if exc.usage is not None:
            await _record(usage, None, exc.usage)
        return LLMTestResult(ok=False, message=exc.message, latency_ms=_since(started))
    await _record(usage, None, completion.usage)
    return _test_success(config, completion, _since(started))


def _test_success(config: LLMConfig, completion: Completion, latency_ms: int) -> LLMTestResult:
    answer = completion.answer
    disabled = "" if config.enabled else " The bot does not use it yet: it is disabled."
    return LLMTestResult(
        ok=True,
        message=(
            f"{config.model} at {config.base_url} answered in {latency_ms} ms using {completion.usage.total} tokens, "
            f"with structured output through {completion.structured_output.replace('_', ' ')}.{disabled}"
        ),
        reply=answer.reply, intent=answer.intent, extracted=answer.extracted, tokens=completion.usage.total,
        latency_ms=latency_ms, structured_output=completion.structured_output,
    )


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
