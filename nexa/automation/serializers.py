from __future__ import annotations

from nexa.automation.models import AutomationRule
from nexa.automation.schemas import RuleOut
from nexa.kit.clock import to_unix


def rule_out(rule: AutomationRule) -> RuleOut:
    return RuleOut(
        id=rule.id, account_id=rule.account_id, name=rule.name, description=rule.description,
        event_name=rule.event_name, conditions=rule.conditions, actions=rule.actions,
        created_on=to_unix(rule.created_at) or 0, active=rule.active,
    )
