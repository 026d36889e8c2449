from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.automation import service
from nexa.automation.repository import AutomationRuleRepository
from nexa.automation.schemas import RuleFields, RuleList, RulePayload, RuleUpdate
from nexa.automation.serializers import rule_out

router = APIRouter(prefix="/api/v1/accounts/{account_id}/automation_rules", tags=["automation_rules"])

# Rules act on every conversation of the account: administrators only, as in Chatwoot.
RulesAdmin = Annotated[AccountContext, Depends(authorize("account:write", admin=True))]


@router.get("", response_model=RuleList)
async def list_rules(ctx: RulesAdmin, session: DbSession) -> RuleList:
    return RuleList(payload=[rule_out(r) for r in await AutomationRuleRepository(session, ctx.account_id).ordered()])


@router.post("", response_model=RulePayload)
async def create_rule(body: RuleFields, ctx: RulesAdmin, session: DbSession) -> RulePayload:
    """`event_name`, `conditions` in the filter language of POST /conversations/filter (plus message_type
    and content on message_created) and `actions` [{action_name, action_params}]."""
    return RulePayload(payload=rule_out(await service.create_rule(session, ctx.account_id, body)))


@router.get("/{automation_rule_id}", response_model=RulePayload)
async def show_rule(automation_rule_id: int, ctx: RulesAdmin, session: DbSession) -> RulePayload:
    return RulePayload(payload=rule_out(await AutomationRuleRepository(session, ctx.account_id).get_or_404(automation_rule_id)))


@router.patch("/{automation_rule_id}", response_model=RulePayload)
async def update_rule(automation_rule_id: int, body: RuleUpdate, ctx: RulesAdmin, session: DbSession) -> RulePayload:
    rule = await AutomationRuleRepository(session, ctx.account_id).get_or_404(automation_rule_id)
    return RulePayload(payload=rule_out(await service.update_rule(session, rule, body)))


@router.delete("/{automation_rule_id}", status_code=200, response_class=Response)
async def delete_rule(automation_rule_id: int, ctx: RulesAdmin, session: DbSession) -> Response:
    repository = AutomationRuleRepository(session, ctx.account_id)
    await repository.delete(await repository.get_or_404(automation_rule_id))
    return Response(status_code=200)


@router.post("/{automation_rule_id}/clone", response_model=RulePayload)
async def clone_rule(automation_rule_id: int, ctx: RulesAdmin, session: DbSession) -> RulePayload:
    rule = await AutomationRuleRepository(session, ctx.account_id).get_or_404(automation_rule_id)
    return RulePayload(payload=rule_out(await service.clone_rule(session, rule)))
