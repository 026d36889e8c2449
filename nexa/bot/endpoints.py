"""The bot's API: settings (qualification, scoring, persona, follow-ups) and auto-reply rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from nexa.auth.dependencies import AccountContext, DbSession, authorize
from nexa.bot import qualification
from nexa.bot.repository import BotRuleRepository
from nexa.bot.rules import service as rules
from nexa.bot.schemas import BotConfig, BotSettingsOut, RuleIn, RuleOut, RulesPayload, RuleTestIn, RuleTestOut, RuleUpdate
from nexa.bot.serializers import rule_out
from nexa.inboxes.repository import InboxRepository
from nexa.kit.clock import utcnow

router = APIRouter(prefix="/api/v1/accounts/{account_id}/bot", tags=["bot"])

BotRead = Annotated[AccountContext, Depends(authorize("inboxes:read"))]
BotAdmin = Annotated[AccountContext, Depends(authorize("inboxes:write", admin=True))]


@router.get("/settings", response_model=BotSettingsOut)
async def get_bot_settings(ctx: BotRead, session: DbSession) -> BotSettingsOut:
    config = await qualification.load_config(session, ctx.account_id)
    return BotSettingsOut.model_validate(config.model_dump())


@router.put("/settings", response_model=BotSettingsOut)
async def put_bot_settings(body: BotConfig, ctx: BotAdmin, session: DbSession) -> BotSettingsOut:
    config = await qualification.save_config(session, ctx.account_id, body)
    return BotSettingsOut.model_validate(config.model_dump())


@router.get("/rules", response_model=RulesPayload)
async def list_rules(ctx: BotRead, session: DbSession) -> RulesPayload:
    return RulesPayload(payload=[rule_out(rule) for rule in await BotRuleRepository(session, ctx.account_id).ordered()])


@router.post("/rules", response_model=RuleOut)
async def create_rule(body: RuleIn, ctx: BotAdmin, session: DbSession) -> RuleOut:
    return rule_out(await rules.create_rule(session, ctx.account_id, body))


@router.post("/rules/defaults", response_model=RulesPayload)
async def create_default_rules(ctx: BotAdmin, session: DbSession) -> RulesPayload:
    """Creates the default rules the account does not have yet; answers with every rule."""
    await rules.create_defaults(session, ctx.account_id)
    return RulesPayload(payload=[rule_out(rule) for rule in await BotRuleRepository(session, ctx.account_id).ordered()])


@router.post("/rules/test", response_model=RuleTestOut)
async def test_rules(body: RuleTestIn, ctx: BotRead, session: DbSession) -> RuleTestOut:
    """Which rule would answer `text` in the inbox right now, and why."""
    inbox = await InboxRepository(session, ctx.account_id).get_or_404(body.inbox_id)
    match, skipped = await rules.find_rule(session, ctx.account_id, body.text, inbox=inbox, at=utcnow())
    if match is None:
        return RuleTestOut(matched=False, rule=None, reason=None, skipped=skipped)
    rule = await BotRuleRepository(session, ctx.account_id).get_or_404(match.rule.rule_id)
    return RuleTestOut(matched=True, rule=rule_out(rule), reason=match.reason, skipped=skipped)


@router.get("/rules/{rule_id}", response_model=RuleOut)
async def get_rule(rule_id: int, ctx: BotRead, session: DbSession) -> RuleOut:
    return rule_out(await BotRuleRepository(session, ctx.account_id).get_or_404(rule_id))


@router.patch("/rules/{rule_id}", response_model=RuleOut)
async def update_rule(rule_id: int, body: RuleUpdate, ctx: BotAdmin, session: DbSession) -> RuleOut:
    rule = await BotRuleRepository(session, ctx.account_id).get_or_404(rule_id)
    return rule_out(await rules.update_rule(session, ctx.account_id, rule, body))


@router.delete("/rules/{rule_id}", status_code=200, response_class=Response)
async def delete_rule(rule_id: int, ctx: BotAdmin, session: DbSession) -> Response:
    rule = await BotRuleRepository(session, ctx.account_id).get_or_404(rule_id)
    await rules.delete_rule(session, ctx.account_id, rule)
    return Response(status_code=200)
