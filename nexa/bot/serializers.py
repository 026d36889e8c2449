from __future__ import annotations

from nexa.bot.rules.models import BotRule
from nexa.bot.schemas import RuleOut


def rule_out(rule: BotRule) -> RuleOut:
    return RuleOut(
        id=rule.id, name=rule.name, kind=rule.kind.value, keywords=list(rule.keywords), pattern=rule.pattern,
        reply=rule.reply, action=rule.action.value, continue_flow=rule.continue_flow, priority=rule.priority,
        inbox_ids=list(rule.inbox_ids), business_hours=rule.business_hours.value, enabled=rule.enabled,
        usage_count=rule.usage_count, last_used_at=int(rule.last_used_at.timestamp()) if rule.last_used_at else None,
        created_at=int(rule.created_at.timestamp()),
    )
