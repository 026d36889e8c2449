"""Rules CRUD (every change bumps the account's rules version), the defaults, matching through the
per-process cache, and usage counting."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import regex
from sqlalchemy.ext.asyncio import AsyncSession

from nexa.bot.repository import BotRuleRepository, BotSettingsRepository
from nexa.bot.rules.matching import RuleMatch, RuleSet, compile_pattern, match_rules, rule_set
from nexa.bot.rules.models import BotRule, RuleAction, RuleKind
from nexa.bot.schemas import RuleIn, RuleUpdate
from nexa.inboxes.models import Inbox
from nexa.inboxes.repository import InboxRepository
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _


@dataclass
class _Cached:
    version: tuple[int, int, float]
    rules: RuleSet
    checked_at: float  # monotonic


# account id -> compiled rules at a version. A change in this process drops the entry at once; other
# processes see the version bump at their next check, at most VERSION_CHECK_SECONDS later, so a match
# costs no query at all in between.
_cache: dict[int, _Cached] = {}
VERSION_CHECK_SECONDS = 2.0


async def _changed(session: AsyncSession, account_id: int) -> None:
    settings = await BotSettingsRepository(session, account_id).get_or_create()
    settings.rules_version += 1
    _cache.pop(account_id, None)
    await session.flush()


async def _check(session: AsyncSession, account_id: int, rule: BotRule) -> None:
    if rule.kind == RuleKind.keyword and not any(k.strip() for k in rule.keywords):
        raise ValidationFailed(_("A keyword rule needs at least one keyword"), ["keywords"])
    if rule.kind == RuleKind.pattern:
        if not rule.pattern:
            raise ValidationFailed(_("A pattern rule needs a pattern"), ["pattern"])
        try:
            compile_pattern(rule.pattern)
        except regex.error as exc:
            raise ValidationFailed(
                _("The pattern is not a valid regular expression: %(reason)s", reason=exc), ["pattern"]
            ) from exc
    built_in = rule.kind in (RuleKind.greeting, RuleKind.thanks, RuleKind.goodbye)
    if rule.action == RuleAction.reply and not built_in and not (rule.reply or "").strip():
        raise ValidationFailed(_("A reply rule needs the reply to send"), ["reply"])
    if rule.inbox_ids:
        known = await InboxRepository(session, account_id).by_ids(rule.inbox_ids)
        if set(rule.inbox_ids) - set(known):
            raise ValidationFailed(_("Unknown inbox in inbox_ids"), ["inbox_ids"])


async def create_rule(session: AsyncSession, account_id: int, params: RuleIn) -> BotRule:
    rule = BotRule(**params.model_dump(), usage_count=0)
    rule.account_id = account_id
    await _check(session, account_id, rule)
    await BotRuleRepository(session, account_id).add(rule)
    await _changed(session, account_id)
    return rule


async def update_rule(session: AsyncSession, account_id: int, rule: BotRule, changes: RuleUpdate) -> BotRule:
    for name, value in changes.model_dump(exclude_unset=True).items():
        if value is not None or name in ("pattern", "reply"):
            setattr(rule, name, value)
    await _check(session, account_id, rule)
    await _changed(session, account_id)
    return rule


async def delete_rule(session: AsyncSession, account_id: int, rule: BotRule) -> None:
    await BotRuleRepository(session, account_id).delete(rule)
    await _changed(session, account_id)


# The defaults answer greetings, thanks and goodbyes (without a reply of their own, built-in rules answer
# from nexa.bot.texts in the customer's language) and hand a problem with an order to a human.
DEFAULT_RULES: tuple[dict[str, object], ...] = (
    {"name": "Greeting", "kind": RuleKind.greeting, "priority": 10, "continue_flow": True},
    {"name": "Thanks", "kind": RuleKind.thanks, "priority": 20},
    {"name": "Goodbye", "kind": RuleKind.goodbye, "priority": 30},
    {"name": "Order problem", "kind": RuleKind.keyword, "priority": 40, "action": RuleAction.handoff,
     "keywords": ["meu pedido", "pedido atrasado", "mi pedido", "my order", "reembolso", "refund"],
     "reply": None},
)


async def create_defaults(session: AsyncSession, account_id: int) -> list[BotRule]:
    """The default rules the account does not have yet (by name): safe to call twice."""
    repository = BotRuleRepository(session, account_id)
    existing = {rule.name for rule in await repository.ordered()}
    created = []
    for values in DEFAULT_RULES:
        if values["name"] in existing:
            continue
        rule = BotRule(**values, usage_count=0)
        rule.account_id = account_id
        created.append(await repository.add(rule))
    if created:
        await _changed(session, account_id)
    return created


async def compiled_rules(session: AsyncSession, account_id: int) -> RuleSet:
    cached, now = _cache.get(account_id), time.monotonic()
    if cached is not None and now - cached.checked_at < VERSION_CHECK_SECONDS:
        return cached.rules
    version = await BotSettingsRepository(session, account_id).rules_version()
    if cached is None or cached.version != version:
        cached = _Cached(version, rule_set(await BotRuleRepository(session, account_id).ordered()), now)
        _cache[account_id] = cached
    cached.checked_at = now
    return cached.rules


def forget_cached_rules() -> None:
    """Drop every account's compiled rules (tests reuse account ids after emptying the database)."""
    _cache.clear()


async def find_rule(
    session: AsyncSession, account_id: int, text: str, *, inbox: Inbox, at: datetime
) -> tuple[RuleMatch | None, list[str]]:
    return match_rules(await compiled_rules(session, account_id), text, inbox=inbox, at=at)


def count_use(session: AsyncSession, account_id: int, match: RuleMatch, at: datetime) -> None:
    BotRuleRepository(session, account_id).count_use(match.rule.rule_id, at)
