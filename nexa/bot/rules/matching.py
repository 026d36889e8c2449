"""Matching a message against an account's rules: compiled once per account and kept in this process
until the account's rules change (bot_settings.rules_version), so a match is a few set lookups."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import regex

from nexa.bot.language import contains_phrase, fold, words
from nexa.bot.rules.models import BotRule, BusinessHours, RuleAction, RuleKind
from nexa.inboxes.models import Inbox
from nexa.inboxes.working_hours import is_open

logger = logging.getLogger(__name__)

# A PATTERN rule gets this long per message; a catastrophic pattern times out and simply does not match.
PATTERN_TIMEOUT_SECONDS = 0.02

# Built-in intents: the message must be nothing but the intent's words (plus small talk), so that
# "oi, quero um orçamento" is a lead speaking, not a greeting to answer with a canned reply.
_BUILT_IN_WORDS: dict[RuleKind, frozenset[str]] = {
    RuleKind.greeting: frozenset(
        "oi oie ola ole opa eai e ai bom boa dia tarde noite hola buenas buenos dias tardes noches "
        "hi hello hey hiya good morning afternoon evening greetings".split()
    ),
    RuleKind.thanks: frozenset(
        "obrigado obrigada obg brigado valeu vlw agradeco muito mto gracias muchas mil agradezco thanks thank you "
        "thx ty much so a lot".split()
    ),
    RuleKind.goodbye: frozenset(
        "tchau tchauzinho ate logo mais amanha adeus flw falou adios hasta luego pronto manana chao "
        "bye goodbye see you later cya soon".split()
    ),
}
_SMALL_TALK = frozenset(
    "tudo bem bom td blz beleza como vai voce vc esta estas que tal muy tal there all everyone how are you "
    "doing e a o pessoal gente amigo amiga senhor senhora".split()
)


@dataclass(frozen=True)
class CompiledRule:
    rule_id: int
    name: str
    kind: RuleKind
    priority: int
    keywords: tuple[str, ...]
    pattern: regex.Pattern[str] | None
    reply: str | None
    action: RuleAction
    continue_flow: bool
    inbox_ids: frozenset[int]
    business_hours: BusinessHours


@dataclass(frozen=True)
class RuleMatch:
    rule: CompiledRule
    reason: str


def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """Raises regex.error on an invalid pattern (the API answers 422)."""
    return regex.compile(pattern, regex.IGNORECASE | regex.V0)


def compile_rules(rules: Sequence[BotRule]) -> tuple[CompiledRule, ...]:
    compiled = [
        CompiledRule(
            rule_id=rule.id, name=rule.name, kind=rule.kind, priority=rule.priority,
            keywords=tuple(sorted({fold(k) for k in rule.keywords if fold(k)}, key=len, reverse=True)),
            pattern=compile_pattern(rule.pattern) if rule.kind == RuleKind.pattern and rule.pattern else None,
            reply=rule.reply, action=rule.action, continue_flow=rule.continue_flow,
            inbox_ids=frozenset(rule.inbox_ids), business_hours=rule.business_hours,
        )
        for rule in rules
        if rule.enabled
    ]
    return tuple(sorted(compiled, key=lambda r: (r.priority, r.rule_id)))


def _built_in_reason(kind: RuleKind, found: list[str]) -> str | None:
    vocabulary = _BUILT_IN_WORDS[kind]
    if not found or not any(word in vocabulary for word in found):
        return None
    if all(word in vocabulary or word in _SMALL_TALK for word in found):
        return f"the message is a {kind.value}"
    return None


def _matches(rule: CompiledRule, folded: str, found: list[str], text: str) -> str | None:
    if rule.kind == RuleKind.keyword:
        keyword = contains_phrase(folded, rule.keywords)
        return f"keyword {keyword!r} found" if keyword else None
    if rule.kind == RuleKind.pattern:
        if rule.pattern is None:
            return None
        try:
            hit = rule.pattern.search(text, timeout=PATTERN_TIMEOUT_SECONDS)
        except TimeoutError:
            logger.warning("bot rule %s: pattern timed out", rule.rule_id)
            return None
        return f"pattern matched {hit.group(0)!r}" if hit else None
    return _built_in_reason(rule.kind, found)


def match_rules(
    rules: Sequence[CompiledRule], text: str, *, inbox: Inbox, at: datetime
) -> tuple[RuleMatch | None, list[str]]:
    """The first rule (priority order) that applies to `text` in `inbox` at `at`, and why the ones before
    it were skipped for scope or hours (the test endpoint shows both)."""
    folded, found = fold(text), words(text)
    skipped: list[str] = []
    open_now: bool | None = None
    for rule in rules:
        if rule.inbox_ids and inbox.id not in rule.inbox_ids:
            continue
        if rule.business_hours != BusinessHours.any:
            if open_now is None:
                open_now = is_open(inbox, at)
            if open_now != (rule.business_hours == BusinessHours.open):
                if _matches(rule, folded, found, text):
                    skipped.append(f"{rule.name}: matches, but only applies when the inbox is {rule.business_hours.value}")
                continue
        reason = _matches(rule, folded, found, text)
        if reason is not None:
            return RuleMatch(rule, reason), skipped
    return None, skipped
