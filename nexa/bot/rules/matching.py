"""Matching a message against an account's rules: compiled once per account and kept in this process
until the account's rules change (bot_settings.rules_version), so a match is a few set lookups."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import regex

from nexa.bot.language import words
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
            keywords=tuple(sorted({f" {' '.join(words(k))} " for k in rule.keywords if words(k)}, key=len, reverse=True)),
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


def _matches(rule: CompiledRule, padded: str, found: list[str], text: str) -> str | None:
    if rule.kind == RuleKind.keyword:
        keyword = next((k for k in rule.keywords if k in padded), None)
        return f"keyword {keyword.strip()!r} found" if keyword else None
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


@dataclass(frozen=True)
class RuleSet:
    """An account's enabled rules in priority order, with every keyword indexed: a message looks up its
    own word sequences instead of trying each keyword rule."""

    rules: tuple[CompiledRule, ...]
    by_keyword: dict[str, frozenset[int]]  # " word word " -> positions in `rules`
    others: tuple[int, ...]  # positions of the rules that are not keyword rules
    longest_keyword: int  # in words


def rule_set(rules: Sequence[BotRule]) -> RuleSet:
    compiled = compile_rules(rules)
    by_keyword: dict[str, set[int]] = {}
    for position, rule in enumerate(compiled):
        for keyword in rule.keywords:
            by_keyword.setdefault(keyword, set()).add(position)
    return RuleSet(
        rules=compiled,
        by_keyword={keyword: frozenset(positions) for keyword, positions in by_keyword.items()},
        others=tuple(p for p, rule in enumerate(compiled) if rule.kind != RuleKind.keyword),
        longest_keyword=max((len(k.split()) for k in by_keyword), default=0),
    )


def _keyword_hits(rules: RuleSet, found: list[str]) -> set[int]:
    hits: set[int] = set()
    for size in range(1, min(rules.longest_keyword, len(found)) + 1):
        for start in range(len(found) - size + 1):
            positions = rules.by_keyword.get(f" {' '.join(found[start:start + size])} ")
            if positions:
                hits |= positions
    return hits


def match_rules(rules: RuleSet, text: str, *, inbox: Inbox, at: datetime) -> tuple[RuleMatch | None, list[str]]:
    """The first rule (priority order) that applies to `text` in `inbox` at `at`, and why the ones before
    it were skipped for scope or hours (the test endpoint shows both)."""
    found = words(text)
    padded = f" {' '.join(found)} "  # keywords match on word boundaries
    skipped: list[str] = []
    open_now: bool | None = None
    for position in sorted(_keyword_hits(rules, found).union(rules.others)):
        rule = rules.rules[position]
        if rule.inbox_ids and inbox.id not in rule.inbox_ids:
            continue
        if rule.business_hours != BusinessHours.any:
            if open_now is None:
                open_now = is_open(inbox, at)
            if open_now != (rule.business_hours == BusinessHours.open):
                if _matches(rule, padded, found, text):
                    skipped.append(f"{rule.name}: matches, but only applies when the inbox is {rule.business_hours.value}")
                continue
        reason = _matches(rule, padded, found, text)
        if reason is not None:
            return RuleMatch(rule, reason), skipped
    return None, skipped
